// When a certificate is due for renewal (docs/inventory.md: renew_before) and how long a
// failing certificate backs off before the next attempt.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "core/time.hpp"
#include "inventory/model.hpp"
#include "state/ledger.hpp"
#include "state/store.hpp"

namespace certfleet::renewal {

// The CA's suggested renewal window (ACME Renewal Information, RFC 9773).
struct AriWindow {
    core::TimePoint start;
    core::TimePoint end;
};

// What one renewalInfo poll returned (acme::RenewalInfo without the acme types).
struct AriAnswer {
    AriWindow window;
    core::Seconds retry_after{0};  // already clamped by the client
    std::string explanation_url;
};

// Why a certificate is (not) due; callers decide from it whether ARI matters.
enum class RenewalBasis {
    NotIssued,  // no current version
    Changed,    // domains, key type or profile differ from the inventory
    Expired,    // now >= not-after
    Schedule,   // the renewal time: renew_before, ARI or the lifetime rule
};

struct RenewalDecision {
    bool due = false;
    // For humans: "not issued yet", "domains changed (added www.example.org)",
    // "key type changed (ecdsa-p256 → rsa-2048)", "profile changed (none → x)",
    // "inside renewal window (renew at ...)", "not due until ...", "expired at ...",
    // "inside ARI window (renew at ...)", "not due until ... (ARI window ... to ...)".
    std::string reason;
    core::TimePoint renew_at{};  // when it is (or was) due; `now` for changes
    RenewalBasis basis = RenewalBasis::Schedule;
    bool from_ari = false;  // renew_at is the moment chosen in the CA's ARI window
};

// `current_profile` is the profile the current certificate was issued under
// (from the ledger); spec.profile empty means "don't care". `ari` is the
// certificate's ledger record (Ledger::ari(name)) as is: it only counts when
// renew_before is "auto", it is about the current serial and holds a window
// (see ari_applies), so read-only callers (status, check) simply pass
//     decide_renewal(spec, current, profile, policy, now, ledger.ari(name))
// and get the same renew_at as the last `issue` / `run` without any request.
RenewalDecision decide_renewal(const inventory::CertificateSpec& spec,
                               const std::optional<state::StoredVersion>& current,
                               std::string_view current_profile, const inventory::Policy& policy,
                               core::TimePoint now,
                               const std::optional<state::AriRecord>& ari = std::nullopt);

// The renewal time from the certificate's validity alone (no spec comparison),
// using `ari` under the same conditions as decide_renewal.
core::TimePoint renewal_time(const core::CertificateInfo& info, const inventory::Policy& policy,
                             const std::optional<state::AriRecord>& ari = std::nullopt);

// --- ACME Renewal Information state (the ledger's AriRecord) ---------------

// A draw from [0, 1). random_draw() is seeded from the OS; tests inject values.
using UniformDraw = std::function<double()>;
UniformDraw random_draw();

// The record after a successful poll for `serial`. The renewal moment is drawn
// uniformly from [start, end) once per (serial, window): it is kept while the
// CA keeps answering the same window, so every run and `status` agree on it
// (a fresh draw per run would drift towards the window's start), and drawn
// anew when the window or the serial differs. next_poll = now + retry_after.
state::AriRecord update_ari(const std::optional<state::AriRecord>& old, const std::string& cert,
                            const std::string& serial, const AriAnswer& answer, core::TimePoint now,
                            const UniformDraw& draw);

// The record after a poll that gave no usable answer (CA without renewalInfo,
// 404, malformed window, network fault): keeps a window already known for the
// serial and only moves next_poll; otherwise a record without a window, which
// means "lifetime rule, and don't ask before next_poll".
state::AriRecord ari_unavailable(const std::optional<state::AriRecord>& old,
                                 const std::string& cert, const std::string& serial,
                                 core::TimePoint next_poll);

bool ari_has_window(const state::AriRecord& r);  // false for ari_unavailable's marker
// True when `ari` may decide for `info`: a window for this very serial that
// starts before not-after (a window after expiry is nonsense; ignore it).
bool ari_applies(const std::optional<state::AriRecord>& ari, const core::CertificateInfo& info);
// True when renewalInfo must be asked: no record for `serial` yet, or its
// next_poll has come. Between polls the stored record is used, no request.
bool ari_poll_due(const std::optional<state::AriRecord>& ari, std::string_view serial,
                  core::TimePoint now);

// The longest a CA's Retry-After defers the next attempt: a CA (or
// something posing as one) saying "come back in a year" must not let
// certificates expire.
inline constexpr core::Seconds kLongestRetryAfter{24 * 3600};

// Earliest next attempt after failures: +1 min, +10 min, +100 min, then +1 day
// from the last failure; never before the CA's Retry-After, which counts for
// at most kLongestRetryAfter after the failure.
core::TimePoint backoff_until(const state::FailureState& state);

}  // namespace certfleet::renewal
