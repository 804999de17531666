#include "renewal/expiry.hpp"

#include <catch2/catch.hpp>

using namespace certfleet;
using core::Seconds;
using core::TimePoint;
using inventory::Policy;
using inventory::Threshold;
using renewal::evaluate_expiry;
using renewal::Severity;

namespace {

constexpr long kDay = 86400;

TimePoint at(const char* text) {
    return *core::parse_rfc3339(text);
}

core::CertificateInfo cert(TimePoint not_before, Seconds lifetime) {
    core::CertificateInfo info;
    info.serial_hex = "abc";
    info.not_before = not_before;
    info.not_after = not_before + lifetime;
    return info;
}

const TimePoint kIssued = at("2026-01-01T00:00:00Z");

}  // namespace

TEST_CASE("expiry: duration thresholds fire exactly at their moment", "[expiry]") {
    Policy p;  // warn 21d, critical 7d
    auto c = cert(kIssued, Seconds{90 * kDay});
    const TimePoint warn_at = c.not_after - Seconds{21 * kDay};
    const TimePoint crit_at = c.not_after - Seconds{7 * kDay};
    CHECK(evaluate_expiry(c, p, warn_at - Seconds{1}).severity == Severity::Ok);
    CHECK(evaluate_expiry(c, p, warn_at).severity == Severity::Warning);
    CHECK(evaluate_expiry(c, p, crit_at - Seconds{1}).severity == Severity::Warning);
    CHECK(evaluate_expiry(c, p, crit_at).severity == Severity::Critical);
    auto expired = evaluate_expiry(c, p, c.not_after);
    CHECK(expired.severity == Severity::Critical);
    CHECK(expired.left.count() == 0);
    CHECK(expired.text.rfind("expired", 0) == 0);
    auto later = evaluate_expiry(c, p, c.not_after + Seconds{2 * kDay + 3600});
    CHECK(later.text == "expired 2d 1h ago (2026-04-01T00:00:00Z)");
    auto fine = evaluate_expiry(c, p, c.not_after - Seconds{30 * kDay});
    CHECK(fine.left == Seconds{30 * kDay});
    CHECK(fine.text == "expires in 30d (2026-04-01T00:00:00Z)");
}

TEST_CASE("expiry: fraction thresholds scale with the lifetime", "[expiry]") {
    Policy p;
    p.warn_before = Threshold{std::nullopt, 0.2};
    p.critical_before = Threshold{std::nullopt, 0.05};
    SECTION("90-day certificate: warn at 18d left, critical at 4.5d left") {
        auto c = cert(kIssued, Seconds{90 * kDay});
        CHECK(evaluate_expiry(c, p, c.not_after - Seconds{18 * kDay + 1}).severity == Severity::Ok);
        CHECK(evaluate_expiry(c, p, c.not_after - Seconds{18 * kDay}).severity ==
              Severity::Warning);
        CHECK(evaluate_expiry(c, p, c.not_after - Seconds{4 * kDay + 12 * 3600 + 1}).severity ==
              Severity::Warning);
        CHECK(evaluate_expiry(c, p, c.not_after - Seconds{4 * kDay + 12 * 3600}).severity ==
              Severity::Critical);
    }
    SECTION("6-day certificate: warn at 28.8h left, critical at 7.2h left") {
        auto c = cert(kIssued, Seconds{6 * kDay});
        CHECK(evaluate_expiry(c, p, c.not_after - Seconds{103680 + 1}).severity == Severity::Ok);
        CHECK(evaluate_expiry(c, p, c.not_after - Seconds{103680}).severity == Severity::Warning);
        CHECK(evaluate_expiry(c, p, c.not_after - Seconds{25920}).severity == Severity::Critical);
    }
    SECTION("durations reaching past the renewal moment are scaled into the renewal share") {
        Policy durations;  // 21d / 7d; a 6-day certificate renews with 3d left
        auto c = cert(kIssued, Seconds{6 * kDay});
        CHECK(evaluate_expiry(c, durations, kIssued).severity == Severity::Ok);
        const TimePoint warn_at = c.not_after - Seconds{2 * kDay};   // 2/3 of 3d
        const TimePoint crit_at = c.not_after - Seconds{18 * 3600};  // 1/4 of 3d
        CHECK(evaluate_expiry(c, durations, warn_at - Seconds{1}).severity == Severity::Ok);
        CHECK(evaluate_expiry(c, durations, warn_at).severity == Severity::Warning);
        CHECK(evaluate_expiry(c, durations, crit_at - Seconds{1}).severity == Severity::Warning);
        CHECK(evaluate_expiry(c, durations, crit_at).severity == Severity::Critical);
        // A duration shorter than the renewal share is taken as written.
        Policy short_ones;
        short_ones.warn_before = Threshold{Seconds{2 * kDay + 3600}, std::nullopt};
        CHECK(evaluate_expiry(c, short_ones, c.not_after - Seconds{2 * kDay + 3600}).severity ==
              Severity::Warning);
        // An explicit renew_before widens the share: 21d is honoured with 40d.
        Policy early;
        early.renew_before = Seconds{40 * kDay};
        auto c90 = cert(kIssued, Seconds{90 * kDay});
        CHECK(evaluate_expiry(c90, early, c90.not_after - Seconds{21 * kDay}).severity ==
              Severity::Warning);
    }
}

TEST_CASE("expiry: severity order and names follow the Nagios convention", "[expiry]") {
    CHECK(renewal::worst(Severity::Unknown, Severity::Warning) == Severity::Warning);
    CHECK(renewal::worst(Severity::Critical, Severity::Unknown) == Severity::Critical);
    CHECK(renewal::worst(Severity::Ok, Severity::Unknown) == Severity::Unknown);
    CHECK(renewal::severity_name(Severity::Critical) == "critical");
    CHECK(renewal::human_duration(Seconds{45}) == "45s");
    CHECK(renewal::human_duration(Seconds{3 * 3600 + 600}) == "3h 10m");
    CHECK(renewal::human_duration(Seconds{5 * kDay + 3 * 3600 + 59}) == "5d 3h");
    CHECK(renewal::human_duration(Seconds{kDay + 59}) == "1d");
    CHECK(renewal::human_duration(Seconds{0}) == "0s");
}
