// DNS-01 plumbing against the lab's real bind9: RFC 2136 + TSIG updates,
// CNAME following and the propagation check. Independent tools (dig through
// the lab script, nsupdate) check what the zone really holds.
#include <atomic>
#include <chrono>
#include <sstream>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

#include <catch2/catch.hpp>

#include "acme/dns/factory.hpp"
#include "acme/dns/resolver.hpp"
#include "lab.hpp"

using namespace certfleet;
using namespace certfleet::acme::dns;
using certfleet::testing::Lab;
using certfleet::testing::run_command;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

namespace {

std::string why(const core::Status& s) {
    return s.ok() ? std::string() : s.error().describe();
}

// Unique per run so reruns against one lab never see old records.
std::string unique_label(const std::string& what) {
    static const std::string run = std::to_string(::getpid());
    return "dnsit-" + run + "-" + what;
}

ChallengeRecord record(const std::string& fqdn, const std::string& value) {
    return ChallengeRecord{fqdn, value, "", "", ""};
}

Rfc2136Config lab_rfc2136(const Lab& lab) {
    Rfc2136Config c;
    c.name = "lab";
    c.server = lab.dns;
    c.tsig_name = lab.tsig_name;
    c.tsig_algorithm = lab.value("LAB_TSIG_ALGORITHM");
    c.tsig_secret = testing::read_file(lab.tsig_secret_file);
    c.timeout = core::Seconds(10);
    return c;
}

std::unique_ptr<DnsProvider> provider(const Rfc2136Config& c) {
    auto p = make_provider(c);
    REQUIRE(p.ok());
    return std::move(p).value();
}

Resolver lab_resolver(const Lab& lab, core::Seconds timeout = core::Seconds(30)) {
    ResolverConfig c;
    c.nameservers = {lab.dns};
    c.propagation_timeout = timeout;
    c.poll_interval = 1s;
    auto r = Resolver::create(c);
    REQUIRE(r.ok());
    return std::move(r).value();
}

std::vector<std::string> sorted(std::vector<std::string> v) {
    std::sort(v.begin(), v.end());
    return v;
}

// SOA serial as served now; BIND bumps it once per applied update message.
long soa_serial(const Lab& lab, const std::string& zone) {
    const auto colon = lab.dns.rfind(':');
    auto r = run_command({"dig", "+short", "+norec", "@" + lab.dns.substr(0, colon), "-p",
                          lab.dns.substr(colon + 1), "SOA", zone});
    REQUIRE(r.exit_code == 0);
    std::istringstream fields(r.out);
    std::string mname, rname;
    long serial = -1;
    fields >> mname >> rname >> serial;
    REQUIRE(serial >= 0);
    return serial;
}

void nsupdate(const Lab& lab, const std::string& commands) {
    const std::string dir = testing::make_temp_dir("dns-it-nsupdate");
    const auto colon = lab.dns.rfind(':');
    testing::write_file(dir + "/cmds", "server " + lab.dns.substr(0, colon) + " " +
                                           lab.dns.substr(colon + 1) + "\n" + commands + "send\n");
    auto r = run_command({"nsupdate", "-k", lab.tsig_key_file, dir + "/cmds"});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
}

// Restarts named even when the test fails half-way.
struct DnsRestarter {
    const Lab& lab;
    ~DnsRestarter() { lab.start_dns(); }
};

}  // namespace

TEST_CASE("rfc2136: two values at one name coexist; cleanup removes only ours", "[dns]") {
    const Lab& lab = Lab::get();
    const std::string name = "_acme-challenge." + unique_label("coexist") + ".example.test.";
    nsupdate(lab, "update add " + name + " 60 TXT foreign-value\n");
    REQUIRE(lab.txt(name) == std::vector<std::string>{"foreign-value"});

    auto p = provider(lab_rfc2136(lab));
    const std::vector<ChallengeRecord> ours{record(name, "value-apex"),
                                            record(name, "value-wildcard")};
    REQUIRE(p->present(ours).ok());
    CHECK(sorted(lab.txt(name)) ==
          std::vector<std::string>{"foreign-value", "value-apex", "value-wildcard"});

    // Presenting again is harmless (retries after a lost reply).
    REQUIRE(p->present(ours).ok());
    CHECK(lab.txt(name).size() == 3);

    auto cleaned = p->cleanup(ours);
    INFO(why(cleaned));
    REQUIRE(cleaned.ok());
    CHECK(lab.txt(name) == std::vector<std::string>{"foreign-value"});
    // Removing what is already gone is fine.
    CHECK(p->cleanup(ours).ok());
    nsupdate(lab, "update delete " + name + " TXT\n");
}

TEST_CASE("rfc2136: one update per zone for records in several zones", "[dns]") {
    const Lab& lab = Lab::get();
    const std::string a = "_acme-challenge." + unique_label("multi-a") + ".example.test.";
    const std::string b = "_acme-challenge." + unique_label("multi-b") + ".example.test.";
    const std::string c = "_acme-challenge." + unique_label("multi") + ".lab.test.";
    const std::vector<ChallengeRecord> records{record(a, "va"), record(c, "vc"), record(b, "vb"),
                                               record(a, "va2")};
    const long example_before = soa_serial(lab, "example.test");
    const long lab_before = soa_serial(lab, "lab.test");

    auto p = provider(lab_rfc2136(lab));
    auto status = p->present(records);
    INFO(why(status));
    REQUIRE(status.ok());
    CHECK(sorted(lab.txt(a)) == std::vector<std::string>{"va", "va2"});
    CHECK(lab.txt(b) == std::vector<std::string>{"vb"});
    CHECK(lab.txt(c) == std::vector<std::string>{"vc"});
    // Three records in example.test went in as one update: one serial bump.
    CHECK(soa_serial(lab, "example.test") == example_before + 1);
    CHECK(soa_serial(lab, "lab.test") == lab_before + 1);

    REQUIRE(p->cleanup(records).ok());
    CHECK(lab.txt(a).empty());
    CHECK(lab.txt(c).empty());
    CHECK(soa_serial(lab, "example.test") == example_before + 2);
}

TEST_CASE("rfc2136: a wrong TSIG secret or key name is reported naming the key", "[dns]") {
    const Lab& lab = Lab::get();
    const std::string name = "_acme-challenge." + unique_label("badkey") + ".example.test.";

    auto wrong_secret = lab_rfc2136(lab);
    wrong_secret.tsig_secret = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
    auto status = provider(wrong_secret)->present({record(name, "v")});
    REQUIRE_FALSE(status.ok());
    const std::string msg = status.error().describe();
    CHECK(msg.find("rejected TSIG key '" + lab.tsig_name + "'") != std::string::npos);
    CHECK(msg.find("BADSIG") != std::string::npos);
    CHECK(msg.find("check tsig_name, tsig_algorithm and the secret file") != std::string::npos);
    CHECK(msg.find("AAAAAAAA") == std::string::npos);

    auto wrong_name = lab_rfc2136(lab);
    wrong_name.tsig_name = "no-such-key";
    auto status2 = provider(wrong_name)->present({record(name, "v")});
    REQUIRE_FALSE(status2.ok());
    CHECK(status2.error().message.find("rejected TSIG key 'no-such-key' (BADKEY)") !=
          std::string::npos);
    CHECK(lab.txt(name).empty());
}

TEST_CASE("rfc2136: a stopped DNS server gives a clear error quickly", "[dns]") {
    const Lab& lab = Lab::get();
    const std::string name = "_acme-challenge." + unique_label("down") + ".example.test.";
    lab.stop_dns();
    DnsRestarter restart{lab};

    auto config = lab_rfc2136(lab);
    config.timeout = core::Seconds(6);
    const auto start = Clock::now();
    auto status = provider(config)->present({record(name, "v")});
    const auto took = Clock::now() - start;
    REQUIRE_FALSE(status.ok());
    CHECK(status.error().kind == core::ErrorKind::Network);
    CHECK(status.error().message.find("DNS server " + lab.dns +
                                      " did not answer (is it running? firewall?)") !=
          std::string::npos);
    CHECK(took < 7s);

    auto resolver = lab_resolver(lab, core::Seconds(2));
    auto fqdn = resolver.resolve_challenge_fqdn("www.example.test");
    REQUIRE_FALSE(fqdn.ok());
    CHECK(fqdn.error().message.find(lab.dns) != std::string::npos);
}

TEST_CASE("challenge names follow CNAMEs and challenge_alias", "[dns]") {
    const Lab& lab = Lab::get();
    auto resolver = lab_resolver(lab);
    CHECK(resolver.resolve_challenge_fqdn("cname.example.test").value() ==
          "cname.acme-delegate.test.");
    CHECK(resolver.resolve_challenge_fqdn("*.cname.example.test").value() ==
          "cname.acme-delegate.test.");
    CHECK(resolver.resolve_challenge_fqdn("alias.example.test").value() ==
          "_acme-challenge.acme-delegate.test.");
    CHECK(resolver.resolve_challenge_fqdn("www.example.test").value() ==
          "_acme-challenge.www.example.test.");
    CHECK(resolver.resolve_challenge_fqdn("www.example.test", "acme-delegate.test").value() ==
          "_acme-challenge.acme-delegate.test.");

    CHECK(resolver.find_zone("cname.acme-delegate.test.").value() == "acme-delegate.test.");
    CHECK(resolver.find_zone("_acme-challenge.deep.www.example.test.").value() == "example.test.");
    CHECK(resolver.find_zone("lab.test.").value() == "lab.test.");
    auto servers = resolver.authoritative_servers("example.test.");
    REQUIRE(servers.ok());
    REQUIRE(servers->size() == 1);
    CHECK(servers->front().label() == lab.dns);

    // The records land where the CNAME points, and are checked there.
    const std::string target = resolver.resolve_challenge_fqdn("cname.example.test").value();
    auto p = provider(lab_rfc2136(lab));
    const std::vector<ChallengeRecord> records{record(target, unique_label("cname-value"))};
    REQUIRE(p->present(records).ok());
    CHECK(resolver.wait_for_propagation(records).ok());
    REQUIRE(p->cleanup(records).ok());
}

TEST_CASE("propagation wait returns once every server has the records", "[dns]") {
    const Lab& lab = Lab::get();
    auto resolver = lab_resolver(lab);
    const std::string a = "_acme-challenge." + unique_label("prop") + ".example.test.";
    const std::string b = "_acme-challenge." + unique_label("prop") + ".lab.test.";
    const std::vector<ChallengeRecord> records{record(a, "p1"), record(a, "p2"), record(b, "p3")};
    auto p = provider(lab_rfc2136(lab));

    // Published shortly after the wait starts: the quick re-polls find it.
    core::Status presented = core::fail(core::ErrorKind::Generic, "not run");
    std::thread late([&] {
        std::this_thread::sleep_for(300ms);
        presented = p->present(records);  // Catch2 assertions stay on the main thread
    });
    const auto start = Clock::now();
    auto status = resolver.wait_for_propagation(records);
    const auto took = Clock::now() - start;
    late.join();
    REQUIRE(presented.ok());
    INFO(why(status));
    CHECK(status.ok());
    CHECK(took >= 300ms);
    CHECK(took < 3s);
    REQUIRE(p->cleanup(records).ok());
}

TEST_CASE("propagation timeout names the lagging server and name", "[dns]") {
    const Lab& lab = Lab::get();
    auto resolver = lab_resolver(lab, core::Seconds(2));
    const std::string name = "_acme-challenge." + unique_label("never") + ".example.test.";
    const auto start = Clock::now();
    auto status = resolver.wait_for_propagation({record(name, "never-added")});
    const auto took = Clock::now() - start;
    REQUIRE_FALSE(status.ok());
    CHECK(status.error().kind == core::ErrorKind::Timeout);
    const std::string msg = status.error().message;
    CHECK(msg.find(name + " not yet at " + lab.dns + " (NXDOMAIN)") != std::string::npos);
    CHECK_FALSE(status.error().hint.empty());
    CHECK(took >= 2s);
    CHECK(took < 4s);

    // Cancellation ends the wait between polls.
    auto slow = lab_resolver(lab, core::Seconds(60));
    std::atomic<bool> cancel{false};
    std::thread stopper([&] {
        std::this_thread::sleep_for(400ms);
        cancel = true;
    });
    const auto start2 = Clock::now();
    auto cancelled = slow.wait_for_propagation({record(name, "never-added")}, &cancel);
    stopper.join();
    REQUIRE_FALSE(cancelled.ok());
    CHECK(cancelled.error().kind == core::ErrorKind::Cancelled);
    CHECK(Clock::now() - start2 < 2s);
}

TEST_CASE("rfc2136: an update the server's policy refuses gets a policy hint", "[dns]") {
    const Lab& lab = Lab::get();
    // The lab serves the root zone without any update policy.
    const std::string name = "_acme-challenge." + unique_label("refused") + ".";
    auto status = provider(lab_rfc2136(lab))->present({record(name, "v")});
    REQUIRE_FALSE(status.ok());
    CHECK(status.error().message.find("refused the update of zone . (REFUSED)") !=
          std::string::npos);
    CHECK(status.error().hint.find("update-policy") != std::string::npos);
    CHECK(status.error().hint.find(lab.tsig_name) != std::string::npos);
}

TEST_CASE("many values at one name: truncated UDP answers are retried over TCP", "[dns]") {
    const Lab& lab = Lab::get();
    const std::string name = "_acme-challenge." + unique_label("many") + ".lab.test.";
    std::vector<ChallengeRecord> records;
    for (int i = 0; i < 24; ++i) {
        // 43 characters, like a real base64url SHA-256 digest.
        std::string value = "value-" + std::to_string(100 + i) + "-";
        value.resize(43, 'x');
        records.push_back(record(name, value));
    }
    auto p = provider(lab_rfc2136(lab));
    REQUIRE(p->present(records).ok());
    CHECK(lab.txt(name).size() == records.size());
    auto status = lab_resolver(lab, core::Seconds(5)).wait_for_propagation(records);
    INFO(why(status));
    CHECK(status.ok());
    REQUIRE(p->cleanup(records).ok());
    CHECK(lab.txt(name).empty());
}
