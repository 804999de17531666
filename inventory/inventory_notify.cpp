// notify (one typed settings struct per notifier type) and hooks.
#include <map>

#include "inventory/inventory_check.hpp"

namespace certfleet::inventory::detail {

namespace {

bool is_url(const std::string& s, std::initializer_list<std::string_view> schemes) {
    for (auto scheme : schemes)
        if (s.starts_with(scheme) && s.size() > scheme.size())
            return true;
    return false;
}

// A required URL; a wrong scheme is reported but the text is kept, so the
// duplicate check still compares it.
std::string read_url(ObjectReader& r, std::string_view key,
                     std::initializer_list<std::string_view> schemes, const char* expected) {
    auto url = r.non_empty_string(key, true);
    if (url && !is_url(*url, schemes))
        r.checker().error(r.path_of(key), std::string("expected ") + expected);
    return url.value_or("");
}

WebhookNotifierSettings read_webhook(ObjectReader& r) {
    WebhookNotifierSettings n;
    n.url = read_url(r, "url", {"https://", "http://"}, "an http:// or https:// URL");
    if (auto format = r.one_of("format", {"json", "slack"}))
        n.format = *format == "slack" ? WebhookFormat::Slack : WebhookFormat::Json;
    n.ca_bundle = r.readable_file("ca_bundle").value_or("");
    return n;
}

EmailNotifierSettings read_email(ObjectReader& r) {
    EmailNotifierSettings n;
    n.smtp_url = read_url(r, "smtp_url", {"smtp://", "smtps://"}, "an smtp:// or smtps:// URL");
    n.from = r.non_empty_string("from", true).value_or("");
    if (!r.get("to"))
        r.missing("to");
    if (auto to = r.strings("to")) {
        if (to->empty())
            r.checker().error(r.path_of("to"), "must list at least one address");
        n.to = std::move(*to);
    }
    n.password_file = r.secret("password_file").value_or("");
    n.username = r.non_empty_string("username").value_or("");
    n.ca_bundle = r.readable_file("ca_bundle").value_or("");
    return n;
}

PrometheusNotifierSettings read_prometheus(ObjectReader& r) {
    if (!r.get("textfile"))
        r.missing("textfile");
    return {r.local_path("textfile").value_or("")};
}

ExecNotifierSettings read_exec(ObjectReader& r) {
    ExecNotifierSettings n;
    n.command = r.non_empty_string("command", true).value_or("");
    if (auto timeout = r.duration("timeout"))
        n.timeout = *timeout;
    return n;
}

// One notifier, filled as far as the input allows (every problem is
// reported); nullopt when even its type is unknown.
std::optional<NotifierSettings> load_notifier(Checker& checker, const Json& entry,
                                              const std::string& path) {
    std::string type;
    if (entry.is_object() && entry.contains("type") && entry["type"].is_string())
        type = entry["type"].get<std::string>();
    std::vector<std::string_view> known =
        type == "webhook" ? std::vector<std::string_view>{"type", "url", "format", "ca_bundle"}
        : type == "email"
            ? std::vector<std::string_view>{"type",          "smtp_url", "from",     "to",
                                            "password_file", "username", "ca_bundle"}
        : type == "prometheus" ? std::vector<std::string_view>{"type", "textfile"}
        : type == "exec"       ? std::vector<std::string_view>{"type", "command", "timeout"}
                               : kAnyKey;  // the type error says it all
    ObjectReader r(checker, entry, path, known);
    if (!r.valid())
        return std::nullopt;
    r.one_of("type", {"webhook", "email", "prometheus", "exec"}, true);
    if (type == "webhook")
        return read_webhook(r);
    if (type == "email")
        return read_email(r);
    if (type == "prometheus")
        return read_prometheus(r);
    if (type == "exec")
        return read_exec(r);
    return std::nullopt;
}

// Where a notifier sends (the fields its channel is named after, in
// hooks/notify_*.cpp), or "" when it is not valid enough to tell.
std::string destination(const NotifierSettings& settings) {
    struct Visitor {
        std::string operator()(const WebhookNotifierSettings& n) const {
            return n.url.empty() ? "" : "webhook " + n.url;
        }
        std::string operator()(const EmailNotifierSettings& n) const {
            if (n.to.empty())
                return {};
            std::string to;
            for (const auto& address : n.to)
                to += "\n" + address;  // a character no address contains
            return "email " + n.smtp_url + " to" + to;
        }
        std::string operator()(const ExecNotifierSettings& n) const {
            return n.command.empty() ? "" : "exec " + n.command;
        }
        std::string operator()(const PrometheusNotifierSettings& n) const {
            return n.textfile.empty() ? "" : "prometheus " + n.textfile;
        }
    };
    return std::visit(Visitor{}, settings);
}

// Two notifiers to the same place share their de-duplication state (the
// ledger keys it by channel), so the second would never send anything; two
// Prometheus notifiers on one textfile overwrite each other. `destinations`
// has one entry per element of "notify" ("": not comparable).
void warn_duplicate_notifiers(Checker& checker, const std::vector<std::string>& destinations) {
    std::map<std::string, std::size_t> first;
    for (std::size_t i = 0; i < destinations.size(); ++i) {
        if (destinations[i].empty())
            continue;
        auto [it, inserted] = first.emplace(destinations[i], i);
        if (!inserted)
            checker.warning(element_path("notify", i),
                            "sends to the same place as notify[" + std::to_string(it->second) +
                                "]: it would repeat nothing (notices are de-duplicated per "
                                "destination); remove one of them");
    }
}

void load_notify(Checker& checker, const Json& notify, Inventory& inventory) {
    if (!notify.is_array()) {
        checker.error("notify", "expected an array of notifier objects");
        return;
    }
    std::vector<std::string> destinations(notify.size());
    for (size_t i = 0; i < notify.size(); ++i) {
        const std::string path = element_path("notify", i);
        auto settings = load_notifier(checker, notify[i], path);
        if (!settings)
            continue;
        check_notifier_paths(checker, path, *settings);
        destinations[i] = destination(*settings);
        inventory.notify.push_back(std::move(*settings));
    }
    warn_duplicate_notifiers(checker, destinations);
}

void load_hooks(Checker& checker, const Json& value, HookSettings& hooks) {
    ObjectReader r(checker, value, "hooks",
                   {"pre", "post", "deploy", "failure", "warning", "timeout"});
    if (!r.valid())
        return;
    for (HookEvent event : kHookEvents)
        if (auto command = r.string(hook_event_name(event)))
            hooks.commands[event] = *command;
    if (auto timeout = r.duration("timeout"))
        hooks.timeout = *timeout;
}

}  // namespace

void load_notify_and_hooks(ObjectReader& top, Inventory& inventory) {
    if (const Json* notify = top.get("notify"))
        load_notify(top.checker(), *notify, inventory);
    if (const Json* hooks = top.get("hooks"))
        load_hooks(top.checker(), *hooks, inventory.hooks);
}

}  // namespace certfleet::inventory::detail
