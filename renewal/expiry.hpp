// Expiry evaluation (docs/inventory.md: warn_before / critical_before): how much trouble a
// certificate is in at a given moment. Used for what the store holds and for
// what hosts really serve, and by `check --at` to forecast.
#pragma once

#include <string>

#include "core/crypto.hpp"
#include "core/time.hpp"
#include "inventory/model.hpp"

namespace certfleet::renewal {

enum class Severity { Ok = 0, Unknown = 1, Warning = 2, Critical = 3 };

// "ok" | "unknown" | "warning" | "critical"
std::string severity_name(Severity s);
// "OK" | "UNKNOWN" | "WARNING" | "CRITICAL": the Nagios spelling.
std::string severity_label(Severity s);
// Nagios order: a definite problem outranks "could not determine".
Severity worst(Severity a, Severity b);

// The moment a threshold starts to fire for a certificate with this validity:
// not_after - duration, or not_after - fraction × lifetime.
core::TimePoint threshold_moment(const inventory::Threshold& t, core::TimePoint not_before,
                                 core::TimePoint not_after);

struct ExpiryVerdict {
    Severity severity = Severity::Ok;
    core::Seconds left{0};  // not_after - at (negative once expired)
    std::string text;       // "expires in 5d 3h (2026-11-26T10:00:00Z)" / "expired 2d ago (…)"
};

// Critical from critical_before on (and once expired), warning from
// warn_before on, else ok. The boundary moment itself already fires. A
// duration threshold not shorter than the time left at the renewal moment
// (renew_before, else 1/3 or 1/2 of the lifetime) is scaled into that time:
// warn at 2/3 of it, critical at 1/4 (defaults 21d/7d on 6-day certificates:
// warn 2d, critical 18h before expiry).
ExpiryVerdict evaluate_expiry(const core::CertificateInfo& info, const inventory::Policy& policy,
                              core::TimePoint at);

// "5d 3h", "2h 10m", "45s": the two largest units, for people.
std::string human_duration(core::Seconds s);

}  // namespace certfleet::renewal
