// When a certificate is due for renewal (SPEC §2 renew_before) and how long a
// failing certificate backs off before the next attempt.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/time.hpp"
#include "inventory/ledger.hpp"
#include "inventory/model.hpp"
#include "inventory/store.hpp"

namespace certfleet::inventory {

// The CA's suggested renewal window (ACME Renewal Information, RFC 9773).
struct AriWindow {
    core::TimePoint start;
    core::TimePoint end;
};

struct RenewalDecision {
    bool due = false;
    // For humans: "not issued yet", "domains changed (added www.example.org)",
    // "key type changed (ecdsa-p256 → rsa-2048)", "profile changed (none → x)",
    // "inside renewal window (renew at ...)", "not due until ...", "expired at ...".
    std::string reason;
    core::TimePoint renew_at{};  // when it is (or was) due; `now` for changes
};

// `current_profile` is the profile the current certificate was issued under
// (from the ledger); spec.profile empty means "don't care".
RenewalDecision decide_renewal(const CertificateSpec& spec,
                               const std::optional<StoredVersion>& current,
                               std::string_view current_profile, const Policy& policy,
                               core::TimePoint now, std::optional<AriWindow> ari = std::nullopt);

// The renewal time from the certificate's validity alone (no spec comparison).
core::TimePoint renewal_time(const core::CertificateInfo& info, const Policy& policy,
                             std::optional<AriWindow> ari = std::nullopt);

// Earliest next attempt after failures: +1 min, +10 min, +100 min, then +1 day
// from the last failure; never before the CA's Retry-After.
core::TimePoint backoff_until(const FailureState& state);

}  // namespace certfleet::inventory
