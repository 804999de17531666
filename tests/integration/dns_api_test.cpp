// Hosted DNS APIs end to end: the real certfleet binary, the lab's pebble and
// PowerDNS, and a local stand-in of the hosted API (Cloudflare, acme-dns)
// that checks its credentials as the real service does and publishes what it
// is told into the lab's PowerDNS, so pebble really validates it. The
// stand-ins' edge cases (pagination, 429, 5xx, garbage) are the unit tests'
// (tests/acme/dns/cloudflare_test.cpp, acme_dns_test.cpp); here the whole
// path is: inventory → provider → API → DNS → CA → store.
#include <map>
#include <sys/stat.h>
#include <tinyxml2.h>

#include <catch2/catch.hpp>

#include "core/crypto.hpp"
#include "issue_support.hpp"
#include "pdns_support.hpp"
#include "support/fake_api_server.hpp"
#include "support/sigv4_verifier.hpp"

using namespace certfleet;
using namespace certfleet::testing;
using certfleet::test::ApiRequest;
using certfleet::test::ApiResponse;
using certfleet::test::FakeApiServer;
using nlohmann::json;

namespace {

const char* const kCloudflareToken = "cf-token-5be1d6e0a7";

ApiResponse cloudflare_ok(const json& result) {
    return {200, json{{"success", true},
                      {"errors", json::array()},
                      {"result", result},
                      {"result_info", {{"page", 1}, {"per_page", 50}, {"total_pages", 1}}}}
                     .dump()};
}

// Cloudflare's API v4 for one zone (pdns.example.net, id "z1"): the bearer
// token checked exactly; TXT records live in the lab's PowerDNS.
class CloudflareStandIn {
public:
    CloudflareStandIn() : m_server([this](const ApiRequest& r) { return handle(r); }) {}
    std::string api_url() const { return m_server.url("/client/v4"); }
    std::size_t writes() const { return m_server.count("POST") + m_server.count("DELETE"); }

private:
    ApiResponse handle(const ApiRequest& r) {
        if (r.header("authorization") != std::string("Bearer ") + kCloudflareToken)
            return {
                403,
                R"({"success":false,"errors":[{"code":10000,"message":"Authentication error"}]})"};
        const std::string records = "/client/v4/zones/z1/dns_records";
        if (r.method == "GET" && r.path == "/client/v4/zones")
            return cloudflare_ok(json::array({{{"id", "z1"}, {"name", "pdns.example.net"}}}));
        if (r.method == "GET" && r.path == records)
            return cloudflare_ok(list(r.param("name")));
        if (r.method == "POST" && r.path == records) {
            const auto body = json::parse(r.body);
            const std::string name = body["name"].get<std::string>() + ".";
            auto values = m_pdns.txt(name);
            values.push_back(body["content"]);
            if (!m_pdns.set_txt(name, values))
                return {500, R"({"success":false,"errors":[{"code":1,"message":"PowerDNS"}]})"};
            return cloudflare_ok({{"id", id_of(name, body["content"])}});
        }
        if (r.method == "DELETE" && r.path.starts_with(records + "/")) {
            const auto it = m_ids.find(r.path.substr(records.size() + 1));
            if (it == m_ids.end())
                return {
                    404,
                    R"({"success":false,"errors":[{"code":81044,"message":"Record does not exist."}]})"};
            auto values = m_pdns.txt(it->second.first);
            std::erase(values, it->second.second);
            if (!m_pdns.set_txt(it->second.first, values))
                return {500, R"({"success":false,"errors":[{"code":1,"message":"PowerDNS"}]})"};
            return cloudflare_ok({{"id", it->first}});
        }
        return {404, R"({"success":false,"errors":[{"code":7003,"message":"No route"}]})"};
    }

    json list(const std::string& name) {
        json out = json::array();
        for (const auto& value : m_pdns.txt(name + "."))
            out.push_back({{"id", id_of(name + ".", value)},
                           {"type", "TXT"},
                           {"name", name},
                           {"content", value}});
        return out;
    }

    std::string id_of(const std::string& name, const std::string& value) {
        for (const auto& [id, record] : m_ids)
            if (record == std::pair(name, value))
                return id;
        const std::string id = "rec" + std::to_string(m_ids.size() + 1);
        m_ids[id] = {name, value};
        return id;
    }

    PdnsApi m_pdns;
    std::map<std::string, std::pair<std::string, std::string>> m_ids;  // id → name, value
    FakeApiServer m_server;  // last: its threads stop before the state they use goes
};

TestInventory api_inventory(const std::string& prefix, const std::string& label,
                            const json& provider) {
    const Lab& lab = Lab::get();
    const std::string zone = lab.value("LAB_PDNS_ZONE");
    return write_inventory(
        prefix,
        {{label, {{"domains", {label + "." + zone, "*." + label + "." + zone}}, {"dns", "api"}}}},
        [&](json& inv) {
            inv["dns"]["providers"]["api"] = provider;
            inv["dns"]["nameservers"] = {lab.value("LAB_PDNS")};
        });
}

}  // namespace

TEST_CASE(
    "cloudflare: issuance through the Cloudflare API, apex and wildcard; a wrong token "
    "writes nothing",
    "[issue][cloudflare]") {
    CloudflareStandIn cloudflare;
    auto dir = make_temp_dir("cf-tokens");
    write_file(dir + "/good.token", kCloudflareToken, 0600);
    write_file(dir + "/wrong.token", "not-the-token", 0600);
    const std::string challenge = "_acme-challenge.cf." + Lab::get().value("LAB_PDNS_ZONE") + ".";

    auto wrong = api_inventory("cf-wrong", "cfw",
                               {{"type", "cloudflare"},
                                {"api_url", cloudflare.api_url()},
                                {"api_token_file", dir + "/wrong.token"}});
    auto r = run_certfleet(cf_args(wrong, {"--json", "issue"}));
    INFO(r.err);
    CHECK(r.exit_code == 2);
    const auto failed = json::parse(r.out)["certificates"][0];
    CHECK(failed["action"] == "failed");
    CHECK_THAT(failed["error"].get<std::string>(), Catch::Contains("code 10000"));
    CHECK_THAT(failed["hint"].get<std::string>(), Catch::Contains("DNS"));
    CHECK_THAT(r.out + r.err, !Catch::Contains("not-the-token"));
    CHECK(cloudflare.writes() == 0);

    auto t = api_inventory("cf-issue", "cf",
                           {{"type", "cloudflare"},
                            {"api_url", cloudflare.api_url()},
                            {"api_token_file", dir + "/good.token"}});
    r = run_certfleet(cf_args(t, {"--json", "issue"}));
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    CHECK(json::parse(r.out)["certificates"][0]["action"] == "issued");
    auto info = core::parse_certificate_pem(read_file(t.state_dir + "/certificates/cf/cert.pem"));
    REQUIRE(info);
    CHECK(info->dns_names.size() == 2);
    CHECK(cloudflare.writes() == 4);  // two values in, the same two out
    CHECK(PdnsApi().txt(challenge).empty());
    CHECK_THAT(r.out + r.err, !Catch::Contains(kCloudflareToken));
}

namespace {

// acme-dns: /register hands out one account, /update checks it and keeps the
// two newest values of its subdomain, which live in the lab's PowerDNS.
class AcmeDnsStandIn {
public:
    AcmeDnsStandIn() : m_server([this](const ApiRequest& r) { return handle(r); }) {}
    std::string api_url() const { return m_server.url(); }
    std::string fulldomain() const { return kSubdomain + std::string(".") + zone(); }
    std::size_t registrations() const { return m_server.count("POST", "/register"); }
    std::size_t updates() const { return m_server.count("POST", "/update"); }

private:
    static constexpr const char* kSubdomain = "1b6c3f2e-43a5-4f0e-9d55-1c2bd0c1e7aa";
    static constexpr const char* kPassword = "acmedns-secret-0123456789abcdefghijklmnop";
    static std::string zone() { return Lab::get().value("LAB_PDNS_ZONE"); }

    ApiResponse handle(const ApiRequest& r) {
        if (r.method == "GET" && r.path == "/health")
            return {200, ""};
        if (r.method == "POST" && r.path == "/register")
            return {201, json{{"username", "user-1"},
                              {"password", kPassword},
                              {"fulldomain", fulldomain()},
                              {"subdomain", kSubdomain},
                              {"allowfrom", json::array()}}
                             .dump()};
        if (r.method == "POST" && r.path == "/update") {
            if (r.header("x-api-user") != "user-1" || r.header("x-api-key") != kPassword)
                return {401, R"({"error":"forbidden"})"};
            const auto body = json::parse(r.body);
            if (body.value("subdomain", "") != kSubdomain)
                return {401, R"({"error":"forbidden"})"};
            m_values.push_back(body["txt"]);
            if (m_values.size() > 2)
                m_values.erase(m_values.begin());
            if (!m_pdns.set_txt(fulldomain() + ".", m_values))
                return {500, R"({"error":"PowerDNS"})"};
            return {200, json{{"txt", body["txt"]}}.dump()};
        }
        return {404, ""};
    }

    PdnsApi m_pdns;
    std::vector<std::string> m_values;
    FakeApiServer m_server;
};

}  // namespace

TEST_CASE(
    "acme-dns: the first issue registers and names the CNAME to add, validate --online "
    "tells when it is there, then issuance works",
    "[issue][acme-dns][validate]") {
    AcmeDnsStandIn acme_dns;
    const std::string challenge = "_acme-challenge.ad." + Lab::get().value("LAB_PDNS_ZONE") + ".";
    PdnsApi pdns;
    pdns.set(challenge, "CNAME", {});
    auto t =
        api_inventory("acme-dns", "ad", {{"type", "acme-dns"}, {"api_url", acme_dns.api_url()}});

    auto r = run_certfleet(cf_args(t, {"--json", "issue"}));
    INFO(r.err);
    CHECK(r.exit_code == 2);
    const auto failed = json::parse(r.out)["certificates"][0];
    CHECK(failed["action"] == "failed");
    const std::string cname = challenge + " CNAME " + acme_dns.fulldomain() + ".";
    CHECK_THAT(failed["error"].get<std::string>(), Catch::Contains(cname));
    CHECK_THAT(failed["hint"].get<std::string>(), Catch::Contains("validate --online"));
    CHECK(acme_dns.registrations() == 1);
    CHECK(acme_dns.updates() == 0);
    const std::string stored =
        t.state_dir + "/acme-dns/api/ad." + Lab::get().value("LAB_PDNS_ZONE") + ".json";
    struct stat st {};
    REQUIRE(::stat(stored.c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);

    auto before = run_certfleet(cf_args(t, {"--json", "validate", "--online"}));
    CHECK(before.exit_code == 78);
    CHECK_THAT(before.out, Catch::Contains(cname));

    REQUIRE(pdns.set(challenge, "CNAME", {acme_dns.fulldomain() + "."}));
    auto after = run_certfleet(cf_args(t, {"validate", "--online"}));
    INFO(after.out << after.err);
    CHECK(after.exit_code == 0);
    CHECK_THAT(after.out, Catch::Contains("CNAME in place"));

    r = run_certfleet(cf_args(t, {"--json", "issue", "--force"}));
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    CHECK(json::parse(r.out)["certificates"][0]["action"] == "issued");
    CHECK(acme_dns.registrations() == 1);  // registered once, kept
    CHECK(acme_dns.updates() == 2);        // one update per challenge
    CHECK_THAT(r.out + r.err, !Catch::Contains("acmedns-secret"));
    CHECK(pdns.set(challenge, "CNAME", {}));
    CHECK(pdns.set_txt(acme_dns.fulldomain() + ".", {}));
}

namespace {

const char* const kAwsKeyId = "AKIACERTFLEETTEST01";
const char* const kAwsSecret = "aws-secret-Kd93jf0sLw9X1zQ";

std::string percent_decoded(const std::string& text) {
    std::string out;
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '%' && i + 2 < text.size()) {
            out += static_cast<char>(std::stoi(text.substr(i + 1, 2), nullptr, 16));
            i += 2;
        } else {
            out += text[i];
        }
    }
    return out;
}

std::string xml_of(const std::string& root, const std::string& inner) {
    return R"(<?xml version="1.0" encoding="UTF-8"?><)" + root +
           R"( xmlns="https://route53.amazonaws.com/doc/2013-04-01/">)" + inner + "</" + root + ">";
}

// Route 53 for one public hosted zone (pdns.example.net, id ZLAB): every
// request's SigV4 signature recomputed from the known secret (a wrong one:
// 403 SignatureDoesNotMatch, as AWS answers); record sets live in the lab's
// PowerDNS; a change is PENDING once, then INSYNC.
class Route53StandIn {
public:
    Route53StandIn() : m_server([this](const ApiRequest& r) { return handle(r); }) {}
    std::string endpoint() const { return m_server.url(); }
    std::size_t changes() const {
        return m_server.count("POST", "/2013-04-01/hostedzone/ZLAB/rrset");
    }
    std::size_t change_polls() const { return m_server.count("GET", "/2013-04-01/change/"); }

private:
    ApiResponse handle(const ApiRequest& r) {
        if (auto problem = test::sigv4_check::signature_problem(r, kAwsKeyId, kAwsSecret,
                                                                "us-east-1", "route53", true);
            !problem.empty())
            return {403,
                    xml_of("ErrorResponse",
                           "<Error><Type>Sender</Type><Code>SignatureDoesNotMatch"
                           "</Code><Message>The request signature we calculated "
                           "does not match the signature you provided.</Message>"
                           "</Error>"),
                    {},
                    "text/xml"};
        if (r.method == "GET" && r.path == "/2013-04-01/hostedzone")
            return xml(xml_of("ListHostedZonesResponse",
                              "<HostedZones><HostedZone><Id>/hostedzone/ZLAB</Id><Name>" +
                                  Lab::get().value("LAB_PDNS_ZONE") +
                                  ".</Name><Config><PrivateZone>false</PrivateZone></Config>"
                                  "</HostedZone></HostedZones><IsTruncated>false</IsTruncated>"
                                  "<MaxItems>100</MaxItems>"));
        if (r.method == "GET" && r.path == "/2013-04-01/hostedzone/ZLAB/rrset")
            return xml(xml_of("ListResourceRecordSetsResponse",
                              "<ResourceRecordSets>" +
                                  record_set(percent_decoded(r.param("name"))) +
                                  "</ResourceRecordSets><IsTruncated>false</IsTruncated>"
                                  "<MaxItems>1</MaxItems>"));
        if (r.method == "POST" && r.path.starts_with("/2013-04-01/hostedzone/ZLAB/rrset")) {
            if (!apply(r.body))
                return {400,
                        xml_of("InvalidChangeBatch",
                               "<Messages><Message>unreadable change "
                               "batch</Message></Messages>"),
                        {},
                        "text/xml"};
            return xml(xml_of("ChangeResourceRecordSetsResponse",
                              "<ChangeInfo><Id>/change/C1</Id><Status>PENDING</Status>"
                              "<SubmittedAt>2026-12-07T00:00:00Z</SubmittedAt></ChangeInfo>"));
        }
        if (r.method == "GET" && r.path == "/2013-04-01/change/C1")
            return xml(xml_of("GetChangeResponse",
                              std::string("<ChangeInfo><Id>/change/C1</Id><Status>") +
                                  (++m_polls > 1 ? "INSYNC" : "PENDING") +
                                  "</Status><SubmittedAt>2026-12-07T00:00:00Z</SubmittedAt>"
                                  "</ChangeInfo>"));
        return {404,
                xml_of("ErrorResponse", "<Error><Code>NoSuchResource</Code></Error>"),
                {},
                "text/xml"};
    }

    static ApiResponse xml(const std::string& body) { return {200, body, {}, "text/xml"}; }

    std::string record_set(const std::string& name) {
        const auto values = m_pdns.txt(name);
        if (values.empty())
            return "";
        std::string records;
        for (const auto& v : values)
            records += "<ResourceRecord><Value>\"" + v + "\"</Value></ResourceRecord>";
        return "<ResourceRecordSet><Name>" + name +
               "</Name><Type>TXT</Type><TTL>60</TTL>"
               "<ResourceRecords>" +
               records + "</ResourceRecords></ResourceRecordSet>";
    }

    // UPSERT: the set becomes exactly the values sent; DELETE: gone. False
    // for a batch it cannot read (no Catch here: a server thread).
    bool apply(const std::string& body) {
        tinyxml2::XMLDocument doc;
        if (doc.Parse(body.c_str(), body.size()) != tinyxml2::XML_SUCCESS)
            return false;
        const auto* changes = doc.RootElement()->FirstChildElement("ChangeBatch");
        changes = changes ? changes->FirstChildElement("Changes") : nullptr;
        for (const auto* c = changes ? changes->FirstChildElement("Change") : nullptr; c;
             c = c->NextSiblingElement("Change")) {
            const auto* action = c->FirstChildElement("Action");
            const auto* set = c->FirstChildElement("ResourceRecordSet");
            const auto* name = set ? set->FirstChildElement("Name") : nullptr;
            const auto* records = set ? set->FirstChildElement("ResourceRecords") : nullptr;
            if (!action || !action->GetText() || !name || !name->GetText() || !records)
                return false;
            std::vector<std::string> values;
            for (const auto* v = records->FirstChildElement("ResourceRecord"); v;
                 v = v->NextSiblingElement("ResourceRecord")) {
                const auto* value = v->FirstChildElement("Value");
                const std::string text = value && value->GetText() ? value->GetText() : "\"\"";
                values.push_back(text.substr(1, text.size() - 2));
            }
            const bool remove = std::string(action->GetText()) == "DELETE";
            if (!m_pdns.set_txt(name->GetText(), remove ? std::vector<std::string>{} : values))
                return false;
        }
        return changes != nullptr;
    }

    PdnsApi m_pdns;
    int m_polls = 0;
    FakeApiServer m_server;
};

}  // namespace

TEST_CASE(
    "route53: issuance with keys from the AWS environment, one signed change per zone "
    "awaited until INSYNC; a shared-credentials profile works; a wrong secret changes nothing",
    "[issue][route53]") {
    Route53StandIn route53;
    const json provider{{"type", "route53"}, {"endpoint", route53.endpoint()}};
    const std::string challenge = "_acme-challenge.r53." + Lab::get().value("LAB_PDNS_ZONE") + ".";

    auto wrong = api_inventory("r53-wrong", "r53w", provider);
    auto r = run_certfleet(
        cf_args(wrong, {"--json", "issue"}),
        {{"AWS_ACCESS_KEY_ID", kAwsKeyId}, {"AWS_SECRET_ACCESS_KEY", "wrong-secret-value"}});
    INFO(r.err);
    CHECK(r.exit_code == 2);
    const auto failed = json::parse(r.out)["certificates"][0];
    CHECK_THAT(failed["error"].get<std::string>(), Catch::Contains("SignatureDoesNotMatch"));
    CHECK_THAT(failed["hint"].get<std::string>(),
               Catch::Contains("route53:ChangeResourceRecordSets"));
    CHECK_THAT(r.out + r.err, !Catch::Contains("wrong-secret-value"));
    CHECK(route53.changes() == 0);

    auto t = api_inventory("r53-issue", "r53", provider);
    r = run_certfleet(cf_args(t, {"--json", "issue"}),
                      {{"AWS_ACCESS_KEY_ID", kAwsKeyId}, {"AWS_SECRET_ACCESS_KEY", kAwsSecret}});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    CHECK(json::parse(r.out)["certificates"][0]["action"] == "issued");
    auto info = core::parse_certificate_pem(read_file(t.state_dir + "/certificates/r53/cert.pem"));
    REQUIRE(info);
    CHECK(info->dns_names.size() == 2);
    CHECK(route53.changes() == 2);       // one for both values in, one for both out
    CHECK(route53.change_polls() >= 2);  // PENDING was waited out
    CHECK(PdnsApi().txt(challenge).empty());
    CHECK_THAT(r.out + r.err, !Catch::Contains(kAwsSecret));

    // The same keys from a shared credentials file, profile named in the inventory.
    auto dir = make_temp_dir("r53-profile");
    write_file(dir + "/credentials",
               std::string("[default]\naws_access_key_id = AKIAOTHER\naws_secret_access_key = x\n"
                           "[dns]\naws_access_key_id = ") +
                   kAwsKeyId + "\naws_secret_access_key = " + kAwsSecret + "\n",
               0600);
    auto profiled = api_inventory(
        "r53-profile", "r53p",
        json{{"type", "route53"}, {"endpoint", route53.endpoint()}, {"profile", "dns"}});
    auto online = run_certfleet(cf_args(profiled, {"validate", "--online"}),
                                {{"AWS_SHARED_CREDENTIALS_FILE", dir + "/credentials"}});
    INFO(online.out << online.err);
    CHECK(online.exit_code == 0);
    CHECK_THAT(online.out, Catch::Contains("dns provider 'api' (route53): OK"));
}
