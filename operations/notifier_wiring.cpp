#include "operations/notifier_wiring.hpp"

namespace certfleet::operations {

namespace {

std::optional<hooks::NotifierConfig> channel_config(const inventory::WebhookNotifierSettings& n) {
    return hooks::WebhookConfig{.url = n.url,
                                .format = n.format == inventory::WebhookFormat::Slack
                                              ? hooks::WebhookFormat::Slack
                                              : hooks::WebhookFormat::Json,
                                .ca_bundle = n.ca_bundle};
}

std::optional<hooks::NotifierConfig> channel_config(const inventory::EmailNotifierSettings& n) {
    return hooks::EmailConfig{.smtp_url = n.smtp_url,
                              .from = n.from,
                              .to = n.to,
                              .password_file = n.password_file,
                              .username = n.username,
                              .ca_bundle = n.ca_bundle};
}

std::optional<hooks::NotifierConfig> channel_config(const inventory::ExecNotifierSettings& n) {
    return hooks::ExecConfig{.command = n.command, .timeout = n.timeout};
}

std::optional<hooks::NotifierConfig> channel_config(const inventory::PrometheusNotifierSettings&) {
    return std::nullopt;  // see textfile_paths
}

}  // namespace

std::optional<hooks::NotifierConfig> notifier_config(const inventory::NotifierSettings& settings) {
    return std::visit([](const auto& n) { return channel_config(n); }, settings);
}

core::Result<std::vector<std::unique_ptr<hooks::Notifier>>> make_notifiers(
    const std::vector<inventory::NotifierSettings>& notify, const hooks::NotifierOptions& options) {
    std::vector<std::unique_ptr<hooks::Notifier>> out;
    for (size_t i = 0; i < notify.size(); ++i) {
        auto config = notifier_config(notify[i]);
        if (!config)
            continue;
        auto made = hooks::make_notifier(*config, options);
        if (!made) {
            // Indexed like the inventory's "notify" array, textfiles included.
            core::Error e = made.error();
            e.message = "notify[" + std::to_string(i) + "]: " + e.message;
            return core::fail(std::move(e));
        }
        out.push_back(std::move(*made));
    }
    return out;
}

std::vector<std::string> textfile_paths(const std::vector<inventory::NotifierSettings>& notify) {
    std::vector<std::string> out;
    for (const auto& settings : notify)
        if (const auto* prometheus = std::get_if<inventory::PrometheusNotifierSettings>(&settings))
            out.push_back(prometheus->textfile);
    return out;
}

}  // namespace certfleet::operations
