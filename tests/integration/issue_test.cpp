// `certfleet issue` end to end against the lab's pebble (-strict, nonce
// rejection on) and bind9 (TSIG-signed dynamic updates).
#include <sys/stat.h>

#include <catch2/catch.hpp>

#include "core/crypto.hpp"
#include "core/fs.hpp"
#include "issue_support.hpp"

using namespace certfleet;
using namespace certfleet::testing;
using nlohmann::json;

namespace {

json cert(std::vector<std::string> domains, std::string provider = "lab-bind",
          std::string key = "ecdsa-p256") {
    return {{"domains", domains}, {"dns", provider}, {"key", key}};
}

int file_mode(const std::string& path) {
    struct stat st {};
    REQUIRE(::stat(path.c_str(), &st) == 0);
    return static_cast<int>(st.st_mode & 07777);
}

// Checks the store layout of docs/host-layout.md, the chain up to pebble's root, the key
// and the names; returns the leaf's details.
core::CertificateInfo check_stored(const TestInventory& t, const std::string& name,
                                   const std::vector<std::string>& domains,
                                   core::KeyType key_type) {
    std::string base = t.state_dir + "/certificates/" + name;
    std::string fullchain = read_file(base + "/fullchain.pem");
    std::string key_pem = read_file(base + "/privkey.pem");
    auto info = core::parse_certificate_pem(read_file(base + "/cert.pem"));
    REQUIRE(info);
    std::vector<std::string> expected = domains, actual = info->dns_names;
    std::sort(expected.begin(), expected.end());
    std::sort(actual.begin(), actual.end());
    CHECK(actual == expected);
    auto key = core::PrivateKey::from_pem(key_pem);
    REQUIRE(key);
    CHECK(key->type() == key_type);
    auto matches = core::key_matches_certificate(*key, fullchain);
    REQUIRE(matches);
    CHECK(*matches);
    auto verified = core::verify_chain(fullchain, Lab::get().root_pem());
    INFO((verified ? std::string() : verified.error().message));
    CHECK(verified.ok());
    CHECK_FALSE(read_file(base + "/chain.pem").empty());
    auto current = core::read_symlink(base + "/current");
    REQUIRE(current);
    CHECK(current->rfind("versions/", 0) == 0);
    CHECK(file_mode(base + "/" + *current + "/privkey.pem") == 0600);
    CHECK(file_mode(t.state_dir) == 0700);
    return *info;
}

}  // namespace

TEST_CASE("apex + www, wildcard, RSA and P-384 certificates are issued and verify to pebble's root",
          "[issue]") {
    auto t = write_inventory(
        "issue-basic",
        {{"www", cert({"example.test", "www.example.test"})},
         {"wildcard", cert({"example.test", "*.example.test"}, "lab-bind", "ecdsa-p384")},
         {"legacy-rsa", cert({"rsa.example.test"}, "lab-bind", "rsa-2048")}});
    auto r = run_certfleet(cf_args(t, {"--json", "issue"}));
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    auto out = json::parse(r.out);
    REQUIRE(out["certificates"].size() == 3);
    for (const auto& c : out["certificates"])
        CHECK(c["action"] == "issued");

    check_stored(t, "www", {"example.test", "www.example.test"}, core::KeyType::EcdsaP256);
    // Two TXT values at _acme-challenge.example.test had to coexist for this one.
    check_stored(t, "wildcard", {"example.test", "*.example.test"}, core::KeyType::EcdsaP384);
    check_stored(t, "legacy-rsa", {"rsa.example.test"}, core::KeyType::Rsa2048);
    // Clean-up removed every value this run added.
    CHECK(Lab::get().txt("_acme-challenge.example.test.").empty());
    CHECK(Lab::get().txt("_acme-challenge.www.example.test.").empty());

    SECTION("a second issue with nothing due contacts no CA at all") {
        // Point the inventory at a CA that does not exist: any request would fail.
        std::string text = read_file(t.path);
        auto inv = json::parse(text);
        inv["acme"]["directory"] = "https://127.0.0.1:9/dir";
        write_file(t.path, inv.dump(2), 0600);
        auto again = run_certfleet(cf_args(t, {"--json", "issue"}));
        INFO(again.err);
        CHECK(again.exit_code == 0);
        for (const auto& c : json(json::parse(again.out)["certificates"]))
            CHECK(c["action"] == "unchanged");
    }
}

TEST_CASE("CNAME-delegated names, challenge_alias and the exec provider", "[issue]") {
    json certs = {{"delegated", cert({"cname.example.test"})},
                  {"aliased", cert({"alias.example.test"})},
                  {"scripted", cert({"hook.lab.test"}, "lab-hook")}};
    certs["aliased"]["challenge_alias"] = "acme-delegate.test";
    auto t = write_inventory("issue-delegation", certs);
    auto r = run_certfleet(cf_args(t, {"--json", "issue"}));
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    check_stored(t, "delegated", {"cname.example.test"}, core::KeyType::EcdsaP256);
    check_stored(t, "aliased", {"alias.example.test"}, core::KeyType::EcdsaP256);
    check_stored(t, "scripted", {"hook.lab.test"}, core::KeyType::EcdsaP256);
    CHECK(Lab::get().txt("cname.acme-delegate.test.").empty());
    CHECK(Lab::get().txt("_acme-challenge.acme-delegate.test.").empty());
    CHECK(Lab::get().txt("_acme-challenge.hook.lab.test.").empty());
}

TEST_CASE("revoke marks the certificate revoked at the CA and due for the next issue", "[issue]") {
    auto t = write_inventory("issue-revoke", {{"site", cert({"revoke.example.test"})}});
    REQUIRE(run_certfleet(cf_args(t, {"issue"})).exit_code == 0);
    auto r =
        run_certfleet(cf_args(t, {"--json", "revoke", "site", "--reason", "superseded", "--yes"}));
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    // Ask pebble's management interface what it thinks of that serial.
    std::string serial = json::parse(r.out)["serial"];
    auto status = run_command({"curl", "-sS", "--cacert", Lab::get().ca_bundle,
                               Lab::get().acme_mgmt + "/cert-status-by-serial/" + serial});
    INFO(status.out + status.err);
    CHECK_THAT(status.out, Catch::Contains("Revoked"));
    auto plan = run_certfleet(cf_args(t, {"--json", "issue", "--dry-run"}));
    auto c = json::parse(plan.out)["certificates"][0];
    CHECK(c["action"] == "planned");
    CHECK_THAT(c["reason"].get<std::string>(), Catch::Contains("revoked"));
}

TEST_CASE("DNS server down: clear error within the timeout, nothing left in the zone",
          "[issue][failure]") {
    auto t = write_inventory("issue-dns-down", {{"site", cert({"down.example.test"})}});
    const Lab& lab = Lab::get();
    lab.stop_dns();
    auto started = std::chrono::steady_clock::now();
    auto r = run_certfleet(cf_args(t, {"--json", "issue"}));
    auto took = std::chrono::steady_clock::now() - started;
    lab.start_dns();
    INFO(r.err);
    CHECK(r.exit_code == 2);
    CHECK(took < std::chrono::seconds(25));  // propagation_timeout is 20s
    auto c = json::parse(r.out)["certificates"][0];
    CHECK(c["action"] == "failed");
    CHECK_THAT(c["error"].get<std::string>(), Catch::Contains(lab.dns));
    CHECK_THAT(r.err, Catch::Contains("deactivated pending authorization"));
    CHECK(lab.txt("_acme-challenge.down.example.test.").empty());
    // The failure is remembered: an immediate retry backs off instead of hammering.
    auto again = run_certfleet(cf_args(t, {"--json", "issue"}));
    CHECK(json::parse(again.out)["certificates"][0]["action"] == "deferred");
}

TEST_CASE("a wrong TSIG secret is reported naming the key", "[issue][failure]") {
    auto t =
        write_inventory("issue-bad-tsig", {{"site", cert({"tsig.example.test"})}}, [](json& inv) {
            std::string bad = make_temp_dir("bad-secret") + "/tsig.secret";
            write_file(bad, "c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0MTI=\n", 0600);
            inv["dns"]["providers"]["lab-bind"]["tsig_secret_file"] = bad;
        });
    auto r = run_certfleet(cf_args(t, {"--json", "issue"}));
    INFO(r.err);
    CHECK(r.exit_code == 2);
    auto error = json::parse(r.out)["certificates"][0]["error"].get<std::string>();
    CHECK_THAT(error, Catch::Contains(Lab::get().tsig_name));
    // The secret itself never appears anywhere.
    CHECK(r.err.find("c2VjcmV0c2Vj") == std::string::npos);
    CHECK(r.out.find("c2VjcmV0c2Vj") == std::string::npos);
}

TEST_CASE("an unreachable CA fails with a clear error and exit 2", "[issue][failure]") {
    auto t = write_inventory("issue-no-ca", {{"site", cert({"noca.example.test"})}}, [](json& inv) {
        inv["acme"]["directory"] = "https://127.0.0.1:9/dir";
    });
    auto r = run_certfleet(cf_args(t, {"--json", "issue"}));
    INFO(r.err);
    CHECK(r.exit_code == 2);
    auto c = json::parse(r.out)["certificates"][0];
    CHECK(c["action"] == "failed");
    CHECK_THAT(c["error"].get<std::string>(), Catch::Contains("127.0.0.1:9"));
}

TEST_CASE("an invalid inventory exits 78 and lists every problem", "[issue][failure]") {
    std::string dir = make_temp_dir("bad-inventory");
    write_file(dir + "/certfleet.json", R"({
  "acme": { "directory": "https://127.0.0.1:14000/dir", "accept_terms": true },
  "dns": { "providers": { "p": { "type": "rfc2136", "server": "127.0.0.1:53" } } },
  "certificates": {
    "a": { "domains": ["a.example.test"], "dns": "nope" },
    "b": { "domian": ["b.example.test"], "dns": "p" }
  },
  "policy": { "warn_before": "soon" }
})",
               0600);
    auto r = run_certfleet({"-c", dir + "/certfleet.json", "issue"});
    CHECK(r.exit_code == 78);
    CHECK_THAT(r.err, Catch::Contains("certificates.a.dns"));
    CHECK_THAT(r.err, Catch::Contains("domian"));
    CHECK_THAT(r.err, Catch::Contains("policy.warn_before"));
    CHECK_THAT(r.err, Catch::Contains("certfleet.json:5:"));
    auto v = run_certfleet({"-c", dir + "/certfleet.json", "validate"});
    CHECK(v.exit_code == 78);
    // Scripts reading --json still get a document.
    for (const char* command : {"issue", "status", "deploy"}) {
        auto j = run_certfleet({"-c", dir + "/certfleet.json", "--json", command});
        CHECK(j.exit_code == 78);
        const auto doc = nlohmann::json::parse(j.out);
        CHECK(doc["error"] == "the inventory is invalid; nothing was done");
        CHECK(doc["errors"].size() >= 3);
    }
}
