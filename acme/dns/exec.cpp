#include "acme/dns/exec.hpp"

#include <chrono>
#include <optional>

#include <spdlog/spdlog.h>

#include "acme/dns/names.hpp"
#include "core/process.hpp"
#include "core/time.hpp"

namespace certfleet::acme::dns {
namespace {

class ExecProvider final : public DnsProvider {
public:
    explicit ExecProvider(ExecConfig config) : m_config(std::move(config)) {}

    core::Status present(const std::vector<ChallengeRecord>& records) override {
        // Stop at the first failure: the caller cleans up whatever was added.
        for (const auto& record : records) {
            if (auto status = run("present", record); !status) {
                return status;
            }
        }
        return {};
    }

    core::Status cleanup(const std::vector<ChallengeRecord>& records) override {
        std::optional<core::Error> first_error;
        for (const auto& record : records) {
            if (auto status = run("cleanup", record); !status) {
                spdlog::warn("{}", status.error().describe());
                if (!first_error) {
                    first_error = status.error();
                }
            }
        }
        if (first_error) {
            return core::fail(*first_error);
        }
        return {};
    }

    core::Seconds timeout() const override { return m_config.timeout; }

    std::string describe() const override {
        const auto argv = split_command(m_config.command);
        return "exec " + (m_config.name.empty() ? std::string() : m_config.name + " ") + "(" +
               (argv.empty() ? std::string() : argv.front()) + ")";
    }

private:
    core::Status run(std::string_view action, const ChallengeRecord& record) const {
        core::ProcessOptions options;
        options.argv = exec_argv(m_config, action, record);
        options.timeout = m_config.timeout;
        options.max_output = 64 * 1024;
        // Shown in messages: never the key authorization, only what matters.
        const std::string what =
            "'" + options.argv.front() + " " + std::string(action) + "' for " +
            (m_config.mode == ExecConfig::Mode::Raw ? record.domain : record.fqdn);
        spdlog::debug("{}: running {}", describe(), what);
        auto result = core::run_process(options);
        if (!result) {
            auto e = result.error();
            e.message = "exec DNS provider: " + e.message;
            return core::fail(e);
        }
        if (result->timed_out) {
            return core::fail(core::ErrorKind::Timeout,
                              "exec DNS provider: " + what + " did not finish within " +
                                  core::format_duration(m_config.timeout) + " and was killed",
                              "make the command faster or raise the provider's timeout");
        }
        if (!result->success()) {
            std::string detail = core::summarize_output(result->err);
            if (detail.empty()) {
                detail = core::summarize_output(result->out);
            }
            return core::fail(core::ErrorKind::Dns,
                              "exec DNS provider: " + what + " failed (" + result->status_text() +
                                  ")" + (detail.empty() ? std::string() : ": " + detail));
        }
        return {};
    }

    ExecConfig m_config;
};

}  // namespace

std::vector<std::string> split_command(std::string_view command) {
    std::vector<std::string> out;
    std::size_t i = 0;
    while (i < command.size()) {
        while (i < command.size() && (command[i] == ' ' || command[i] == '\t' ||
                                      command[i] == '\n' || command[i] == '\r')) {
            ++i;
        }
        const std::size_t start = i;
        while (i < command.size() && command[i] != ' ' && command[i] != '\t' &&
               command[i] != '\n' && command[i] != '\r') {
            ++i;
        }
        if (i > start) {
            out.emplace_back(command.substr(start, i - start));
        }
    }
    return out;
}

std::vector<std::string> exec_argv(const ExecConfig& config, std::string_view action,
                                   const ChallengeRecord& record) {
    std::vector<std::string> argv = split_command(config.command);
    argv.emplace_back(action);
    if (config.mode == ExecConfig::Mode::Raw) {
        std::string domain = record.domain;
        if (domain.rfind("*.", 0) == 0) {
            domain.erase(0, 2);
        }
        argv.insert(argv.end(), {"--", domain, record.token, record.key_authorization});
    } else {
        argv.insert(argv.end(), {normalize_fqdn(record.fqdn), record.value});
    }
    return argv;
}

core::Result<std::unique_ptr<DnsProvider>> make_exec_provider(ExecConfig config) {
    if (split_command(config.command).empty()) {
        return core::fail(core::ErrorKind::Config,
                          "exec provider" + (config.name.empty() ? "" : " " + config.name) +
                              ": command is empty");
    }
    if (config.timeout.count() <= 0) {
        config.timeout = core::Seconds(120);
    }
    return std::unique_ptr<DnsProvider>(std::make_unique<ExecProvider>(std::move(config)));
}

}  // namespace certfleet::acme::dns
