#include "renewal/expiry.hpp"

#include <cctype>
#include <cmath>

#include "renewal/policy.hpp"

namespace certfleet::renewal {

using core::Seconds;
using core::TimePoint;

std::string severity_name(Severity s) {
    switch (s) {
        case Severity::Ok:
            return "ok";
        case Severity::Unknown:
            return "unknown";
        case Severity::Warning:
            return "warning";
        case Severity::Critical:
            return "critical";
    }
    return "unknown";
}

std::string severity_label(Severity s) {
    std::string label = severity_name(s);
    for (auto& c : label)
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return label;
}

Severity worst(Severity a, Severity b) {
    return static_cast<int>(a) >= static_cast<int>(b) ? a : b;
}

core::TimePoint threshold_moment(const inventory::Threshold& t, core::TimePoint not_before,
                                 core::TimePoint not_after) {
    if (t.duration)
        return not_after - *t.duration;
    const double lifetime = static_cast<double>((not_after - not_before).count());
    const auto share =
        static_cast<core::Seconds::rep>(std::llround(t.fraction.value_or(0) * lifetime));
    return not_after - core::Seconds{share};
}

std::string human_duration(core::Seconds s) {
    long long v = std::llabs(static_cast<long long>(s.count()));
    struct Unit {
        long long size;
        const char* name;
    };
    static constexpr Unit kUnits[] = {{86400, "d"}, {3600, "h"}, {60, "m"}, {1, "s"}};
    std::string out;
    int shown = 0;
    for (const auto& u : kUnits) {
        if (v >= u.size || (u.size == 1 && out.empty())) {
            out += (out.empty() ? "" : " ") + std::to_string(v / u.size) + u.name;
            v %= u.size;
            if (++shown == 2)
                break;
        } else if (!out.empty()) {
            break;  // "1d 0h" says nothing "1d" does not
        }
    }
    return out;
}

ExpiryVerdict evaluate_expiry(const core::CertificateInfo& info, const inventory::Policy& policy,
                              core::TimePoint at) {
    ExpiryVerdict v;
    v.left = std::chrono::duration_cast<core::Seconds>(info.not_after - at);
    const std::string when = core::format_rfc3339(info.not_after);
    if (v.left.count() <= 0) {
        v.severity = Severity::Critical;
        v.text = "expired " + human_duration(v.left) + " ago (" + when + ")";
        return v;
    }
    v.text = "expires in " + human_duration(v.left) + " (" + when + ")";
    // A duration reaching back past the renewal moment would alert on a
    // healthy certificate that is not even due (21d against Let's Encrypt's
    // 6-day certificates: critical from birth). Such a threshold is scaled
    // into the time renewal leaves: warn at 2/3 of it, critical at 1/4.
    const core::Seconds share =
        std::chrono::duration_cast<core::Seconds>(info.not_after - renewal_time(info, policy));
    auto moment = [&](const inventory::Threshold& t, double fallback) {
        if (t.duration && *t.duration >= share && share.count() > 0)
            return info.not_after -
                   core::Seconds{std::llround(static_cast<double>(share.count()) * fallback)};
        return threshold_moment(t, info.not_before, info.not_after);
    };
    if (at >= moment(policy.critical_before, 0.25))
        v.severity = Severity::Critical;
    else if (at >= moment(policy.warn_before, 2.0 / 3.0))
        v.severity = Severity::Warning;
    return v;
}

}  // namespace certfleet::renewal
