#include "renewal/policy.hpp"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <random>
#include <set>
#include <utility>

#include "core/crypto.hpp"
#include "core/strings.hpp"

namespace certfleet::renewal {

namespace {

using core::Seconds;
using core::TimePoint;

std::string normalize_domain(std::string d) {
    d = core::lower(d);
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
        out = "added " + core::join(added);
    if (!removed.empty())
        out += (out.empty() ? "" : "; ") + std::string("removed ") + core::join(removed);
    return out;
}

core::TimePoint lifetime_rule(const core::CertificateInfo& info) {
    const core::Seconds lifetime = info.not_after - info.not_before;
    // Short-lived certificates get a larger share so a failed attempt still
    // leaves days, not hours, to retry.
    const core::Seconds left = lifetime < core::Seconds{10 * 86400} ? lifetime / 2 : lifetime / 3;
    return info.not_after - left;
}

// The renewal time and whether it came from ARI.
std::pair<core::TimePoint, bool> schedule(const core::CertificateInfo& info,
                                          const inventory::Policy& policy,
                                          const std::optional<state::AriRecord>& ari) {
    const core::Seconds lifetime = info.not_after - info.not_before;
    if (lifetime.count() <= 0)
        return {info.not_before, false};
    if (policy.renew_before) {
        // A renew_before covering the whole lifetime (e.g. "30d" with 6-day
        // certificates) would re-issue on every run; fall back to the auto rule.
        // An explicit duration is the operator overriding the CA: no ARI.
        if (*policy.renew_before < lifetime)
            return {info.not_after - *policy.renew_before, false};
        return {lifetime_rule(info), false};
    }
    if (ari_applies(ari, info))
        return {std::min(ari->chosen_at, info.not_after), true};
    return {lifetime_rule(info), false};
}

std::string ari_note(const state::AriRecord& r) {
    return r.explanation_url.empty() ? std::string() : "; CA explanation: " + r.explanation_url;
}

}  // namespace

bool ari_has_window(const state::AriRecord& r) {
    return r.window_end > r.window_start;
}

bool ari_applies(const std::optional<state::AriRecord>& ari, const core::CertificateInfo& info) {
    return ari && ari->serial == info.serial_hex && ari_has_window(*ari) &&
           ari->window_start < info.not_after;
}

bool ari_poll_due(const std::optional<state::AriRecord>& ari, std::string_view serial,
                  core::TimePoint now) {
    return !ari || ari->serial != serial || now >= ari->next_poll;
}

UniformDraw random_draw() {
    // One engine per thread, seeded once from the OS: the draw spreads a fleet
    // over the window; it needs no cryptographic strength.
    return [] {
        thread_local std::mt19937_64 engine{std::random_device{}()};
        return std::uniform_real_distribution<double>(0.0, 1.0)(engine);
    };
}

state::AriRecord update_ari(const std::optional<state::AriRecord>& old, const std::string& cert,
                            const std::string& serial, const AriAnswer& answer, core::TimePoint now,
                            const UniformDraw& draw) {
    state::AriRecord r;
    r.cert = cert;
    r.serial = serial;
    r.window_start = answer.window.start;
    r.window_end = answer.window.end;
    r.next_poll = now + std::max(answer.retry_after, core::Seconds{0});
    r.explanation_url = answer.explanation_url;
    const bool same = old && old->serial == serial && ari_has_window(*old) &&
                      old->window_start == r.window_start && old->window_end == r.window_end;
    if (same) {
        r.chosen_at = old->chosen_at;
        return r;
    }
    const core::Seconds::rep span = (r.window_end - r.window_start).count();
    if (span <= 0) {
        r.chosen_at = r.window_start;
        return r;
    }
    // floor(draw × span) lands in [0, span); the clamp guards a draw of 1.0
    // (some standard libraries' uniform_real_distribution can return it).
    const double d = std::clamp(draw(), 0.0, 1.0);
    auto offset = static_cast<core::Seconds::rep>(d * static_cast<double>(span));
    offset = std::clamp<core::Seconds::rep>(offset, 0, span - 1);
    r.chosen_at = r.window_start + core::Seconds{offset};
    return r;
}

state::AriRecord ari_unavailable(const std::optional<state::AriRecord>& old,
                                 const std::string& cert, const std::string& serial,
                                 core::TimePoint next_poll) {
    if (old && old->serial == serial && ari_has_window(*old)) {
        state::AriRecord r = *old;  // a stale window is still the CA's best word
        r.next_poll = next_poll;
        return r;
    }
    state::AriRecord r;
    r.cert = cert;
    r.serial = serial;
    r.next_poll = next_poll;  // window_start == window_end: no window
    return r;
}

core::TimePoint renewal_time(const core::CertificateInfo& info, const inventory::Policy& policy,
                             const std::optional<state::AriRecord>& ari) {
    return schedule(info, policy, ari).first;
}

RenewalDecision decide_renewal(const inventory::CertificateSpec& spec,
                               const std::optional<state::StoredVersion>& current,
                               std::string_view current_profile, const inventory::Policy& policy,
                               core::TimePoint now, const std::optional<state::AriRecord>& ari) {
    using B = RenewalBasis;
    if (!current)
        return {true, "not issued yet", now, B::NotIssued, false};
    if (auto change = domain_change(spec.domains, current->info.dns_names); !change.empty()) {
        return {true, "domains changed (" + change + ")", now, B::Changed, false};
    }
    if (spec.key != current->key_type) {
        return {true,
                "key type changed (" + core::key_type_name(current->key_type) + " → " +
                    core::key_type_name(spec.key) + ")",
                now, B::Changed, false};
    }
    if (!spec.profile.empty() && spec.profile != current_profile) {
        std::string was = current_profile.empty() ? "none" : std::string(current_profile);
        return {true, "profile changed (" + was + " → " + spec.profile + ")", now, B::Changed,
                false};
    }
    const auto [renew_at, from_ari] = schedule(current->info, policy, ari);
    if (now >= current->info.not_after) {
        return {true, "expired at " + core::format_rfc3339(current->info.not_after), renew_at,
                B::Expired, from_ari};
    }
    if (from_ari) {
        const std::string when = core::format_rfc3339(renew_at);
        if (now >= ari->window_end)  // RFC 9773 §4.2: a window in the past means now
            return {true,
                    "ARI window ended at " + core::format_rfc3339(ari->window_end) + " (renew at " +
                        when + ")" + ari_note(*ari),
                    renew_at, B::Schedule, true};
        if (now >= renew_at)
            return {true, "inside ARI window (renew at " + when + ")" + ari_note(*ari), renew_at,
                    B::Schedule, true};
        return {false,
                "not due until " + when + " (ARI window " +
                    core::format_rfc3339(ari->window_start) + " to " +
                    core::format_rfc3339(ari->window_end) + ")" + ari_note(*ari),
                renew_at, B::Schedule, true};
    }
    if (now >= renew_at) {
        return {true, "inside renewal window (renew at " + core::format_rfc3339(renew_at) + ")",
                renew_at, B::Schedule, false};
    }
    return {false, "not due until " + core::format_rfc3339(renew_at), renew_at, B::Schedule, false};
}

core::TimePoint backoff_until(const state::FailureState& state) {
    core::Seconds wait{0};
    switch (std::clamp(state.consecutive_failures, 0, 4)) {
        case 0:
            wait = core::Seconds{0};
            break;
        case 1:
            wait = core::Seconds{60};
            break;
        case 2:
            wait = core::Seconds{600};
            break;
        case 3:
            wait = core::Seconds{6000};
            break;
        default:
            wait = core::Seconds{86400};
            break;
    }
    core::TimePoint until = state.last_failure_at + wait;
    if (state.retry_after)
        until = std::max(until,
                         std::min(*state.retry_after, state.last_failure_at + kLongestRetryAfter));
    return until;
}

}  // namespace certfleet::renewal
