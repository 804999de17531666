#include <catch2/catch.hpp>

#include "renewal/policy.hpp"

using namespace certfleet;
using core::Seconds;
using core::TimePoint;
using inventory::CertificateSpec;
using inventory::Policy;
using renewal::backoff_until;
using renewal::decide_renewal;
using state::AriRecord;
using state::FailureState;
using state::StoredVersion;

namespace {

constexpr long kDay = 86400;

TimePoint at(const char* text) {
    return *core::parse_rfc3339(text);
}

const TimePoint kIssued = at("2026-01-01T00:00:00Z");

StoredVersion stored(Seconds lifetime, std::vector<std::string> names = {"example.org"},
                     std::string serial = "4f20a477") {
    StoredVersion v;
    v.name = "site";
    v.version = "20260101T000000Z-4f20a477";
    v.info.serial_hex = std::move(serial);
    v.info.not_before = kIssued;
    v.info.not_after = kIssued + lifetime;
    v.info.dns_names = std::move(names);
    v.key_type = core::KeyType::EcdsaP256;
    return v;
}

CertificateSpec spec(std::vector<std::string> domains = {"example.org"}) {
    CertificateSpec s;
    s.name = "site";
    s.domains = std::move(domains);
    return s;
}

}  // namespace

TEST_CASE("auto: one third of a 90-day lifetime, to the second", "[renewal]") {
    const auto cur = stored(Seconds{90 * kDay});
    const TimePoint renew_at = kIssued + Seconds{60 * kDay};
    auto before = decide_renewal(spec(), cur, "", Policy{}, renew_at - Seconds{1});
    CHECK_FALSE(before.due);
    CHECK(before.renew_at == renew_at);
    CHECK(before.reason == "not due until 2026-03-02T00:00:00Z");
    auto exactly = decide_renewal(spec(), cur, "", Policy{}, renew_at);
    CHECK(exactly.due);
    CHECK(exactly.reason == "inside renewal window (renew at 2026-03-02T00:00:00Z)");
    auto expired = decide_renewal(spec(), cur, "", Policy{}, cur.info.not_after);
    CHECK(expired.due);
    CHECK(expired.reason == "expired at 2026-04-01T00:00:00Z");
}

TEST_CASE("auto: one half for lifetimes under 10 days", "[renewal]") {
    const auto six = stored(Seconds{6 * kDay});
    const TimePoint half = kIssued + Seconds{3 * kDay};
    CHECK_FALSE(decide_renewal(spec(), six, "", Policy{}, half - Seconds{1}).due);
    CHECK(decide_renewal(spec(), six, "", Policy{}, half).due);

    // Just under 10 days uses the half rule; exactly 10 days the third rule.
    const auto almost = stored(Seconds{10 * kDay - 2});
    CHECK(decide_renewal(spec(), almost, "", Policy{}, kIssued).renew_at ==
          kIssued + Seconds{5 * kDay - 1});
    const auto ten = stored(Seconds{10 * kDay});
    const TimePoint two_thirds = kIssued + Seconds{10 * kDay - 10 * kDay / 3};
    CHECK(decide_renewal(spec(), ten, "", Policy{}, kIssued).renew_at == two_thirds);
    CHECK_FALSE(decide_renewal(spec(), ten, "", Policy{}, two_thirds - Seconds{1}).due);
    CHECK(decide_renewal(spec(), ten, "", Policy{}, two_thirds).due);
}

TEST_CASE("explicit renew_before is a duration before not-after", "[renewal]") {
    const auto cur = stored(Seconds{90 * kDay});
    Policy policy;
    policy.renew_before = Seconds{30 * kDay};
    const TimePoint renew_at = cur.info.not_after - Seconds{30 * kDay};
    CHECK_FALSE(decide_renewal(spec(), cur, "", policy, renew_at - Seconds{1}).due);
    CHECK(decide_renewal(spec(), cur, "", policy, renew_at).due);
    CHECK(decide_renewal(spec(), cur, "", policy, renew_at).renew_at == renew_at);

    // Longer than the lifetime would re-issue on every run: the auto rule applies.
    const auto short_lived = stored(Seconds{6 * kDay});
    CHECK(decide_renewal(spec(), short_lived, "", policy, kIssued).renew_at ==
          kIssued + Seconds{3 * kDay});
    // Explicit beats ARI.
    AriRecord ari{"site",
                  cur.info.serial_hex,
                  kIssued + Seconds{10 * kDay},
                  kIssued + Seconds{11 * kDay},
                  kIssued + Seconds{10 * kDay},
                  kIssued + Seconds{kDay},
                  ""};
    auto explicit_wins = decide_renewal(spec(), cur, "", policy, kIssued, ari);
    CHECK(explicit_wins.renew_at == renew_at);
    CHECK_FALSE(explicit_wins.from_ari);
}

TEST_CASE("changes to what is wanted make a certificate due at once", "[renewal]") {
    const auto cur = stored(Seconds{90 * kDay}, {"example.org", "www.example.org"});
    const TimePoint now = kIssued + Seconds{kDay};

    auto none = decide_renewal(spec(), std::nullopt, "", Policy{}, now);
    CHECK(none.due);
    CHECK(none.reason == "not issued yet");

    // Sets, compared case-insensitively: order and case are not changes.
    CHECK_FALSE(
        decide_renewal(spec({"WWW.example.org", "Example.ORG"}), cur, "", Policy{}, now).due);

    auto added = decide_renewal(spec({"example.org", "www.example.org", "api.example.org"}), cur,
                                "", Policy{}, now);
    CHECK(added.due);
    CHECK(added.reason == "domains changed (added api.example.org)");
    CHECK(added.renew_at == now);
    auto removed = decide_renewal(spec({"example.org"}), cur, "", Policy{}, now);
    CHECK(removed.reason == "domains changed (removed www.example.org)");

    auto rsa = spec({"example.org", "www.example.org"});
    rsa.key = core::KeyType::Rsa2048;
    auto key = decide_renewal(rsa, cur, "", Policy{}, now);
    CHECK(key.due);
    CHECK(key.reason == "key type changed (ecdsa-p256 → rsa-2048)");

    auto profiled = spec({"example.org", "www.example.org"});
    profiled.profile = "shortlived";
    auto prof = decide_renewal(profiled, cur, "tlsserver", Policy{}, now);
    CHECK(prof.due);
    CHECK(prof.reason == "profile changed (tlsserver → shortlived)");
    CHECK_FALSE(decide_renewal(profiled, cur, "shortlived", Policy{}, now).due);
    // No profile asked for: whatever the CA chose is fine.
    CHECK_FALSE(
        decide_renewal(spec({"example.org", "www.example.org"}), cur, "tlsserver", Policy{}, now)
            .due);
}

TEST_CASE("ARI: the moment stored for the current serial decides", "[renewal]") {
    const auto cur = stored(Seconds{90 * kDay});
    AriRecord ari{"site",
                  cur.info.serial_hex,
                  at("2026-02-20T00:00:00Z"),
                  at("2026-02-22T00:00:00Z"),
                  at("2026-02-21T06:00:00Z"),
                  kIssued + Seconds{kDay},
                  ""};
    auto before = decide_renewal(spec(), cur, "", Policy{}, ari.chosen_at - Seconds{1}, ari);
    CHECK_FALSE(before.due);
    CHECK(before.from_ari);
    CHECK(before.renew_at == ari.chosen_at);
    CHECK(before.reason ==
          "not due until 2026-02-21T06:00:00Z (ARI window "
          "2026-02-20T00:00:00Z to 2026-02-22T00:00:00Z)");
    auto exactly = decide_renewal(spec(), cur, "", Policy{}, ari.chosen_at, ari);
    CHECK(exactly.due);
    CHECK(exactly.reason == "inside ARI window (renew at 2026-02-21T06:00:00Z)");

    // A record for another serial (the previous certificate) does not count.
    ari.serial = "0ld";
    auto other = decide_renewal(spec(), cur, "", Policy{}, kIssued, ari);
    CHECK_FALSE(other.from_ari);
    CHECK(other.renew_at == kIssued + Seconds{60 * kDay});
    // Nor does a window starting after not-after.
    ari.serial = cur.info.serial_hex;
    ari.window_start = cur.info.not_after + Seconds{1};
    ari.window_end = ari.window_start + Seconds{kDay};
    CHECK_FALSE(decide_renewal(spec(), cur, "", Policy{}, kIssued, ari).from_ari);
}

TEST_CASE("back-off after failures: 1 min, 10 min, 100 min, then a day", "[renewal]") {
    const TimePoint last = at("2026-05-01T00:00:00Z");
    FailureState s;
    s.last_failure_at = last;
    const std::pair<int, long> schedule[] = {{1, 60}, {2, 600}, {3, 6000}, {4, 86400}, {9, 86400}};
    for (auto [failures, wait] : schedule) {
        s.consecutive_failures = failures;
        CHECK(backoff_until(s) == last + Seconds{wait});
    }
    s.consecutive_failures = 1;
    s.retry_after = last + Seconds{3600};  // the CA's Retry-After is later: it wins
    CHECK(backoff_until(s) == last + Seconds{3600});
    s.retry_after = last + Seconds{10};  // earlier: the schedule wins
    CHECK(backoff_until(s) == last + Seconds{60});
    s.retry_after = last + Seconds{365 * 86400};  // a year: clamped to a day
    CHECK(backoff_until(s) == last + Seconds{86400});
}
