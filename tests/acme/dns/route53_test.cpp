// The route53 provider over real HTTP (libcurl) against a fake Route 53 on
// 127.0.0.1 that implements the API subset certfleet uses as AWS does:
// every request's SigV4 signature is recomputed from the known secret
// (403 SignatureDoesNotMatch otherwise), the zone list is paginated, a
// DELETE must name the current values and TTL exactly (400
// InvalidChangeBatch otherwise), and a change stays PENDING for a few polls.
#include "acme/dns/route53.hpp"

#include <chrono>
#include <deque>
#include <map>
#include <tinyxml2.h>

#include <catch2/catch.hpp>

#include "support/fake_api_server.hpp"
#include "support/fake_route53.hpp"
#include "support/sigv4_verifier.hpp"

using namespace certfleet;
using namespace certfleet::acme::dns;
using certfleet::test::ApiRequest;
using certfleet::test::ApiResponse;
using certfleet::test::FakeApiServer;

using namespace certfleet::test::route53;

namespace {

using Clock = std::chrono::steady_clock;
using certfleet::test::sigv4_check::signature_problem;

void add_zones(FakeRoute53& api) {
    api.zones = {{"Z1EXAMPLE", "example.net.", false, {}},
                 {"Z2EXAMPLE", "example.org.", false, {}},
                 {"Z3EXAMPLE", "corp.example.org.", true, {}},
                 {"Z4EXAMPLE", "sub.example.org.", false, {}},
                 {"Z5EXAMPLE", "internal.test.", true, {}}};
}

Route53Config config_for(const FakeRoute53& api) {
    Route53Config c;
    c.name = "aws";
    c.endpoint = api.url();
    c.access_key_id = kKeyId;
    c.secret_access_key = kSecret;
    c.timeout = core::Seconds(10);
    c.insync_poll = std::chrono::milliseconds(50);
    return c;
}

std::unique_ptr<DnsProvider> provider(const Route53Config& c) {
    auto made = make_route53_provider(c);
    REQUIRE(made);
    return std::move(*made);
}

ChallengeRecord rec(const std::string& fqdn, const std::string& value) {
    return {fqdn, value, "", "", ""};
}

std::vector<std::string> values_at(FakeRoute53& api, const std::string& zone,
                                   const std::string& name) {
    const auto& txt = api.zone(zone).txt;
    const auto found = txt.find(name);
    return found == txt.end() ? std::vector<std::string>{} : found->second.values;
}

bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

double seconds_since(Clock::time_point start) {
    return std::chrono::duration<double>(Clock::now() - start).count();
}

const std::vector<ChallengeRecord> kRecords = {
    rec("_acme-challenge.example.org.", "apex"),
    rec("_acme-challenge.example.org.", "wild"),
    rec("_acme-challenge.www.example.org.", "www"),
    rec("_acme-challenge.a.sub.example.org.", "sub"),
};

}  // namespace

TEST_CASE(
    "route53: one change per zone, every value of a name together, others kept, INSYNC "
    "awaited",
    "[dns][route53]") {
    FakeRoute53 api;
    add_zones(api);
    api.zone("example.org.").txt["_acme-challenge.example.org."] = {300, {"\"theirs\""}};
    auto p = provider(config_for(api));
    REQUIRE(p->present(kRecords));

    CHECK(api.count("GET", kApi + "/hostedzone") == 3);  // 5 zones, 2 a page
    CHECK(api.changes() == 2);                           // example.org. and sub.example.org.
    CHECK(api.count("POST", kApi + "/hostedzone/Z2EXAMPLE/rrset/") == 1);
    CHECK(api.count("POST", kApi + "/hostedzone/Z4EXAMPLE/rrset/") == 1);
    CHECK(values_at(api, "example.org.", "_acme-challenge.example.org.") ==
          std::vector<std::string>{"\"theirs\"", "\"apex\"", "\"wild\""});
    CHECK(values_at(api, "example.org.", "_acme-challenge.www.example.org.") ==
          std::vector<std::string>{"\"www\""});
    CHECK(values_at(api, "sub.example.org.", "_acme-challenge.a.sub.example.org.") ==
          std::vector<std::string>{"\"sub\""});
    // present returned only once both changes were INSYNC.
    REQUIRE(api.polls.size() == 2);
    for (const auto& [id, polls] : api.polls)
        CHECK(polls == api.pending_polls + 1);
    for (const auto& r : api.requests())
        CHECK(r.header("authorization").starts_with("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/"));

    // Present again: every value is there already, no change is sent.
    REQUIRE(p->present(kRecords));
    CHECK(api.changes() == 2);
}

TEST_CASE("route53: clean-up removes only our values and deletes an emptied set exactly",
          "[dns][route53]") {
    FakeRoute53 api;
    add_zones(api);
    api.zone("example.org.").txt["_acme-challenge.example.org."] = {300, {"\"theirs\""}};
    auto p = provider(config_for(api));
    REQUIRE(p->present(kRecords));
    REQUIRE(p->cleanup(kRecords));

    CHECK(api.changes() == 4);
    // The foreign value stays with its set's TTL; the emptied sets are gone
    // (the fake refuses a DELETE that does not carry the exact values and TTL).
    CHECK(api.zone("example.org.").txt.size() == 1);
    CHECK(api.zone("example.org.").txt["_acme-challenge.example.org."].values ==
          std::vector<std::string>{"\"theirs\""});
    CHECK(api.zone("example.org.").txt["_acme-challenge.example.org."].ttl == 60);
    CHECK(api.zone("sub.example.org.").txt.empty());
    CHECK(api.polls.size() == 4);

    // Again (after a crash, or for records never added): nothing to change.
    REQUIRE(p->cleanup(kRecords));
    REQUIRE(p->cleanup({rec("_acme-challenge.example.org.", "never-added")}));
    CHECK(api.changes() == 4);
    CHECK(api.zone("example.org.").txt["_acme-challenge.example.org."].values ==
          std::vector<std::string>{"\"theirs\""});
}

TEST_CASE("route53: the first set Route 53 lists from a name may be another name's",
          "[dns][route53]") {
    FakeRoute53 api;
    add_zones(api);
    api.zone("example.org.").txt["_acme-challenge.www.example.org."] = {60, {"\"w\""}};
    auto p = provider(config_for(api));
    REQUIRE(p->present({rec("_acme-challenge.example.org.", "apex")}));
    CHECK(values_at(api, "example.org.", "_acme-challenge.example.org.") ==
          std::vector<std::string>{"\"apex\""});
    CHECK(values_at(api, "example.org.", "_acme-challenge.www.example.org.") ==
          std::vector<std::string>{"\"w\""});
    REQUIRE(p->cleanup({rec("_acme-challenge.example.org.", "apex")}));
    CHECK(api.zone("example.org.").txt.size() == 1);
}

TEST_CASE(
    "route53: a wrong secret is a configuration error with the IAM policy, nothing sent "
    "after it",
    "[dns][route53]") {
    FakeRoute53 api;
    add_zones(api);
    auto c = config_for(api);
    c.secret_access_key = "wrong/secret+value";
    auto st = provider(c)->present(kRecords);
    REQUIRE_FALSE(st);
    CHECK(st.error().kind == core::ErrorKind::Config);
    CHECK(contains(st.error().message, "route53 aws (" + api.url() +
                                           "): list hosted zones: "
                                           "HTTP 403: SignatureDoesNotMatch"));
    for (const char* permission :
         {"route53:ListHostedZones", "route53:ListResourceRecordSets",
          "route53:ChangeResourceRecordSets", "arn:aws:route53:::hostedzone/",
          "route53:GetChange on arn:aws:route53:::change/*"})
        CHECK(contains(st.error().hint, permission));
    CHECK_FALSE(contains(st.error().describe(), "wrong/secret+value"));
    CHECK(api.requests().size() == 1);
    CHECK(api.changes() == 0);

    // With hosted_zone_id the hint names the zone's ARN.
    c.hosted_zone_id = "/hostedzone/Z2EXAMPLE";
    st = provider(c)->cleanup(kRecords);
    REQUIRE_FALSE(st);
    CHECK(contains(st.error().hint, "arn:aws:route53:::hostedzone/Z2EXAMPLE"));
    CHECK(api.changes() == 0);
}

TEST_CASE("route53: hosted_zone_id skips the zone list", "[dns][route53]") {
    FakeRoute53 api;
    add_zones(api);
    auto c = config_for(api);
    c.hosted_zone_id = "Z2EXAMPLE";
    auto p = provider(c);
    REQUIRE(p->present({rec("_acme-challenge.example.org.", "apex")}));
    CHECK(api.count("GET", kApi + "/hostedzone") == 0);
    CHECK(values_at(api, "example.org.", "_acme-challenge.example.org.") ==
          std::vector<std::string>{"\"apex\""});
    REQUIRE(p->cleanup({rec("_acme-challenge.example.org.", "apex")}));
    CHECK(api.zone("example.org.").txt.empty());
}

TEST_CASE("route53: names in no public zone are named; private zones are skipped",
          "[dns][route53]") {
    FakeRoute53 api;
    add_zones(api);
    auto p = provider(config_for(api));
    auto st = p->present({rec("_acme-challenge.example.org.", "v"),
                          rec("_acme-challenge.host.internal.test.", "v")});
    REQUIRE_FALSE(st);
    CHECK(st.error().kind == core::ErrorKind::Dns);
    CHECK(contains(st.error().message,
                   "no public hosted zone holds _acme-challenge.host.internal.test. (zones: "
                   "example.net., example.org., corp.example.org., sub.example.org., "
                   "internal.test.)"));
    CHECK(api.changes() == 0);

    // Under the private corp.example.org.: the public example.org. takes it.
    REQUIRE(p->present({rec("_acme-challenge.corp.example.org.", "v")}));
    CHECK(values_at(api, "example.org.", "_acme-challenge.corp.example.org.") ==
          std::vector<std::string>{"\"v\""});
    CHECK(api.zone("corp.example.org.").txt.empty());
}

TEST_CASE("route53: throttling and busy answers are tried again, boundedly", "[dns][route53]") {
    FakeRoute53 api;
    add_zones(api);
    auto p = provider(config_for(api));

    SECTION("Throttling once, PriorRequestNotComplete once, then fine") {
        api.faults["GET"] = {aws_error(400, "Throttling", "Rate exceeded", {"Retry-After: 1"})};
        api.faults["POST"] = {aws_error(400, "PriorRequestNotComplete",
                                        "The request was rejected because Route 53 was still "
                                        "processing a prior request.")};
        const auto start = Clock::now();
        REQUIRE(p->present({rec("_acme-challenge.example.org.", "v")}));
        CHECK(seconds_since(start) >= 1.5);  // Retry-After 1 s, then 500 ms
        CHECK(api.changes() == 2);           // the refused one and the applied one
        CHECK(api.polls.size() == 1);
    }
    SECTION("Throttling forever: rate limited within the timeout, with a time to come back") {
        for (int i = 0; i < 10; ++i)
            api.faults["GET"].push_back(aws_error(400, "Throttling", "Rate exceeded"));
        auto c = config_for(api);
        c.timeout = core::Seconds(1);  // room for one pause of 500 ms, not for the next of 1 s
        const auto start = Clock::now();
        auto st = provider(c)->present({rec("_acme-challenge.example.org.", "v")});
        REQUIRE_FALSE(st);
        CHECK(st.error().kind == core::ErrorKind::RateLimited);
        REQUIRE(st.error().retry_after_seconds);
        CHECK(*st.error().retry_after_seconds == 2);  // no Retry-After: a fixed short wait
        CHECK(api.requests().size() == 2);
        CHECK(seconds_since(start) < 1.0);
    }
    SECTION("503 forever: three tries, then the error") {
        for (int i = 0; i < 10; ++i)
            api.faults["GET"].push_back({503, "<html>Service Unavailable</html>", {}, "text/html"});
        const auto start = Clock::now();
        auto st = p->present({rec("_acme-challenge.example.org.", "v")});
        REQUIRE_FALSE(st);
        CHECK(st.error().kind == core::ErrorKind::Dns);
        CHECK(contains(st.error().message, "HTTP 503"));
        CHECK(api.requests().size() == 3);
        CHECK(seconds_since(start) < 3.0);
        CHECK(api.changes() == 0);
    }
}

TEST_CASE("route53: a change never INSYNC times out naming the change", "[dns][route53]") {
    FakeRoute53 api;
    add_zones(api);
    api.never_insync = true;
    auto c = config_for(api);
    c.timeout = core::Seconds(1);
    const auto start = Clock::now();
    auto st = provider(c)->present({rec("_acme-challenge.example.org.", "v")});
    REQUIRE_FALSE(st);
    CHECK(st.error().kind == core::ErrorKind::Timeout);
    CHECK(contains(st.error().message,
                   "change C1EXAMPLE to zone example.org. (Z2EXAMPLE) not "
                   "INSYNC within 1 s (last status PENDING)"));
    CHECK(seconds_since(start) < 1.5);
    CHECK(api.polls["C1EXAMPLE"] >= 5);
}

TEST_CASE("route53: a session token is sent and signed", "[dns][route53]") {
    FakeRoute53 api;
    add_zones(api);
    api.session_token = "FwoGZXIvYXdzEXAMPLE/token+value=";
    auto c = config_for(api);
    c.session_token = api.session_token;
    REQUIRE(provider(c)->present({rec("_acme-challenge.example.org.", "v")}));
    for (const auto& r : api.requests()) {
        CHECK(r.header("x-amz-security-token") == api.session_token);
        CHECK(contains(r.header("authorization"), "x-amz-security-token"));
    }

    c.session_token.clear();
    auto st = provider(c)->present({rec("_acme-challenge.example.org.", "v")});
    REQUIRE_FALSE(st);
    CHECK(st.error().kind == core::ErrorKind::Config);
    CHECK(contains(st.error().message, "InvalidClientTokenId"));
}

TEST_CASE("route53: garbage and refused change batches", "[dns][route53]") {
    FakeRoute53 api;
    add_zones(api);
    auto p = provider(config_for(api));

    api.faults["GET"] = {{200, "<html>not the API", {}, "text/html"}};
    auto st = p->present({rec("_acme-challenge.example.org.", "v")});
    REQUIRE_FALSE(st);
    CHECK(st.error().kind == core::ErrorKind::Protocol);
    CHECK(contains(st.error().message, "list hosted zones: the answer is not XML"));

    api.faults["POST"] = {xml(200, "<ChangeResourceRecordSetsResponse/>")};
    st = p->present({rec("_acme-challenge.example.org.", "v")});
    REQUIRE_FALSE(st);
    CHECK(st.error().kind == core::ErrorKind::Protocol);
    CHECK(contains(st.error().message, "no <ChangeInfo>"));

    api.faults["POST"] = {xml(200,
                              "<R><ChangeInfo><Id>/change/../../x</Id><Status>PENDING"
                              "</Status></ChangeInfo></R>")};
    st = p->present({rec("_acme-challenge.example.org.", "v")});
    REQUIRE_FALSE(st);
    CHECK(st.error().kind == core::ErrorKind::Protocol);

    // A DELETE that no longer matches (someone changed the set meanwhile).
    api.faults["POST"] = {xml(400,
                              "<InvalidChangeBatch><Messages><Message>Tried to delete "
                              "resource record set [name='_acme-challenge.example.org.', "
                              "type='TXT'] but it was not found</Message></Messages>"
                              "</InvalidChangeBatch>")};
    st = p->present({rec("_acme-challenge.example.org.", "v")});
    REQUIRE_FALSE(st);
    CHECK(st.error().kind == core::ErrorKind::Dns);
    CHECK(contains(st.error().message,
                   "HTTP 400: InvalidChangeBatch: Tried to delete resource record set"));
}

TEST_CASE("route53: the API's words come back without the secret", "[dns][route53]") {
    FakeRoute53 api;
    add_zones(api);
    api.secret = "secret";  // also inside the "[secret]" that replaces it
    auto c = config_for(api);
    c.secret_access_key = "secret";
    api.faults["GET"] = {aws_error(400, "InvalidInput", "bad: secret, secretsecret")};
    auto st = provider(c)->present({rec("_acme-challenge.example.org.", "v")});
    REQUIRE_FALSE(st);
    CHECK(st.error().kind == core::ErrorKind::Dns);
    CHECK(contains(st.error().message, "HTTP 400: InvalidInput: bad: [secret], [secret][secret]"));
}

TEST_CASE("route53: check_access lists the zones once", "[dns][route53]") {
    FakeRoute53 api;
    add_zones(api);
    auto c = config_for(api);
    auto check = provider(c)->check_access(
        {rec("_acme-challenge.www.example.org.", ""), rec("_acme-challenge.example.com.", "")});
    REQUIRE(check);
    CHECK(check->checked);
    REQUIRE(check->notes.size() == 1);
    CHECK(check->notes[0] ==
          "zone example.org. (Z2EXAMPLE) visible for _acme-challenge.www.example.org.");
    REQUIRE(check->problems.size() == 1);
    CHECK(contains(check->problems[0], "no public hosted zone holds _acme-challenge.example.com."));
    for (const auto& r : api.requests())
        CHECK((r.method == "GET" && r.path == kApi + "/hostedzone"));

    c.secret_access_key = "not-the-secret";
    auto refused = provider(c)->check_access({rec("_acme-challenge.example.org.", "")});
    REQUIRE_FALSE(refused);
    CHECK(refused.error().kind == core::ErrorKind::Config);
    CHECK(contains(refused.error().hint, "route53:ListHostedZones"));
    CHECK_FALSE(contains(refused.error().describe(), "not-the-secret"));

    c.secret_access_key = kSecret;
    c.hosted_zone_id = "Z4EXAMPLE";
    check = provider(c)->check_access({rec("_acme-challenge.a.sub.example.org.", "")});
    REQUIRE(check);
    CHECK(check->notes ==
          std::vector<std::string>{"hosted zone Z4EXAMPLE (hosted_zone_id) readable for "
                                   "_acme-challenge.a.sub.example.org."});
}

TEST_CASE("route53: settings are checked offline", "[dns][route53]") {
    Route53Config c;
    c.name = "aws";
    c.access_key_id = "AKIAEXAMPLE";
    c.secret_access_key = "very/secret";
    CHECK(make_route53_provider(c));
    c.hosted_zone_id = "/hostedzone/Z123";
    CHECK(make_route53_provider(c));

    auto broken = [&](auto change) {
        Route53Config b = c;
        change(b);
        auto made = make_route53_provider(b);
        REQUIRE_FALSE(made);
        CHECK(made.error().kind == core::ErrorKind::Config);
        CHECK_FALSE(contains(made.error().describe(), "very/secret"));
        return made.error().message;
    };
    CHECK(contains(broken([](auto& b) { b.endpoint = "route53.amazonaws.com"; }), "endpoint"));
    CHECK(contains(broken([](auto& b) { b.access_key_id = ""; }), "access key id is empty"));
    CHECK(
        contains(broken([](auto& b) { b.secret_access_key = ""; }), "secret access key is empty"));
    CHECK(contains(broken([](auto& b) { b.secret_access_key = "very/secret\n"; }),
                   "control character"));
    CHECK(contains(broken([](auto& b) { b.region = "us east"; }), "region"));
    CHECK(contains(broken([](auto& b) { b.hosted_zone_id = "Z1/../x"; }), "hosted_zone_id"));
}
