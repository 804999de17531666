// Smoke test of the lab itself: if these fail, every other integration test
// fails for reasons that have nothing to do with certfleet.
#include "lab.hpp"

#include <algorithm>
#include <chrono>
#include <string>
#include <sys/stat.h>

#include <catch2/catch.hpp>

using certfleet::testing::CommandResult;
using certfleet::testing::Lab;
using certfleet::testing::run_command;

namespace {

std::string dns_host(const Lab& lab) {
    return lab.dns.substr(0, lab.dns.rfind(':'));
}
std::string dns_port(const Lab& lab) {
    return lab.dns.substr(lab.dns.rfind(':') + 1);
}

unsigned file_mode(const std::string& path) {
    struct stat st {};
    REQUIRE(::stat(path.c_str(), &st) == 0);
    return static_cast<unsigned>(st.st_mode) & 07777U;
}

CommandResult curl(const Lab& lab, const std::string& url) {
    return run_command({"curl", "-sS", "--max-time", "10", "--cacert", lab.ca_bundle, url});
}

}  // namespace

TEST_CASE("lab.env describes a complete lab", "[lab]") {
    const Lab& lab = Lab::get();
    for (const char* key : {"LAB_DIR", "LAB_ADDR", "LAB_DNS", "LAB_TSIG_NAME", "LAB_TSIG_ALGORITHM",
                            "LAB_TSIG_SECRET_FILE", "LAB_TSIG_KEY_FILE", "LAB_CA_BUNDLE",
                            "LAB_ACME_DIRECTORY", "LAB_ACME_MGMT", "LAB_EAB_DIRECTORY",
                            "LAB_EAB_MGMT", "LAB_EAB_KID", "LAB_EAB_KEY_FILE", "LAB_ZONES"}) {
        INFO(key);
        CHECK_FALSE(lab.value(key).empty());
    }
    CHECK(lab.tsig_name == "certfleet-key");
    CHECK(lab.value("LAB_TSIG_ALGORITHM") == "hmac-sha256");
    CHECK(lab.dns == lab.addr + ":" + dns_port(lab));
    CHECK(lab.acme_directory == "https://" + lab.addr + ":14000/dir");
    CHECK(lab.eab_kid == "kid-1");
    const std::string zones = lab.value("LAB_ZONES");
    for (const char* zone : {"example.test", "lab.test", "acme-delegate.test"}) {
        CHECK_THAT(zones, Catch::Contains(zone));
    }
    // Secrets: present, not world- or group-readable, no trailing newline.
    for (const std::string& secret : {lab.tsig_secret_file, lab.eab_key_file}) {
        INFO(secret);
        CHECK(file_mode(secret) == 0600U);
        std::string text = certfleet::testing::read_file(secret);
        CHECK(text.size() >= 32);
        CHECK(text.find('\n') == std::string::npos);
    }
    CHECK_THAT(certfleet::testing::read_file(lab.tsig_key_file), Catch::Contains("certfleet-key"));
    CHECK_THAT(certfleet::testing::read_file(lab.ca_bundle),
               Catch::Contains("-----BEGIN CERTIFICATE-----"));
    CHECK_THAT(certfleet::testing::read_file(lab.dir + "/certfleet.json"),
               Catch::Contains(lab.acme_directory));
}

TEST_CASE("pebble answers over TLS trusted through the lab CA", "[lab]") {
    const Lab& lab = Lab::get();
    CommandResult dir = curl(lab, lab.acme_directory);
    INFO(dir.err);
    REQUIRE(dir.exit_code == 0);
    CHECK_THAT(dir.out, Catch::Contains("newNonce") && Catch::Contains("newOrder"));

    CommandResult eab = curl(lab, lab.eab_directory);
    INFO(eab.err);
    REQUIRE(eab.exit_code == 0);
    CHECK_THAT(eab.out, Catch::Contains("\"externalAccountRequired\": true"));

    // Without the lab CA the certificate is not trusted.
    CommandResult untrusted =
        run_command({"curl", "-sS", "--max-time", "10", "--capath", "/nonexistent", "--cacert",
                     "/dev/null", lab.acme_directory});
    CHECK(untrusted.exit_code != 0);

    CHECK_THAT(lab.root_pem(), Catch::StartsWith("-----BEGIN CERTIFICATE-----"));
}

TEST_CASE("named answers SOA for every lab zone without recursion", "[lab]") {
    const Lab& lab = Lab::get();
    for (const char* zone : {"example.test.", "lab.test.", "acme-delegate.test."}) {
        CommandResult soa = run_command({"dig", "+short", "+norec", "+time=2", "+tries=2",
                                         "@" + dns_host(lab), "-p", dns_port(lab), "SOA", zone});
        INFO(zone << ": " << soa.out << soa.err);
        CHECK(soa.exit_code == 0);
        CHECK_THAT(soa.out, Catch::Contains("ns1."));
    }
}

TEST_CASE("the lab's DNS hook adds and removes exactly one TXT value", "[lab]") {
    const Lab& lab = Lab::get();
    const std::string name = "_acme-challenge.smoke.lab.test.";
    const std::string hook = lab.dir + "/dns-hook";
    const std::string stamp =
        std::to_string(std::chrono::steady_clock::now().time_since_epoch().count() % 1000000007);
    const std::string a = "smoke-a-" + stamp;
    const std::string b = "smoke-b-" + stamp;

    for (const std::string& v : {a, b}) {
        CommandResult r = run_command({hook, "present", name, v});
        INFO(r.err);
        REQUIRE(r.exit_code == 0);
    }
    auto values = lab.txt(name);
    CHECK(std::count(values.begin(), values.end(), a) == 1);
    CHECK(std::count(values.begin(), values.end(), b) == 1);

    REQUIRE(run_command({hook, "cleanup", name, a}).exit_code == 0);
    values = lab.txt(name);
    CHECK(std::count(values.begin(), values.end(), a) == 0);
    CHECK(std::count(values.begin(), values.end(), b) == 1);
    REQUIRE(run_command({hook, "cleanup", name, b}).exit_code == 0);
    CHECK(lab.txt(name).empty());

    // Outside the lab zones: a clear failure on stderr.
    CommandResult outside = run_command({hook, "present", "_acme-challenge.example.org.", a});
    CHECK(outside.exit_code != 0);
    CHECK_THAT(outside.err, Catch::Contains("not in a lab zone"));
}
