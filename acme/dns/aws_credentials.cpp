#include "acme/dns/aws_credentials.hpp"

#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <string_view>

#include "core/fs.hpp"

namespace certfleet::acme::dns {
namespace {

using core::ErrorKind;
using core::fail;

// profile → key → value, as the shared credentials file holds them.
using IniSections = std::map<std::string, std::map<std::string, std::string>>;

constexpr std::size_t kMaxCredentialsFile = 1024 * 1024;
constexpr const char* kEnvironmentNames[] = {
    "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",       "AWS_SESSION_TOKEN",
    "AWS_PROFILE",       "AWS_SHARED_CREDENTIALS_FILE", "HOME",
};

std::string variable(const AwsCredentialSources& sources, const std::string& name) {
    const auto found = sources.environment.find(name);
    return found == sources.environment.end() ? "" : found->second;
}

std::string trimmed(std::string_view text) {
    const auto first = text.find_first_not_of(" \t\r");
    if (first == std::string_view::npos)
        return "";
    const auto last = text.find_last_not_of(" \t\r");
    return std::string(text.substr(first, last - first + 1));
}

std::string lowercase(std::string text) {
    for (char& c : text)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return text;
}

// The INI dialect of the AWS CLI: "[name]" sections, "key = value" lines,
// whole-line comments starting with ';' or '#', keys case-insensitive. Other
// lines are skipped (never quoted back: they may hold a secret).
IniSections parse_ini(std::string_view text) {
    IniSections sections;
    std::map<std::string, std::string>* current = nullptr;
    while (!text.empty()) {
        const auto end = text.find('\n');
        const std::string line = trimmed(text.substr(0, end));
        text = end == std::string_view::npos ? std::string_view{} : text.substr(end + 1);
        if (line.empty() || line.front() == ';' || line.front() == '#')
            continue;
        if (line.front() == '[' && line.back() == ']') {
            current = &sections[trimmed(std::string_view(line).substr(1, line.size() - 2))];
        } else if (const auto eq = line.find('='); eq != std::string::npos && current) {
            (*current)[lowercase(trimmed(std::string_view(line).substr(0, eq)))] =
                trimmed(std::string_view(line).substr(eq + 1));
        }
    }
    return sections;
}

// AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY come as a pair: one alone is a
// mistake to report, not a reason to look elsewhere (as the AWS CLI does).
core::Result<AwsCredentials> from_environment(const AwsCredentialSources& sources) {
    AwsCredentials keys{variable(sources, "AWS_ACCESS_KEY_ID"),
                        variable(sources, "AWS_SECRET_ACCESS_KEY"),
                        variable(sources, "AWS_SESSION_TOKEN")};
    if (keys.access_key_id.empty())
        return fail(ErrorKind::Config,
                    "AWS credentials: AWS_SECRET_ACCESS_KEY is set but "
                    "AWS_ACCESS_KEY_ID is not");
    if (keys.secret_access_key.empty())
        return fail(ErrorKind::Config,
                    "AWS credentials: AWS_ACCESS_KEY_ID is set but "
                    "AWS_SECRET_ACCESS_KEY is not");
    return keys;
}

core::Result<AwsCredentials> from_profile(const std::map<std::string, std::string>& settings,
                                          const std::string& where) {
    const auto get = [&](const std::string& key) {
        const auto found = settings.find(key);
        return found == settings.end() ? std::string() : found->second;
    };
    AwsCredentials keys{get("aws_access_key_id"), get("aws_secret_access_key"),
                        get("aws_session_token")};
    for (const char* key : {"aws_access_key_id", "aws_secret_access_key"})
        if (get(key).empty())
            return fail(ErrorKind::Config, "AWS credentials: " + where + " has no " + key,
                        "certfleet reads static keys only: a profile with role_arn, sso_* or "
                        "credential_process needs its keys exported first");
    return keys;
}

}  // namespace

AwsCredentialSources aws_sources_from_environment(std::string profile) {
    AwsCredentialSources sources;
    sources.profile = std::move(profile);
    for (const char* name : kEnvironmentNames)
        if (const char* value = std::getenv(name); value && *value)
            sources.environment[name] = value;
    return sources;
}

std::string aws_credentials_file(const AwsCredentialSources& sources) {
    if (auto file = variable(sources, "AWS_SHARED_CREDENTIALS_FILE"); !file.empty())
        return file;
    const std::string home = variable(sources, "HOME");
    return home.empty() ? "" : home + "/.aws/credentials";
}

core::Result<AwsCredentials> resolve_aws_credentials(const AwsCredentialSources& sources) {
    const bool keys_in_environment = !variable(sources, "AWS_ACCESS_KEY_ID").empty() ||
                                     !variable(sources, "AWS_SECRET_ACCESS_KEY").empty();
    if (sources.profile.empty() && keys_in_environment)
        return from_environment(sources);
    std::string profile = sources.profile;
    if (profile.empty())
        profile = variable(sources, "AWS_PROFILE");
    if (profile.empty())
        profile = "default";
    const std::string file = aws_credentials_file(sources);
    const std::string hint =
        "set access_key_id_file and secret_access_key_file, export AWS_ACCESS_KEY_ID and "
        "AWS_SECRET_ACCESS_KEY, or write the profile into the shared credentials file";
    if (file.empty())
        return fail(ErrorKind::Config,
                    "AWS credentials: no keys in the environment, and neither "
                    "AWS_SHARED_CREDENTIALS_FILE nor HOME says where the credentials file is",
                    hint);
    std::error_code ec;
    if (!std::filesystem::exists(file, ec))
        return fail(ErrorKind::Config,
                    "AWS credentials: no keys in the environment, and " + file +
                        " does not exist (looking for profile '" + profile + "')",
                    hint);
    auto text = core::read_file(file, kMaxCredentialsFile);
    if (!text)
        return fail(ErrorKind::Config, "AWS credentials: " + text.error().message, hint);
    const IniSections sections = parse_ini(*text);
    const auto section = sections.find(profile);
    if (section == sections.end())
        return fail(ErrorKind::Config,
                    "AWS credentials: profile '" + profile + "' not found in " + file, hint);
    return from_profile(section->second, "profile '" + profile + "' in " + file);
}

}  // namespace certfleet::acme::dns
