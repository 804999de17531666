// The powerdns DNS provider against the lab's PowerDNS Authoritative (zone
// pdns.example.net, HTTP API on loopback; the lab's BIND forwards pebble's
// queries for it there): issuance through the API, values at one name side by
// side, clean-up of only certfleet's own values, a wrong key and an outage.
#include <algorithm>
#include <atomic>
#include <map>
#include <thread>

#include <catch2/catch.hpp>

#include "core/crypto.hpp"
#include "issue_support.hpp"
#include "pdns_support.hpp"

using namespace certfleet;
using namespace certfleet::testing;
using nlohmann::json;

namespace {

const char* const kChallengeName = "_acme-challenge.pdns.example.net.";

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
    REQUIRE(api.set_txt(kChallengeName, {"kept-by-someone-else"}));
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
    CHECK(api.set_txt(kChallengeName, {}));
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

TEST_CASE(
    "validate --online: one read-only call per provider; a wrong key and an unseen zone "
    "are reported per provider",
    "[validate][powerdns][lexicon]") {
    const Lab& lab = Lab::get();
    auto dir = make_temp_dir("pdns-online");
    write_file(dir + "/wrong.key", "not-the-key", 0600);
    const std::string zone = lab.value("LAB_PDNS_ZONE");
    auto t = write_inventory(
        "pdns-online",
        {{"good", {{"domains", {"v." + zone, "*.v." + zone}}, {"dns", "lab-pdns"}}},
         {"elsewhere", {{"domains", {"v.nowhere.test"}}, {"dns", "lab-pdns"}}},
         {"badkey", {{"domains", {"w." + zone}}, {"dns", "wrong-key"}}},
         {"lx", {{"domains", {"x." + zone}}, {"dns", "lab-lexicon"}}}},
        [&](json& inv) {
            auto& providers = inv["dns"]["providers"];
            providers["lab-pdns"] = {{"type", "powerdns"},
                                     {"api_url", lab.value("LAB_PDNS_API_URL")},
                                     {"api_key_file", lab.value("LAB_PDNS_API_KEY_FILE")}};
            providers["wrong-key"] = providers["lab-pdns"];
            providers["wrong-key"]["api_key_file"] = dir + "/wrong.key";
            providers["lab-lexicon"] = {
                {"type", "lexicon"},
                {"provider", "powerdns"},
                {"options", {{"pdns-server", lab.value("LAB_PDNS_API_URL")}}},
                {"credentials", {{"token", lab.value("LAB_PDNS_API_KEY_FILE")}}},
                {"zone", zone}};
            inv["dns"]["nameservers"] = {lab.value("LAB_PDNS")};
        });
    const std::string zones_before = PdnsApi().send("GET").body;

    auto offline = run_certfleet(cf_args(t, {"validate"}));
    CHECK(offline.exit_code == 0);  // offline, nothing is asked
    auto r = run_certfleet(cf_args(t, {"--json", "validate", "--online"}));
    INFO(r.out << r.err);
    CHECK(r.exit_code == 78);
    std::map<std::string, json> by_name;
    const json out = json::parse(r.out);
    for (const auto& p : out["dns_providers"])
        by_name[p["provider"].get<std::string>()] = p;
    REQUIRE(by_name.count("wrong-key") == 1);
    REQUIRE(by_name.count("lab-pdns") == 1);
    REQUIRE(by_name.count("lab-lexicon") == 1);

    CHECK(by_name["wrong-key"]["ok"] == false);
    CHECK_THAT(by_name["wrong-key"]["error"].get<std::string>(), Catch::Contains("HTTP 401"));
    CHECK_THAT(by_name["wrong-key"]["hint"].get<std::string>(), Catch::Contains("api_key_file"));

    CHECK(by_name["lab-pdns"]["ok"] == false);
    CHECK(by_name["lab-pdns"]["notes"].size() == 1);  // apex and wildcard share one name
    REQUIRE(by_name["lab-pdns"]["problems"].size() == 1);
    CHECK_THAT(by_name["lab-pdns"]["problems"][0].get<std::string>(),
               Catch::Contains("_acme-challenge.v.nowhere.test."));

    CHECK(by_name["lab-lexicon"]["ok"] == true);
    CHECK(by_name["lab-lexicon"]["checked"] == true);

    CHECK_THAT(r.out + r.err, !Catch::Contains("not-the-key"));
    CHECK(PdnsApi().send("GET").body == zones_before);  // read-only: the zone is unchanged
}

TEST_CASE(
    "powerdns: PowerDNS stopped mid-order fails the certificate; the next run removes "
    "the records it could not, through the same API",
    "[issue][powerdns][failure]") {
    using namespace std::chrono_literals;
    const Lab& lab = Lab::get();
    PdnsApi api;
    REQUIRE(api.set_txt(kChallengeName, {}));
    auto t = pdns_inventory("pdns-mid-order", lab.value("LAB_PDNS_API_KEY_FILE"));
    // A second "authoritative" server that never answers holds the order in
    // its propagation check for 5 s: the window in which PowerDNS goes away.
    json inv = json::parse(read_file(t.path));
    inv["dns"]["nameservers"].push_back(lab.value("LAB_ADDR") + ":9");
    inv["dns"]["propagation_timeout"] = "5s";
    write_file(t.path, inv.dump(2), 0600);

    std::atomic<bool> stopped{false};
    CommandResult r;
    std::thread issue([&] { r = run_certfleet(cf_args(t, {"--json", "issue"})); });
    // As soon as certfleet's values are in the zone, PowerDNS (API and DNS) goes.
    const auto give_up = std::chrono::steady_clock::now() + 60s;
    while (!stopped && std::chrono::steady_clock::now() < give_up) {
        if (api.txt(kChallengeName).size() == 2) {
            lab.stop_pdns();
            stopped = true;
        }
        std::this_thread::sleep_for(20ms);
    }
    issue.join();
    INFO(r.err);
    REQUIRE(stopped);
    CHECK(r.exit_code == 2);
    const auto c = json::parse(r.out)["certificates"][0];
    CHECK(c["action"] == "failed");
    CHECK_THAT(r.err, Catch::Contains("could not remove challenge records: powerdns lab-pdns"));
    CHECK_THAT(r.err, Catch::Contains("the next run removes them"));
    CHECK(c["serial"] == "");  // nothing issued, nothing stored

    lab.start_pdns();
    CHECK(PdnsApi().txt(kChallengeName).size() == 2);  // left behind while the API was down
    auto next = run_certfleet(cf_args(t, {"--json", "issue"}));
    INFO(next.err);
    CHECK(PdnsApi().txt(kChallengeName).empty());  // removed by the next run's recovery
}

TEST_CASE(
    "validate builds every DNS provider offline: settings only the provider can judge are "
    "errors with their path",
    "[validate]") {
    auto dir = make_temp_dir("validate-build");
    write_file(dir + "/token", "two words", 0600);
    auto t = write_inventory(
        "validate-build", {{"cf", {{"domains", {"cf.example.test"}}, {"dns", "cf"}}}},
        [&](json& inv) {
            inv["dns"]["providers"]["cf"] = {{"type", "cloudflare"},
                                             {"api_url", "http://127.0.0.1:9/client/v4"},
                                             {"api_token_file", dir + "/token"}};
        });
    auto r = run_certfleet(cf_args(t, {"--json", "validate"}));
    INFO(r.out << r.err);
    CHECK(r.exit_code == 78);
    const json out = json::parse(r.out);
    CHECK(out["valid"] == false);
    REQUIRE(out["errors"].size() == 1);
    const std::string error = out["errors"][0];
    CHECK_THAT(error, Catch::Contains(t.path + ": dns.providers.cf: "));
    CHECK_THAT(error, Catch::Contains("blanks"));
    CHECK_THAT(error, !Catch::Contains("two words"));
}
