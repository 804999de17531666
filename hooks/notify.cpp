// What all channels share: building one from its config, the notice as JSON,
// URL redaction and ordering by severity.
#include "hooks/notify.hpp"

#include <algorithm>
#include <map>

namespace certfleet::hooks {

nlohmann::json notice_json(const Notice& n) {
    return {{"event", n.event},      {"severity", n.severity},   {"key", n.key},
            {"certificate", n.cert}, {"host", n.host},           {"domains", n.domains},
            {"serial", n.serial},    {"not_after", n.not_after}, {"summary", n.summary},
            {"detail", n.detail}};
}

namespace detail {

int severity_rank(const std::string& severity) {
    if (severity == "critical")
        return 0;
    if (severity == "warning")
        return 1;
    if (severity == "resolved")
        return 3;
    return 2;
}

std::vector<Notice> by_severity(std::vector<Notice> notices) {
    std::stable_sort(notices.begin(), notices.end(), [](const Notice& a, const Notice& b) {
        return severity_rank(a.severity) < severity_rank(b.severity);
    });
    return notices;
}

std::string severity_counts(const std::vector<Notice>& notices) {
    std::map<int, std::pair<std::string, int>> counts;
    for (const auto& n : notices) {
        auto& [name, count] = counts[severity_rank(n.severity)];
        if (name.empty())
            name = n.severity.empty() ? "notice" : n.severity;
        ++count;
    }
    std::string out;
    for (const auto& [rank, entry] : counts)
        out += (out.empty() ? "" : ", ") + std::to_string(entry.second) + " " + entry.first;
    return out;
}

std::string dump_json(const nlohmann::json& j) {
    return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace detail

core::Result<std::unique_ptr<Notifier>> make_notifier(const NotifierConfig& config,
                                                      const NotifierOptions& options) {
    if (const auto* webhook = std::get_if<WebhookConfig>(&config))
        return detail::make_webhook_notifier(*webhook, options);
    if (const auto* email = std::get_if<EmailConfig>(&config))
        return detail::make_email_notifier(*email, options);
    return detail::make_exec_notifier(std::get<ExecConfig>(config));
}

}  // namespace certfleet::hooks
