#include "inventory/renewal.hpp"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <set>

#include "core/crypto.hpp"

namespace certfleet::inventory {

namespace {

using core::Seconds;
using core::TimePoint;

std::string normalize_domain(std::string d) {
    std::transform(d.begin(), d.end(), d.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (!d.empty() && d.back() == '.')
        d.pop_back();
    return d;
}

std::set<std::string> domain_set(const std::vector<std::string>& domains) {
    std::set<std::string> out;
    for (const auto& d : domains)
        out.insert(normalize_domain(d));
    return out;
}

std::string join(const std::vector<std::string>& items) {
    std::string out;
    for (const auto& s : items)
        out += (out.empty() ? "" : ", ") + s;
    return out;
}

// Empty when equal, else "added a, b; removed c".
std::string domain_change(const std::vector<std::string>& wanted,
                          const std::vector<std::string>& have) {
    auto w = domain_set(wanted);
    auto h = domain_set(have);
    std::vector<std::string> added, removed;
    std::set_difference(w.begin(), w.end(), h.begin(), h.end(), std::back_inserter(added));
    std::set_difference(h.begin(), h.end(), w.begin(), w.end(), std::back_inserter(removed));
    std::string out;
    if (!added.empty())
        out = "added " + join(added);
    if (!removed.empty())
        out += (out.empty() ? "" : "; ") + std::string("removed ") + join(removed);
    return out;
}

// A point in [0, span) fixed by the serial. RFC 9773 asks clients to pick a
// random time inside the window to spread load on the CA. A fresh random draw
// on every run would flap between due / not due and, over many hourly runs,
// effectively collapse to the start of the window; hashing the serial spreads
// a fleet uniformly while every run (and `status`) agrees on the same moment.
Seconds serial_offset(const std::string& serial, Seconds span) {
    if (span.count() <= 0)
        return Seconds{0};
    std::string digest = core::sha256(serial);
    uint64_t v = 0;
    for (size_t i = 0; i < 8 && i < digest.size(); ++i) {
        v = (v << 8) | static_cast<unsigned char>(digest[i]);
    }
    return Seconds{static_cast<Seconds::rep>(v % static_cast<uint64_t>(span.count()))};
}

TimePoint lifetime_rule(const core::CertificateInfo& info) {
    const Seconds lifetime = info.not_after - info.not_before;
    // Short-lived certificates get a larger share so a failed attempt still
    // leaves days, not hours, to retry.
    const Seconds left = lifetime < Seconds{10 * 86400} ? lifetime / 2 : lifetime / 3;
    return info.not_after - left;
}

}  // namespace

TimePoint renewal_time(const core::CertificateInfo& info, const Policy& policy,
                       std::optional<AriWindow> ari) {
    const Seconds lifetime = info.not_after - info.not_before;
    if (lifetime.count() <= 0)
        return info.not_before;
    if (policy.renew_before) {
        // A renew_before covering the whole lifetime (e.g. "30d" with 6-day
        // certificates) would re-issue on every run; fall back to the auto rule.
        if (*policy.renew_before < lifetime)
            return info.not_after - *policy.renew_before;
        return lifetime_rule(info);
    }
    if (ari && ari->start < info.not_after) {
        const Seconds span = std::max(Seconds{0}, ari->end - ari->start);
        return ari->start + serial_offset(info.serial_hex, span);
    }
    return lifetime_rule(info);
}

RenewalDecision decide_renewal(const CertificateSpec& spec,
                               const std::optional<StoredVersion>& current,
                               std::string_view current_profile, const Policy& policy,
                               TimePoint now, std::optional<AriWindow> ari) {
    if (!current)
        return {true, "not issued yet", now};
    if (auto change = domain_change(spec.domains, current->info.dns_names); !change.empty()) {
        return {true, "domains changed (" + change + ")", now};
    }
    if (spec.key != current->key_type) {
        return {true,
                "key type changed (" + core::key_type_name(current->key_type) + " → " +
                    core::key_type_name(spec.key) + ")",
                now};
    }
    if (!spec.profile.empty() && spec.profile != current_profile) {
        std::string was = current_profile.empty() ? "none" : std::string(current_profile);
        return {true, "profile changed (" + was + " → " + spec.profile + ")", now};
    }
    const TimePoint renew_at = renewal_time(current->info, policy, ari);
    if (now >= current->info.not_after) {
        return {true, "expired at " + core::format_rfc3339(current->info.not_after), renew_at};
    }
    if (now >= renew_at) {
        return {true, "inside renewal window (renew at " + core::format_rfc3339(renew_at) + ")",
                renew_at};
    }
    return {false, "not due until " + core::format_rfc3339(renew_at), renew_at};
}

TimePoint backoff_until(const FailureState& state) {
    Seconds wait{0};
    switch (std::clamp(state.consecutive_failures, 0, 4)) {
        case 0:
            wait = Seconds{0};
            break;
        case 1:
            wait = Seconds{60};
            break;
        case 2:
            wait = Seconds{600};
            break;
        case 3:
            wait = Seconds{6000};
            break;
        default:
            wait = Seconds{86400};
            break;
    }
    TimePoint until = state.last_failure_at + wait;
    if (state.retry_after && *state.retry_after > until)
        until = *state.retry_after;
    return until;
}

}  // namespace certfleet::inventory
