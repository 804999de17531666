// policy.
#include <charconv>

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

}  // namespace certfleet::inventory::detail
