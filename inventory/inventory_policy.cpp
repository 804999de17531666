// policy, notify and hooks.
#include <charconv>
#include <map>

#include "inventory/inventory_check.hpp"

namespace certfleet::inventory::detail {

namespace {

constexpr const char* kThresholdForms =
    "use a duration like \"21d\" or a fraction of the lifetime like \"0.2\"";

std::optional<Threshold> read_threshold(ObjectReader& r, std::string_view key) {
    const Json* v = r.get(key);
    if (!v)
        return std::nullopt;
    std::string path = r.path_of(key);
    std::optional<double> fraction;
    if (v->is_number()) {
        fraction = v->get<double>();
    } else if (v->is_string()) {
        const auto& text = v->get_ref<const std::string&>();
        if (auto d = core::parse_duration(text)) {
            if (d->count() > 0)
                return Threshold{*d, std::nullopt};
            r.checker().error(path, "must be longer than 0s");
            return std::nullopt;
        }
        double f = 0;
        auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), f);
        if (ec != std::errc() || p != text.data() + text.size()) {
            r.checker().error(path, "invalid value '" + text + "': " + kThresholdForms);
            return std::nullopt;
        }
        fraction = f;
    } else {
        r.checker().error(path, kThresholdForms);
        return std::nullopt;
    }
    if (!(*fraction > 0 && *fraction < 1)) {
        r.checker().error(path, "a fraction of the lifetime must lie between 0 and 1");
        return std::nullopt;
    }
    return Threshold{std::nullopt, fraction};
}

// A threshold is "earlier" when it fires with more time left.
std::optional<bool> longer(const Threshold& a, const Threshold& b) {
    if (a.duration && b.duration)
        return *a.duration > *b.duration;
    if (a.fraction && b.fraction)
        return *a.fraction > *b.fraction;
    return std::nullopt;  // not comparable without a lifetime
}

void check_policy_order(Checker& checker, const Policy& policy) {
    if (longer(policy.critical_before, policy.warn_before).value_or(false))
        checker.warning("policy.critical_before",
                        "is earlier than warn_before: warnings would never be sent");
    if (policy.renew_before && policy.warn_before.duration &&
        *policy.renew_before <= *policy.warn_before.duration)
        checker.warning("policy.renew_before",
                        "is not longer than warn_before (" +
                            core::format_duration(*policy.warn_before.duration) +
                            "): every certificate would warn before it is renewed");
}

bool is_url(const std::string& s, std::initializer_list<std::string_view> schemes) {
    for (auto scheme : schemes)
        if (s.starts_with(scheme) && s.size() > scheme.size())
            return true;
    return false;
}

void check_url(ObjectReader& r, std::string_view key,
               std::initializer_list<std::string_view> schemes, const char* expected) {
    if (auto url = r.non_empty_string(key, true); url && !is_url(*url, schemes))
        r.checker().error(r.path_of(key), std::string("expected ") + expected);
}

// Validates one notifier and returns it with its file paths resolved.
Json load_notifier(Checker& checker, const Json& entry, const std::string& path) {
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
        return entry;
    r.one_of("type", {"webhook", "email", "prometheus", "exec"}, true);
    Json out = entry;
    if (type == "webhook") {
        check_url(r, "url", {"https://", "http://"}, "an http:// or https:// URL");
        r.one_of("format", {"json", "slack"});
        if (auto bundle = r.readable_file("ca_bundle"))
            out["ca_bundle"] = *bundle;
    } else if (type == "email") {
        check_url(r, "smtp_url", {"smtp://", "smtps://"}, "an smtp:// or smtps:// URL");
        r.non_empty_string("from", true);
        if (!r.get("to"))
            r.missing("to");
        if (auto to = r.strings("to"); to && to->empty())
            checker.error(r.path_of("to"), "must list at least one address");
        if (auto secret = r.secret("password_file"))
            out["password_file"] = *secret;
        r.non_empty_string("username");
        if (auto bundle = r.readable_file("ca_bundle"))
            out["ca_bundle"] = *bundle;
    } else if (type == "prometheus") {
        if (!r.get("textfile"))
            r.missing("textfile");
        if (auto file = r.local_path("textfile"))
            out["textfile"] = *file;
    } else if (type == "exec") {
        r.non_empty_string("command", true);
        r.duration("timeout");
    }
    return out;
}

}  // namespace

void load_policy(ObjectReader& top, Inventory& inventory) {
    const Json* value = top.get("policy");
    if (!value)
        return;
    ObjectReader r(
        top.checker(), *value, "policy",
        {"renew_before", "warn_before", "critical_before", "keep_versions", "notify_interval"});
    if (!r.valid())
        return;
    Policy& policy = inventory.policy;
    if (const Json* renew = r.get("renew_before")) {
        if (renew->is_string() && renew->get<std::string>() == "auto") {
            policy.renew_before = std::nullopt;
        } else if (renew->is_string() && core::parse_duration(renew->get<std::string>())) {
            policy.renew_before = r.duration("renew_before");
        } else {
            r.checker().error(r.path_of("renew_before"),
                              "expected \"auto\" or a duration like \"30d\"");
        }
    }
    if (auto t = read_threshold(r, "warn_before"))
        policy.warn_before = *t;
    if (auto t = read_threshold(r, "critical_before"))
        policy.critical_before = *t;
    if (auto keep = r.integer("keep_versions", 1, 1000))
        policy.keep_versions = static_cast<int>(*keep);
    if (auto interval = r.duration("notify_interval"))
        policy.notify_interval = *interval;
    check_policy_order(r.checker(), policy);
}

// Where a notifier sends (the fields its channel is named after, in
// hooks/notify_*.cpp), or "" when it is not valid enough to tell.
std::string destination(const Json& n) {
    auto text = [&](const char* key) {
        return n.contains(key) && n[key].is_string() ? n[key].get<std::string>() : std::string();
    };
    const std::string type = text("type");
    if (type == "webhook")
        return "webhook " + text("url");
    if (type == "exec")
        return "exec " + text("command");
    if (type == "prometheus")
        return "prometheus " + text("textfile");
    if (type == "email" && n.contains("to"))
        return "email " + text("smtp_url") + " to " + n["to"].dump();
    return {};
}

// Two notifiers to the same place share their de-duplication state (the
// ledger keys it by channel), so the second would never send anything; two
// Prometheus notifiers on one textfile overwrite each other.
void warn_duplicate_notifiers(Checker& checker, const std::vector<Json>& notify) {
    std::map<std::string, std::size_t> first;
    for (std::size_t i = 0; i < notify.size(); ++i) {
        const std::string where = destination(notify[i]);
        if (where.empty() || where.ends_with(' '))
            continue;
        auto [it, inserted] = first.emplace(where, i);
        if (!inserted)
            checker.warning(element_path("notify", i),
                            "sends to the same place as notify[" + std::to_string(it->second) +
                                "]: it would repeat nothing (notices are de-duplicated per "
                                "destination); remove one of them");
    }
}

void load_notify_and_hooks(ObjectReader& top, Inventory& inventory) {
    Checker& checker = top.checker();
    if (const Json* notify = top.get("notify")) {
        if (!notify->is_array()) {
            checker.error("notify", "expected an array of notifier objects");
        } else {
            for (size_t i = 0; i < notify->size(); ++i)
                inventory.notify.push_back(
                    load_notifier(checker, (*notify)[i], element_path("notify", i)));
            warn_duplicate_notifiers(checker, inventory.notify);
        }
    }
    if (const Json* hooks = top.get("hooks")) {
        ObjectReader r(checker, *hooks, "hooks",
                       {"pre", "post", "deploy", "failure", "warning", "timeout"});
        if (!r.valid())
            return;
        for (auto event : {"pre", "post", "deploy", "failure", "warning"})
            r.string(event);
        r.duration("timeout");
        inventory.hooks = *hooks;
    }
}

}  // namespace certfleet::inventory::detail
