// Exec channel: the operator's own program, once per notice, with the
// CERTFLEET_* environment of docs/inventory.md and the notice as one JSON object on stdin.
#include "core/process.hpp"
#include "hooks/notify.hpp"

namespace certfleet::hooks {

namespace {

class ExecNotifier final : public Notifier {
public:
    ExecNotifier(std::string command, core::Seconds timeout)
        : m_command(std::move(command)), m_timeout(timeout) {}

    std::string channel() const override { return "exec " + m_command; }

    core::Status send(const std::vector<Notice>& notices) override {
        std::string first_failure;
        size_t failures = 0;
        // Every notice gets its call even when an earlier one failed: a
        // broken call for one certificate must not silence the others.
        for (const auto& n : notices) {
            std::string failure = run_one(n);
            if (failure.empty())
                continue;
            if (failures++ == 0)
                first_failure = failure;
        }
        if (failures == 0)
            return {};
        std::string message = channel() + ": " + first_failure;
        if (failures > 1)
            message += " (and " + std::to_string(failures - 1) + " more of " +
                       std::to_string(notices.size()) + " notices failed)";
        return core::fail(core::ErrorKind::Generic, message,
                          "the command must exit 0; its stderr is shown above");
    }

private:
    // "" on success, else what went wrong for this notice.
    std::string run_one(const Notice& n) const {
        std::string domains;
        for (const auto& d : n.domains)
            domains += (domains.empty() ? "" : " ") + d;
        core::ProcessOptions p;
        p.argv = {"/bin/sh", "-c", m_command};
        p.timeout = std::chrono::duration_cast<std::chrono::milliseconds>(m_timeout);
        p.env = {{"CERTFLEET_EVENT", n.event},
                 {"CERTFLEET_SEVERITY", n.severity},
                 {"CERTFLEET_SUMMARY", n.summary},
                 {"CERTFLEET_MESSAGE", n.detail.empty() ? n.summary : n.detail},
                 {"CERTFLEET_NOTICE_KEY", n.key},
                 {"CERTFLEET_CERT", n.cert},
                 {"CERTFLEET_DOMAINS", domains},
                 {"CERTFLEET_SERIAL", n.serial},
                 {"CERTFLEET_NOT_AFTER", n.not_after},
                 {"CERTFLEET_HOST", n.host}};
        p.stdin_data = detail::dump_json(notice_json(n)) + "\n";
        auto r = core::run_process(p);
        if (!r)
            return r.error().message;
        if (r->success())
            return {};
        std::string what = n.key + ": " + r->status_text();
        if (auto err = core::summarize_output(r->err, 300); !err.empty())
            what += ": " + err;
        return what;
    }

    std::string m_command;
    core::Seconds m_timeout;
};

}  // namespace

namespace detail {

core::Result<std::unique_ptr<Notifier>> make_exec_notifier(const ExecConfig& config) {
    if (config.command.empty())
        return core::fail(core::ErrorKind::Config, "exec: command is empty");
    return std::unique_ptr<Notifier>(
        std::make_unique<ExecNotifier>(config.command, config.timeout));
}

}  // namespace detail

}  // namespace certfleet::hooks
