// ACME Renewal Information (RFC 9773) without a network: the certificate
// identifier, renewalInfo polling against a scripted fake CA, the random
// moment kept per (serial, window) and the polling intervals.
#include <catch2/catch.hpp>

#include "renewal/policy.hpp"
#include "support/ari_test_support.hpp"

using namespace certfleet;
using namespace certfleet::test::ari;
using core::Seconds;
using core::TimePoint;
using inventory::Policy;
using renewal::AriAnswer;
using state::AriRecord;

namespace {

const std::string kWindow =
    R"({"suggestedWindow":{"start":"2026-03-01T00:00:00Z","end":"2026-03-03T00:00:00Z"},
        "explanationURL":"https://ca.example/why"})";

// Draws that replay `values` in order.
renewal::UniformDraw draws(std::vector<double> values) {
    auto queue = std::make_shared<std::deque<double>>(values.begin(), values.end());
    return [queue] {
        REQUIRE_FALSE(queue->empty());
        double v = queue->front();
        queue->pop_front();
        return v;
    };
}

AriAnswer answer(const char* start, const char* end, long retry_after = 6 * 3600) {
    return {{at(start), at(end)}, Seconds{retry_after}, ""};
}

state::StoredVersion stored(const std::string& serial) {
    state::StoredVersion v;
    v.name = "site";
    v.info.serial_hex = serial;
    v.info.not_before = at("2026-01-01T00:00:00Z");
    v.info.not_after = at("2026-04-01T00:00:00Z");
    v.info.dns_names = {"example.org"};
    return v;
}

inventory::CertificateSpec spec() {
    inventory::CertificateSpec s;
    s.name = "site";
    s.domains = {"example.org"};
    return s;
}

}  // namespace

TEST_CASE("ARI certificate identifier: RFC 9773 §4.1 example", "[ari]") {
    CHECK(core::ari_cert_id(kRfcKeyId, std::string("\x00\x87\x65\x43\x21", 5)) == kRfcCertId);

    const auto& key = core::test::cached_key(core::KeyType::EcdsaP256);
    auto id = core::ari_cert_id(make_cert(key, 0x87654321, kRfcKeyId));
    REQUIRE(id);
    CHECK(*id == kRfcCertId);
    // No leading zero when the high bit is clear.
    auto small = core::ari_cert_id(make_cert(key, 0x0102, kRfcKeyId));
    REQUIRE(small);
    CHECK(small->substr(small->find('.') + 1) == "AQI");
    // Without an Authority Key Identifier there is nothing the CA could look up.
    auto none = core::ari_cert_id(make_cert(key, 7, ""));
    REQUIRE_FALSE(none);
    CHECK_THAT(none.error().message, Catch::Contains("Authority Key Identifier"));
}

TEST_CASE("renewalInfo: window, explanation and Retry-After, unauthenticated", "[ari]") {
    FakeAriCa ca;
    acme::AcmeClient client(ca, "https://ca/dir", fast_options());
    REQUIRE(client.connect());

    ca.ari(200, kWindow, {{"retry-after", "21600"}});
    auto info = client.renewal_info(kRfcCertId);
    REQUIRE(info);
    CHECK(info->window_start == at("2026-03-01T00:00:00Z"));
    CHECK(info->window_end == at("2026-03-03T00:00:00Z"));
    CHECK(info->explanation_url == "https://ca.example/why");
    CHECK(info->retry_after == Seconds{21600});
    REQUIRE(ca.requests.size() == 1);  // one GET: no nonce, no JWS
    CHECK(ca.requests[0].method == "GET");
    CHECK(ca.requests[0].url == "https://ca/ari/" + kRfcCertId);

    SECTION("missing Retry-After: 6 hours") {
        ca.ari(200, kWindow);
        CHECK(client.renewal_info(kRfcCertId)->retry_after == Seconds{6 * 3600});
    }
    SECTION("huge Retry-After is clamped to a day, tiny ones to a minute") {
        ca.ari(200, kWindow, {{"retry-after", "31536000"}});
        CHECK(client.renewal_info(kRfcCertId)->retry_after == Seconds{kDay});
        ca.ari(200, kWindow, {{"retry-after", "1"}});
        CHECK(client.renewal_info(kRfcCertId)->retry_after == Seconds{60});
    }
    SECTION("server faults are retried like any request") {
        ca.ari(503, "{}");
        ca.ari(200, kWindow);
        CHECK(client.renewal_info(kRfcCertId));
        CHECK(ca.requests.size() == 3);
    }
}

TEST_CASE("renewalInfo: malformed answers, 404 and a CA without ARI are errors", "[ari]") {
    FakeAriCa ca;
    acme::AcmeClient client(ca, "https://ca/dir", fast_options());
    REQUIRE(client.connect());
    const char* bad[] = {
        R"({"suggestedWindow":{"start":"2026-03-03T00:00:00Z","end":"2026-03-01T00:00:00Z"}})",
        R"({"suggestedWindow":{"start":"2026-03-01T00:00:00Z","end":"2026-03-01T00:00:00Z"}})",
        R"({"suggestedWindow":{"start":"2026-03-01T00:00:00Z"}})",
        R"({"explanationURL":"https://ca.example/why"})",
        R"({"suggestedWindow":{"start":"yesterday","end":"tomorrow"}})",
        "<html>not json"};
    for (const char* body : bad) {
        INFO(body);
        ca.ari(200, body);
        auto r = client.renewal_info(kRfcCertId);
        REQUIRE_FALSE(r);
        CHECK(r.error().kind == core::ErrorKind::Protocol);
        CHECK_THAT(r.error().message, Catch::Contains(kRfcCertId));
    }
    ca.ari(404, R"({"type":"urn:ietf:params:acme:error:malformed","detail":"no such cert"})");
    auto missing = client.renewal_info(kRfcCertId);
    REQUIRE_FALSE(missing);
    CHECK_THAT(missing.error().message, Catch::Contains("no such cert"));

    FakeAriCa plain;
    plain.directory.erase("renewalInfo");
    acme::AcmeClient no_ari(plain, "https://ca/dir", fast_options());
    REQUIRE(no_ari.connect());
    auto r = no_ari.renewal_info(kRfcCertId);
    REQUIRE_FALSE(r);
    CHECK_THAT(r.error().message, Catch::Contains("does not offer"));
    CHECK(plain.requests.empty());
}

TEST_CASE("ARI: a uniform moment in [start, end), kept while the window stays", "[ari]") {
    const TimePoint now = at("2026-02-01T00:00:00Z");
    const auto a = answer("2026-03-01T00:00:00Z", "2026-03-03T00:00:00Z");
    auto first = renewal::update_ari(std::nullopt, "site", "4f20", a, now, draws({0.0}));
    CHECK(first.chosen_at == a.window.start);
    CHECK(first.next_poll == now + Seconds{6 * 3600});
    CHECK(renewal::update_ari(std::nullopt, "site", "4f20", a, now, draws({0.5})).chosen_at ==
          at("2026-03-02T00:00:00Z"));
    auto late = renewal::update_ari(std::nullopt, "site", "4f20", a, now, draws({0.999}));
    CHECK(late.chosen_at < a.window.end);
    CHECK(late.chosen_at > a.window.end - Seconds{200});
    // Even a draw of exactly 1.0 stays inside.
    CHECK(renewal::update_ari(std::nullopt, "site", "4f20", a, now, draws({1.0})).chosen_at ==
          a.window.end - Seconds{1});

    // Polled again, same window: the moment stays (no draw at all), the poll moves.
    auto mid = renewal::update_ari(std::nullopt, "site", "4f20", a, now, draws({0.25}));
    auto again = renewal::update_ari(mid, "site", "4f20", a, now + Seconds{7 * 3600}, draws({}));
    CHECK(again.chosen_at == mid.chosen_at);
    CHECK(again.next_poll == now + Seconds{13 * 3600});
    // status and issue read the same record and agree.
    CHECK(renewal::decide_renewal(spec(), stored("4f20"), "", Policy{}, now, again).renew_at ==
          mid.chosen_at);
}

TEST_CASE("ARI: a new window or a new serial draws again", "[ari]") {
    const TimePoint now = at("2026-02-01T00:00:00Z");
    const auto a = answer("2026-03-01T00:00:00Z", "2026-03-03T00:00:00Z");
    auto rec = renewal::update_ari(std::nullopt, "site", "4f20", a, now, draws({0.5}));
    // The CA moved the window earlier (e.g. before a mass revocation).
    const auto moved = answer("2026-02-02T00:00:00Z", "2026-02-03T00:00:00Z");
    auto re = renewal::update_ari(rec, "site", "4f20", moved, now, draws({0.5}));
    CHECK(re.chosen_at == at("2026-02-02T12:00:00Z"));
    CHECK(re.window_start == moved.window.start);
    // Only the end changed: still a different window.
    const auto widened = answer("2026-03-01T00:00:00Z", "2026-03-05T00:00:00Z");
    CHECK(renewal::update_ari(rec, "site", "4f20", widened, now, draws({0.0})).chosen_at ==
          widened.window.start);
    // Same window, another certificate: a fresh draw.
    CHECK(renewal::update_ari(rec, "site", "9a9a", a, now, draws({0.0})).chosen_at ==
          a.window.start);
}

TEST_CASE("ARI: no poll before next_poll; failures keep the last window", "[ari]") {
    const TimePoint now = at("2026-02-01T00:00:00Z");
    CHECK(renewal::ari_poll_due(std::nullopt, "4f20", now));
    auto rec = renewal::update_ari(std::nullopt, "site", "4f20",
                                   answer("2026-03-01T00:00:00Z", "2026-03-03T00:00:00Z", 3600),
                                   now, draws({0.5}));
    CHECK_FALSE(renewal::ari_poll_due(rec, "4f20", now));
    CHECK_FALSE(renewal::ari_poll_due(rec, "4f20", now + Seconds{3599}));
    CHECK(renewal::ari_poll_due(rec, "4f20", now + Seconds{3600}));
    CHECK(renewal::ari_poll_due(rec, "beef", now));  // renewed since: ask about the new one

    // A failed poll keeps the window the CA sent last and only moves the poll.
    auto kept = renewal::ari_unavailable(rec, "site", "4f20", now + Seconds{7200});
    CHECK(kept.chosen_at == rec.chosen_at);
    CHECK(renewal::ari_has_window(kept));
    CHECK(kept.next_poll == now + Seconds{7200});
    // Nothing known (or a CA without ARI): a record without a window → lifetime rule.
    auto marker = renewal::ari_unavailable(std::nullopt, "site", "4f20", now + Seconds{7200});
    CHECK_FALSE(renewal::ari_has_window(marker));
    CHECK_FALSE(renewal::ari_poll_due(marker, "4f20", now));
    auto d = renewal::decide_renewal(spec(), stored("4f20"), "", Policy{}, now, marker);
    CHECK_FALSE(d.from_ari);
    CHECK(d.renew_at == at("2026-03-02T00:00:00Z"));  // two thirds of 90 days
}

TEST_CASE("ARI: a window already over means renew now; explicit renew_before ignores ARI",
          "[ari]") {
    const TimePoint now = at("2026-02-10T00:00:00Z");
    auto rec = renewal::update_ari(std::nullopt, "site", "4f20",
                                   answer("2026-02-05T00:00:00Z", "2026-02-06T00:00:00Z"), now,
                                   draws({0.5}));
    auto d = renewal::decide_renewal(spec(), stored("4f20"), "", Policy{}, now, rec);
    CHECK(d.due);
    CHECK(d.from_ari);
    CHECK_THAT(d.reason, Catch::StartsWith("ARI window ended at 2026-02-06T00:00:00Z"));

    rec.explanation_url = "https://ca.example/incident";
    CHECK_THAT(renewal::decide_renewal(spec(), stored("4f20"), "", Policy{}, now, rec).reason,
               Catch::EndsWith("CA explanation: https://ca.example/incident"));

    Policy fixed;
    fixed.renew_before = Seconds{20 * kDay};
    auto e = renewal::decide_renewal(spec(), stored("4f20"), "", fixed, now, rec);
    CHECK_FALSE(e.due);
    CHECK_FALSE(e.from_ari);
    CHECK(e.renew_at == at("2026-03-12T00:00:00Z"));
    CHECK(renewal::renewal_time(stored("4f20").info, fixed, rec) == e.renew_at);
    // Changes are due at once whatever ARI says.
    auto changed = spec();
    changed.domains.push_back("www.example.org");
    auto c = renewal::decide_renewal(changed, stored("4f20"), "", Policy{}, now, rec);
    CHECK(c.basis == renewal::RenewalBasis::Changed);
}
