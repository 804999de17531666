// The powerdns DNS provider against the lab's PowerDNS Authoritative (zone
// pdns.example.net, HTTP API on loopback; the lab's BIND forwards pebble's
// queries for it there): issuance through the API, values at one name side by
// side, clean-up of only certfleet's own values, a wrong key and an outage.
#include <algorithm>

#include <catch2/catch.hpp>

#include "core/crypto.hpp"
#include "core/http.hpp"
#include "issue_support.hpp"

using namespace certfleet;
using namespace certfleet::testing;
using nlohmann::json;

namespace {

const char* const kChallengeName = "_acme-challenge.pdns.example.net.";

// The lab's PowerDNS API, spoken directly (not through certfleet's provider).
struct PdnsApi {
    const Lab& lab = Lab::get();
    core::CurlHttpClient http{core::HttpOptions{}};

    core::HttpResponse send(const std::string& method, const std::string& body = "") {
        core::HttpRequest req;
        req.method = method;
        req.url =
            lab.value("LAB_PDNS_API_URL") + "/api/v1/servers/localhost/zones/pdns.example.net.";
        req.headers = {"X-API-Key: " + read_file(lab.value("LAB_PDNS_API_KEY_FILE")),
                       "Content-Type: application/json"};
        req.body = body;
        auto response = http.send(req);
        REQUIRE(response);
        return *response;
    }
    // The TXT values at `name` (quotes removed), sorted.
    std::vector<std::string> txt(const std::string& name) {
        auto zone = json::parse(send("GET").body);
        std::vector<std::string> values;
        for (const auto& rrset : zone["rrsets"])
            if (rrset["name"] == name && rrset["type"] == "TXT")
                for (const auto& r : rrset["records"]) {
                    std::string v = r["content"];
                    values.push_back(v.substr(1, v.size() - 2));
                }
        std::sort(values.begin(), values.end());
        return values;
    }
    void set_txt(const std::string& name, const std::vector<std::string>& values) {
        json rrset{{"name", name}, {"type", "TXT"}};
        if (values.empty()) {
            rrset["changetype"] = "DELETE";
        } else {
            rrset["changetype"] = "REPLACE";
            rrset["ttl"] = 60;
            for (const auto& v : values)
                rrset["records"].push_back({{"content", "\"" + v + "\""}, {"disabled", false}});
        }
        CHECK(send("PATCH", json{{"rrsets", {rrset}}}.dump()).status == 204);
    }
};

TestInventory pdns_inventory(const std::string& prefix, const std::string& api_key_file) {
    const Lab& lab = Lab::get();
    return write_inventory(
        prefix,
        {{"pdns", {{"domains", {"pdns.example.net", "*.pdns.example.net"}}, {"dns", "lab-pdns"}}}},
        [&](json& inv) {
            inv["dns"]["providers"]["lab-pdns"] = {{"type", "powerdns"},
                                                   {"api_url", lab.value("LAB_PDNS_API_URL")},
                                                   {"api_key_file", api_key_file}};
            // The propagation check asks the zone's authoritative server.
            inv["dns"]["nameservers"] = {lab.value("LAB_PDNS")};
        });
}

}  // namespace

TEST_CASE("powerdns: apex and wildcard in one order; a value certfleet did not write survives",
          "[issue][powerdns]") {
    PdnsApi api;
    api.set_txt(kChallengeName, {"kept-by-someone-else"});
    auto t = pdns_inventory("pdns-issue", Lab::get().value("LAB_PDNS_API_KEY_FILE"));
    auto r = run_certfleet(cf_args(t, {"--json", "issue"}));
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    auto c = json::parse(r.out)["certificates"][0];
    CHECK(c["action"] == "issued");
    auto info = core::parse_certificate_pem(read_file(t.state_dir + "/certificates/pdns/cert.pem"));
    REQUIRE(info);
    CHECK(info->dns_names.size() == 2);
    // Both challenge values went in beside the foreign one and only they came out.
    CHECK(api.txt(kChallengeName) == std::vector<std::string>{"kept-by-someone-else"});
    api.set_txt(kChallengeName, {});
}

TEST_CASE("powerdns: a wrong API key is a clear error and the CA validates nothing",
          "[issue][powerdns][failure]") {
    auto dir = make_temp_dir("pdns-wrong-key");
    write_file(dir + "/wrong.key", "not-the-key", 0600);
    auto t = pdns_inventory("pdns-wrong-key", dir + "/wrong.key");
    auto r = run_certfleet(cf_args(t, {"--json", "issue"}));
    INFO(r.err);
    CHECK(r.exit_code == 2);
    auto c = json::parse(r.out)["certificates"][0];
    CHECK(c["action"] == "failed");
    const std::string error = c["error"];
    CHECK_THAT(error, Catch::Contains("powerdns lab-pdns"));
    CHECK_THAT(error, Catch::Contains("HTTP 401"));
    CHECK_THAT(r.err, Catch::Contains("api_key_file"));
    CHECK_THAT(r.err + r.out, !Catch::Contains("not-the-key"));
    CHECK(PdnsApi().txt(kChallengeName).empty());
}

TEST_CASE("powerdns: PowerDNS down is a bounded, clear failure that leaves nothing behind",
          "[issue][powerdns][failure]") {
    const Lab& lab = Lab::get();
    auto t = pdns_inventory("pdns-down", lab.value("LAB_PDNS_API_KEY_FILE"));
    lab.stop_pdns();
    auto started = std::chrono::steady_clock::now();
    auto r = run_certfleet(cf_args(t, {"--json", "issue"}));
    auto took = std::chrono::steady_clock::now() - started;
    lab.start_pdns();
    INFO(r.err);
    CHECK(r.exit_code == 2);
    CHECK(took < std::chrono::seconds(40));
    auto c = json::parse(r.out)["certificates"][0];
    CHECK(c["action"] == "failed");
    // Its DNS side is asked first (where the challenge name lives) and names the server.
    CHECK_THAT(c["error"].get<std::string>(), Catch::Contains(lab.value("LAB_PDNS")));
    CHECK(PdnsApi().txt(kChallengeName).empty());
}

TEST_CASE("powerdns: an API that refuses connections is named in the error, bounded",
          "[issue][powerdns][failure]") {
    const Lab& lab = Lab::get();
    auto t = pdns_inventory("pdns-api-down", lab.value("LAB_PDNS_API_KEY_FILE"));
    const std::string closed = "http://" + lab.addr + ":9";  // discard: nothing listens
    json inv = json::parse(read_file(t.path));
    inv["dns"]["providers"]["lab-pdns"]["api_url"] = closed;
    write_file(t.path, inv.dump(2), 0600);
    auto started = std::chrono::steady_clock::now();
    auto r = run_certfleet(cf_args(t, {"--json", "issue"}));
    auto took = std::chrono::steady_clock::now() - started;
    INFO(r.err);
    CHECK(r.exit_code == 2);
    CHECK(took < std::chrono::seconds(40));
    const std::string error = json::parse(r.out)["certificates"][0]["error"];
    CHECK_THAT(error, Catch::Contains("powerdns lab-pdns (" + closed + ")"));
    CHECK_THAT(error, Catch::Contains("list zones"));
    CHECK(PdnsApi().txt(kChallengeName).empty());
}
