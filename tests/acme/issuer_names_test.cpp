// The issuer holds a CA to the names it was asked for (issue #16, point 6):
// no validation record for a name the order did not request, and no
// certificate stored whose SANs differ from the request.
#include <catch2/catch.hpp>

#include "acme/issuer.hpp"
#include "support/ari_test_support.hpp"

using namespace certfleet;
using namespace certfleet::test::ari;

namespace {

struct Issuance {
    FakeAriCa ca;
    acme::AcmeClient client{ca, "https://ca/dir", fast_options()};
    const core::PrivateKey& key = core::test::cached_key(core::KeyType::EcdsaP256);
    acme::IssueRequest req;

    Issuance() {
        REQUIRE(client.connect());
        client.use_account(key, "https://ca/acct/1");
        req.name = "site";
        req.domains = {"example.org", "*.Example.org"};
        req.reuse_key = key;
    }
};

json pending_authz(const std::string& name, bool wildcard) {
    return {
        {"status", "pending"},
        {"identifier", {{"type", "dns"}, {"value", name}}},
        {"wildcard", wildcard},
        {"challenges", {{{"type", "dns-01"}, {"url", "https://ca/chall/1"}, {"token", "tok"}}}}};
}

}  // namespace

TEST_CASE("an authorization for a name the order did not request is refused", "[acme][issuer]") {
    Issuance f;
    f.ca.post(201,
              {{"status", "pending"},
               {"authorizations", {"https://ca/authz/1"}},
               {"finalize", "https://ca/order/1/finalize"}},
              {{"location", "https://ca/order/1"}});
    f.ca.post(200, pending_authz("victim.example", false));
    f.ca.post(200, pending_authz("victim.example", false));  // looked at again to deactivate it
    f.ca.post(200, {{"status", "deactivated"}});
    bool solver_used = false;
    f.req.solver.record_name = [&](const std::string& name) -> core::Result<std::string> {
        solver_used = true;
        return "_acme-challenge." + name;
    };
    auto issued = acme::issue_certificate(f.client, f.req, nullptr);
    REQUIRE_FALSE(issued);
    CHECK(issued.error().kind == core::ErrorKind::Protocol);
    CHECK_THAT(issued.error().message,
               Catch::Contains("authorization for dns victim.example, which this order did not "
                               "request; nothing was published"));
    CHECK_FALSE(solver_used);
}

TEST_CASE("a certificate whose SANs differ from the request is not accepted", "[acme][issuer]") {
    Issuance f;
    f.req.domains = {"example.org"};
    f.ca.post(201,
              {{"status", "ready"},
               {"authorizations", json::array()},
               {"finalize", "https://ca/order/1/finalize"}},
              {{"location", "https://ca/order/1"}});
    f.ca.post(200, {{"status", "valid"}, {"certificate", "https://ca/cert/1"}});
    f.ca.post(200, {}, {}, make_cert(f.key, 0x0203, kRfcKeyId, "other.example"));
    auto issued = acme::issue_certificate(f.client, f.req, nullptr);
    REQUIRE_FALSE(issued);
    CHECK_THAT(issued.error().message,
               Catch::Contains("the CA's certificate names other.example, not the requested "
                               "example.org; it was not stored"));

    SECTION("names compare without case or a trailing dot") {
        Issuance g;
        g.req.domains = {"Example.ORG."};
        g.ca.post(201,
                  {{"status", "ready"},
                   {"authorizations", json::array()},
                   {"finalize", "https://ca/order/1/finalize"}},
                  {{"location", "https://ca/order/1"}});
        g.ca.post(200, {{"status", "valid"}, {"certificate", "https://ca/cert/1"}});
        g.ca.post(200, {}, {}, make_cert(g.key, 0x0204, kRfcKeyId, "example.org"));
        CHECK(acme::issue_certificate(g.client, g.req, nullptr));
    }
}
