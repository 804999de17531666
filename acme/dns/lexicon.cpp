#include "acme/dns/lexicon.hpp"

#include <cerrno>
#include <optional>

#include <spdlog/spdlog.h>

#include "core/process.hpp"
#include "core/strings.hpp"
#include "core/time.hpp"

namespace certfleet::acme::dns {
namespace {

using core::ErrorKind;
using core::fail;

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
    std::size_t cut = trimmed.size();
    for (int lines = 0; lines < 2 && cut != std::string::npos && cut > 0; ++lines)
        cut = trimmed.rfind('\n', cut - 1);
    return cut == std::string::npos ? trimmed : trimmed.substr(cut + 1);
}

class LexiconProvider final : public DnsProvider {
public:
    explicit LexiconProvider(LexiconConfig config) : m_config(std::move(config)) {}

    core::Status present(const std::vector<ChallengeRecord>& records) override {
        for (const auto& record : records)
            if (auto st = run("create", record); !st)
                return st;  // the caller cleans up whatever was added
        return {};
    }

    core::Status cleanup(const std::vector<ChallengeRecord>& records) override {
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

private:
    core::Status run(const std::string& action, const ChallengeRecord& record) const;

    LexiconConfig m_config;
};

core::Status LexiconProvider::run(const std::string& action, const ChallengeRecord& record) const {
    core::ProcessOptions options;
    options.argv = lexicon_argv(m_config, action, record);
    for (const auto& [name, value] : m_config.credentials)
        options.env.emplace_back(lexicon_credential_variable(m_config.provider, name), value);
    options.timeout = m_config.timeout;
    options.max_output = 64 * 1024;
    const std::string what = "lexicon " + action + " TXT " + record.fqdn;
    spdlog::debug("{}: running {}", describe(), what);
    auto result = core::run_process(options);
    if (!result) {
        if (result.error().message.find(core::errno_text(ENOENT)) != std::string::npos)
            return fail(ErrorKind::Config,
                        describe() + ": '" + m_config.program + "' is not installed",
                        "install Debian's lexicon package: apt-get install lexicon");
        return fail(result.error().kind, describe() + ": " + result.error().message);
    }
    if (result->timed_out)
        return fail(ErrorKind::Timeout,
                    describe() + ": " + what + " did not finish within " +
                        core::format_duration(m_config.timeout) + " and was killed",
                    "check that the DNS API answers, or raise the provider's timeout");
    if (!result->success()) {
        std::string detail = redacted(last_lines(result->err), m_config);
        if (detail.empty())
            detail = redacted(last_lines(result->out), m_config);
        return fail(ErrorKind::Dns,
                    describe() + ": " + what + " failed (" + result->status_text() + "): " + detail,
                    "run the same lexicon command by hand with the same LEXICON_* variables "
                    "and --log_level DEBUG");
    }
    return {};
}

}  // namespace

std::string lexicon_credential_variable(const std::string& provider, const std::string& name) {
    std::string out = "LEXICON_" + provider + "_AUTH_" + name;
    for (char& c : out)
        c = c == '-' ? '_' : c;
    return core::upper(out);
}

std::vector<std::string> lexicon_argv(const LexiconConfig& config, const std::string& action,
                                      const ChallengeRecord& record) {
    std::vector<std::string> argv{config.program};
    if (!config.zone.empty())
        argv.insert(argv.end(), {"--delegated", without_trailing_dot(config.zone)});
    argv.push_back(config.provider);
    for (const auto& [name, value] : config.options)
        argv.insert(argv.end(), {"--" + name, value});
    // The zone lexicon works in is found from the record's own name (its
    // registered domain, or --delegated), so CNAME targets elsewhere work too.
    const std::string name = without_trailing_dot(record.fqdn);
    argv.insert(argv.end(), {action, name, "TXT", "--name", name, "--content", record.value});
    if (action == "create")
        argv.insert(argv.end(), {"--ttl", std::to_string(config.ttl)});
    return argv;
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
