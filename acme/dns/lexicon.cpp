#include "acme/dns/lexicon.hpp"

#include <algorithm>
#include <cstdlib>
#include <mutex>
#include <optional>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "core/coprocess.hpp"
#include "core/fs.hpp"
#include "core/process.hpp"
#include "core/strings.hpp"
#include "core/time.hpp"

namespace certfleet::acme::dns {
namespace {

using core::ErrorKind;
using core::fail;
using Json = nlohmann::json;

std::string without_trailing_dot(std::string name) {
    if (!name.empty() && name.back() == '.')
        name.pop_back();
    return name;
}

// Lexicon's error output with every secret cut out (a provider library may
// echo a request), trimmed to what a message can hold.
std::string redacted(std::string text, const LexiconConfig& config) {
    for (const auto& [name, value] : config.credentials) {
        if (value.size() < 4)
            continue;
        for (auto at = text.find(value); at != std::string::npos; at = text.find(value, at))
            text.replace(at, value.size(), "[redacted]");
    }
    return core::summarize_output(text);
}

// The last two lines of a Python traceback say what went wrong.
std::string last_lines(const std::string& text) {
    std::string trimmed = core::trim(text);
    if (trimmed.empty())
        return trimmed;
    std::size_t cut = trimmed.size();
    for (int lines = 0; lines < 2 && cut != std::string::npos && cut > 0; ++lines)
        cut = trimmed.rfind('\n', cut - 1);
    return cut == std::string::npos ? trimmed : trimmed.substr(cut + 1);
}

// The interpreter line of a Python program ("#!/usr/bin/python3",
// "#!/usr/bin/env python3") as argv; empty when it has none.
std::vector<std::string> interpreter_of(const std::string& path) {
    auto head = core::read_file(path, 256);
    if (!head || !head->starts_with("#!"))
        return {};
    std::string line = head->substr(2, head->find('\n') - 2);
    std::vector<std::string> argv;
    for (std::size_t at = 0; at < line.size();) {
        const std::size_t start = line.find_first_not_of(" \t", at);
        if (start == std::string::npos)
            break;
        const std::size_t end = std::min(line.find_first_of(" \t", start), line.size());
        argv.push_back(line.substr(start, end - start));
        at = end;
    }
    return argv;
}

// `program` itself when it names a path, else the first executable in PATH.
std::optional<std::string> find_program(const std::string& program) {
    if (program.find('/') != std::string::npos)
        return ::access(program.c_str(), X_OK) == 0 ? std::optional(program) : std::nullopt;
    const char* path = std::getenv("PATH");
    const std::string dirs = path ? path : "/usr/bin:/bin";
    for (std::size_t at = 0; at <= dirs.size();) {
        const std::size_t end = std::min(dirs.find(':', at), dirs.size());
        const std::string dir = dirs.substr(at, end - at);
        const std::string candidate = (dir.empty() ? "." : dir) + "/" + program;
        if (::access(candidate.c_str(), X_OK) == 0)
            return candidate;
        at = end + 1;
    }
    return std::nullopt;
}

class LexiconProvider final : public DnsProvider {
public:
    explicit LexiconProvider(LexiconConfig config) : m_config(std::move(config)) {}

    core::Status present(const std::vector<ChallengeRecord>& records) override {
        std::lock_guard lock(m_mutex);
        for (const auto& record : records)
            if (auto st = run("create", record); !st)
                return st;  // the caller cleans up whatever was added
        return {};
    }

    core::Status cleanup(const std::vector<ChallengeRecord>& records) override {
        std::lock_guard lock(m_mutex);
        std::optional<core::Error> first_error;
        for (const auto& record : records)
            if (auto st = run("delete", record); !st) {
                spdlog::warn("{}", st.error().describe());
                if (!first_error)
                    first_error = st.error();
            }
        if (first_error)
            return fail(*first_error);
        return {};
    }

    core::Seconds timeout() const override { return m_config.timeout; }
    std::string describe() const override {
        return "lexicon " + m_config.name + " (" + m_config.provider + ")";
    }

    // Lexicon's authenticate() per name: its read-only zone lookup. When every
    // name fails, the credentials are the likely cause: the provider fails.
    core::Result<AccessCheck> check_access(const std::vector<ChallengeRecord>& records) override {
        std::lock_guard lock(m_mutex);
        AccessCheck check;
        std::optional<core::Error> first_error;
        for (const auto& record : records) {
            if (auto st = run("check", record); st) {
                check.notes.push_back("lexicon finds the zone of " + record.fqdn);
            } else {
                check.problems.push_back(st.error().message);
                if (!first_error)
                    first_error = st.error();
            }
        }
        if (first_error && check.notes.empty())
            return fail(*first_error);
        return check;
    }

private:
    core::Status run(const std::string& action, const ChallengeRecord& record);
    core::Status start_driver();
    core::Failure driver_failure(const std::string& what, const core::Error& error) const;
    core::Failure lexicon_failure(const std::string& what, const Json& answer) const;

    LexiconConfig m_config;
    std::mutex m_mutex;  // one request at a time through the one driver
    std::unique_ptr<core::LineCoprocess> m_driver;
};

core::Failure LexiconProvider::driver_failure(const std::string& what,
                                              const core::Error& error) const {
    std::string detail = m_driver ? redacted(last_lines(m_driver->stderr_tail()), m_config) : "";
    return fail(
        error.kind,
        describe() + ": " + what + ": " + error.message + (detail.empty() ? "" : ": " + detail),
        error.kind == ErrorKind::Timeout
            ? "check that the DNS API answers, or raise the provider's timeout"
            : "run lexicon by hand with the same LEXICON_* variables and "
              "--log_level DEBUG");
}

// Lexicon's own words: the exception, and what it logged before it.
core::Failure LexiconProvider::lexicon_failure(const std::string& what, const Json& answer) const {
    std::string detail = answer.value("error", std::string("no error text"));
    if (const std::string log = answer.value("log", std::string()); !log.empty())
        detail += " (" + last_lines(log) + ")";
    return fail(ErrorKind::Dns, describe() + ": " + what + " failed: " + redacted(detail, m_config),
                "run the same lexicon command by hand with the same LEXICON_* variables and "
                "--log_level DEBUG");
}

// Starts the driver with lexicon's own interpreter and hands it the settings;
// its first answer says whether lexicon could be imported.
core::Status LexiconProvider::start_driver() {
    auto program = find_program(m_config.program);
    if (!program)
        return fail(ErrorKind::Config, describe() + ": '" + m_config.program + "' is not installed",
                    "install Debian's lexicon package: apt-get install lexicon");
    core::ProcessOptions options;
    options.argv = interpreter_of(*program);
    if (options.argv.empty() || options.argv.back().find("python") == std::string::npos)
        return fail(ErrorKind::Config,
                    describe() + ": '" + *program + "' is not lexicon's Python entry point",
                    "set \"program\" to the lexicon command (Debian: /usr/bin/lexicon)");
    options.argv.insert(options.argv.end(), {"-c", kLexiconDriver, *program});
    for (const auto& [name, value] : m_config.credentials)
        options.env.emplace_back(lexicon_credential_variable(m_config.provider, name), value);
    auto driver = core::LineCoprocess::start(options);
    if (!driver)
        return fail(ErrorKind::Config, describe() + ": " + driver.error().message,
                    "install Debian's lexicon package: apt-get install lexicon");
    m_driver = std::move(*driver);
    Json settings_options = Json::object();
    for (const auto& [name, value] : m_config.options)
        settings_options[lexicon_option_key(name)] = value;
    const Json settings{{"provider", m_config.provider},
                        {"options", settings_options},
                        {"ttl", m_config.ttl},
                        {"delegated", without_trailing_dot(m_config.zone)}};
    auto answer = m_driver->exchange(settings.dump(), m_config.timeout);
    if (!answer)
        return driver_failure("starting lexicon", answer.error());
    const Json reply = Json::parse(*answer, nullptr, false);
    if (reply.is_object() && reply.value("missing", false))
        return fail(ErrorKind::Config,
                    describe() + ": lexicon cannot be imported by " + options.argv.front() + ": " +
                        reply.value("error", std::string()),
                    "install Debian's lexicon package: apt-get install lexicon");
    if (!reply.is_object() || !reply.value("ok", false))
        return fail(ErrorKind::Protocol,
                    describe() + ": unexpected answer from the lexicon driver");
    spdlog::debug("{}: lexicon driver started ({})", describe(), *program);
    return {};
}

core::Status LexiconProvider::run(const std::string& action, const ChallengeRecord& record) {
    if (!m_driver || !m_driver->alive()) {
        m_driver.reset();
        if (auto st = start_driver(); !st) {
            m_driver.reset();
            return st;
        }
    }
    const std::string name = without_trailing_dot(record.fqdn);
    const std::string what = "lexicon " + action + " TXT " + record.fqdn;
    spdlog::debug("{}: running {}", describe(), what);
    const Json request{{"action", action}, {"name", name}, {"content", record.value}};
    auto answer = m_driver->exchange(request.dump(), m_config.timeout);
    if (!answer)
        return driver_failure(what, answer.error());
    const Json reply = Json::parse(*answer, nullptr, false);
    if (!reply.is_object())
        return fail(ErrorKind::Protocol, describe() + ": " + what + ": unreadable driver answer");
    if (!reply.value("ok", false))
        return lexicon_failure(what, reply);
    return {};
}

}  // namespace

std::string lexicon_credential_variable(const std::string& provider, const std::string& name) {
    std::string out = "LEXICON_" + provider + "_AUTH_" + name;
    for (char& c : out)
        c = c == '-' ? '_' : c;
    return core::upper(out);
}

std::string lexicon_option_key(const std::string& option) {
    std::string key = option;
    std::replace(key.begin(), key.end(), '-', '_');
    return key;
}

core::Result<std::unique_ptr<DnsProvider>> make_lexicon_provider(LexiconConfig config) {
    const std::string who = "lexicon provider '" + config.name + "'";
    auto plain = [](const std::string& s) {
        return !s.empty() &&
               s.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-_") == std::string::npos;
    };
    if (!plain(config.provider))
        return fail(ErrorKind::Config,
                    who + ": provider must be a lexicon provider name like \"cloudflare\"");
    for (const auto& [name, value] : config.options)
        if (!plain(name) || name == "auth-token" || name.starts_with("auth-"))
            return fail(ErrorKind::Config,
                        who + ": option '" + name +
                            "' is not a plain option name (credentials go in \"credentials\")");
    for (const auto& [name, value] : config.credentials)
        if (!plain(name) || value.empty())
            return fail(ErrorKind::Config,
                        who + ": credential '" + name + "' is empty or misnamed");
    return std::unique_ptr<DnsProvider>(std::make_unique<LexiconProvider>(std::move(config)));
}

}  // namespace certfleet::acme::dns
