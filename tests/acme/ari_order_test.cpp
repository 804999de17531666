// ACME Renewal Information (RFC 9773) in orders: `replaces` in the newOrder
// payload and its retry without, and ACME profiles checked against the
// directory before any order.
#include <catch2/catch.hpp>

#include "acme/issuer.hpp"
#include "support/ari_test_support.hpp"

using namespace certfleet;
using namespace certfleet::test::ari;

namespace {

// An order that is ready at once (authorizations reused), then finalized and
// downloaded: enough to see what newOrder carried.
void script_ready_order(FakeAriCa& ca, const std::string& cert_pem) {
    ca.post(201,
            {{"status", "ready"},
             {"identifiers", {{{"type", "dns"}, {"value", "example.org"}}}},
             {"authorizations", json::array()},
             {"finalize", "https://ca/order/1/finalize"}},
            {{"location", "https://ca/order/1"}});
    ca.post(200, {{"status", "valid"}, {"certificate", "https://ca/cert/1"}});
    ca.post(200, {}, {}, cert_pem);
}

struct Issuance {
    FakeAriCa ca;
    acme::AcmeClient client{ca, "https://ca/dir", fast_options()};
    const core::PrivateKey& key = core::test::cached_key(core::KeyType::EcdsaP256);
    std::string renewed = make_cert(key, 0x0203, kRfcKeyId);
    acme::IssueRequest req;

    void connect() {
        REQUIRE(client.connect());
        client.use_account(key, "https://ca/acct/1");
        req.name = "site";
        req.domains = {"example.org"};
        req.reuse_key = key;
    }
};

}  // namespace

TEST_CASE("newOrder carries replaces when renewing, not for a first issuance", "[ari]") {
    Issuance f;
    f.connect();
    const std::string current = make_cert(f.key, 0x87654321, kRfcKeyId);

    SECTION("renewal of a certificate with an ARI identifier") {
        f.req.replaces = acme::replaces_id(f.client, current);
        CHECK(f.req.replaces == kRfcCertId);
        script_ready_order(f.ca, f.renewed);
        REQUIRE(acme::issue_certificate(f.client, f.req, nullptr));
        auto payloads = f.ca.order_payloads();
        REQUIRE(payloads.size() == 1);
        CHECK(payloads[0]["replaces"] == kRfcCertId);
    }
    SECTION("first issuance") {
        f.req.replaces = acme::replaces_id(f.client, "");
        CHECK(f.req.replaces.empty());
        script_ready_order(f.ca, f.renewed);
        REQUIRE(acme::issue_certificate(f.client, f.req, nullptr));
        auto payloads = f.ca.order_payloads();
        REQUIRE(payloads.size() == 1);
        CHECK_FALSE(payloads[0].contains("replaces"));
    }
    SECTION("alreadyReplaced: one more order without replaces") {
        f.req.replaces = kRfcCertId;
        f.ca.post(409, {{"type", "urn:ietf:params:acme:error:alreadyReplaced"},
                        {"detail", "certificate already replaced"}});
        script_ready_order(f.ca, f.renewed);
        REQUIRE(acme::issue_certificate(f.client, f.req, nullptr));
        auto payloads = f.ca.order_payloads();
        REQUIRE(payloads.size() == 2);
        CHECK(payloads[0]["replaces"] == kRfcCertId);
        CHECK_FALSE(payloads[1].contains("replaces"));
    }
    SECTION("other order errors are not retried") {
        f.req.replaces = kRfcCertId;
        f.ca.post(400, {{"type", "urn:ietf:params:acme:error:rejectedIdentifier"},
                        {"detail", "forbidden name"}});
        REQUIRE_FALSE(acme::issue_certificate(f.client, f.req, nullptr));
        CHECK(f.ca.order_payloads().size() == 1);
    }
}

TEST_CASE("no replaces for a CA without renewalInfo", "[ari]") {
    Issuance f;
    f.ca.directory.erase("renewalInfo");
    f.connect();
    CHECK(acme::replaces_id(f.client, make_cert(f.key, 0x87654321, kRfcKeyId)).empty());
    CHECK(acme::refused_replaces(core::make_error(core::ErrorKind::Acme, "x")) == false);
}

TEST_CASE("a profile the CA does not offer fails before any order, naming the offered ones",
          "[ari]") {
    Issuance f;
    f.ca.directory["meta"] = {{"profiles", {{"classic", "90 days"}, {"tlsserver", "short"}}}};
    f.connect();
    auto r = f.client.new_order({"example.org"}, "shortlived", "");
    REQUIRE_FALSE(r);
    CHECK(r.error().kind == core::ErrorKind::Config);
    CHECK_THAT(r.error().message, Catch::Contains("\"shortlived\""));
    CHECK_THAT(r.error().message, Catch::Contains("classic, tlsserver"));
    CHECK(f.ca.requests.empty());  // not even a nonce

    f.req.profile = "tlsserver";
    script_ready_order(f.ca, f.renewed);
    REQUIRE(acme::issue_certificate(f.client, f.req, nullptr));
    CHECK(f.ca.order_payloads().at(0)["profile"] == "tlsserver");

    // A CA that lists no profiles gets whatever is configured.
    Issuance g;
    g.connect();
    g.req.profile = "anything";
    script_ready_order(g.ca, g.renewed);
    CHECK(acme::issue_certificate(g.client, g.req, nullptr));
}
