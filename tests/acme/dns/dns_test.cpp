#include <arpa/inet.h>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <netinet/in.h>
#include <set>
#include <sstream>
#include <stdexcept>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "acme/dns/exec.hpp"
#include "acme/dns/factory.hpp"
#include "acme/dns/names.hpp"
#include "acme/dns/resolver.hpp"
#include "acme/dns/rfc2136.hpp"

using namespace certfleet;
using namespace certfleet::acme::dns;
namespace fs = std::filesystem;

namespace {

// A scratch dir with an executable script that logs its argv, one call a line.
struct ScriptDir {
    fs::path dir;
    explicit ScriptDir(const std::string& body) {
        dir = fs::temp_directory_path() /
              ("certfleet-dns-test-" + std::to_string(::getpid()) + "-" +
               std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()));
        fs::create_directories(dir);
        std::ofstream(dir / "hook") << "#!/bin/sh\n" << body << "\n";
        fs::permissions(dir / "hook", fs::perms::owner_all);
    }
    ~ScriptDir() { fs::remove_all(dir); }
    std::string hook() const { return (dir / "hook").string(); }
    std::string log() const {
        std::ifstream in(dir / "log");
        std::stringstream s;
        s << in.rdbuf();
        return s.str();
    }
};

ChallengeRecord record(std::string fqdn, std::string value, std::string domain = "example.org") {
    return ChallengeRecord{std::move(fqdn), std::move(value), std::move(domain), "tok-1",
                           "tok-1.thumb"};
}

std::unique_ptr<DnsProvider> exec_provider(const std::string& command, ExecConfig::Mode mode,
                                           core::Seconds timeout = core::Seconds(10)) {
    ExecConfig config;
    config.name = "hook";
    config.command = command;
    config.mode = mode;
    config.timeout = timeout;
    auto p = make_provider(config);
    REQUIRE(p.ok());
    return std::move(p).value();
}

}  // namespace

TEST_CASE("exec provider: lego argv for present and cleanup", "[dns]") {
    ScriptDir s("echo \"$*\" >> \"$(dirname \"$0\")/log\"");
    auto provider = exec_provider(s.hook() + "  --flag\tx", ExecConfig::Mode::Default);
    std::vector<ChallengeRecord> records{record("_acme-challenge.example.org.", "v1"),
                                         record("_acme-challenge.example.org", "v2")};
    REQUIRE(provider->present(records).ok());
    REQUIRE(provider->cleanup(records).ok());
    CHECK(s.log() ==
          "--flag x present _acme-challenge.example.org. v1\n"
          "--flag x present _acme-challenge.example.org. v2\n"
          "--flag x cleanup _acme-challenge.example.org. v1\n"
          "--flag x cleanup _acme-challenge.example.org. v2\n");
    CHECK(provider->describe() == "exec hook (" + s.hook() + ")");
    CHECK(provider->timeout() == core::Seconds(10));
}

TEST_CASE("exec provider: raw mode passes domain, token and key authorization", "[dns]") {
    ScriptDir s("echo \"$*\" >> \"$(dirname \"$0\")/log\"");
    auto provider = exec_provider(s.hook(), ExecConfig::Mode::Raw);
    REQUIRE(
        provider->present({record("_acme-challenge.example.org.", "v1", "*.example.org")}).ok());
    REQUIRE(provider->cleanup({record("_acme-challenge.example.org.", "v1")}).ok());
    CHECK(s.log() ==
          "present -- example.org tok-1 tok-1.thumb\n"
          "cleanup -- example.org tok-1 tok-1.thumb\n");
}

TEST_CASE("exec provider: non-zero exit shows the command's stderr", "[dns]") {
    ScriptDir s("echo 'zone example.org not managed here' >&2\nexit 4");
    auto provider = exec_provider(s.hook(), ExecConfig::Mode::Default);
    auto status = provider->present({record("_acme-challenge.example.org.", "v1")});
    REQUIRE_FALSE(status.ok());
    const auto& msg = status.error().message;
    CHECK(msg.find("exit code 4") != std::string::npos);
    CHECK(msg.find("zone example.org not managed here") != std::string::npos);
    CHECK(msg.find("_acme-challenge.example.org.") != std::string::npos);

    // Clean-up keeps going after a failure and reports it.
    auto cleanup = provider->cleanup(
        {record("_acme-challenge.a.example.", "v1"), record("_acme-challenge.b.example.", "v2")});
    CHECK_FALSE(cleanup.ok());
}

TEST_CASE("exec provider: timeout kills the command with a clear error", "[dns]") {
    ScriptDir s("sleep 30");
    auto provider = exec_provider(s.hook(), ExecConfig::Mode::Default, core::Seconds(1));
    const auto start = std::chrono::steady_clock::now();
    auto status = provider->present({record("_acme-challenge.example.org.", "v1")});
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(4));
    REQUIRE_FALSE(status.ok());
    CHECK(status.error().kind == core::ErrorKind::Timeout);
    CHECK(status.error().message.find("did not finish within 1s") != std::string::npos);
}

TEST_CASE("exec provider: missing command and empty command", "[dns]") {
    auto provider = exec_provider("/nonexistent/dns-hook", ExecConfig::Mode::Default);
    auto status = provider->present({record("_acme-challenge.example.org.", "v1")});
    REQUIRE_FALSE(status.ok());
    CHECK(status.error().message.find("/nonexistent/dns-hook") != std::string::npos);

    ExecConfig empty;
    empty.command = "  ";
    CHECK_FALSE(make_provider(empty).ok());
    CHECK(split_command(" a  b\tc ") == std::vector<std::string>{"a", "b", "c"});
}

TEST_CASE("rfc2136 provider: configuration is validated without network", "[dns]") {
    Rfc2136Config c;
    c.server = "127.0.0.1:5300";
    c.tsig_name = "certfleet-key";
    c.tsig_secret = "c2VjcmV0LXNlY3JldC1zZWNyZXQ=\n";
    auto ok = make_provider(c);
    REQUIRE(ok.ok());
    CHECK(ok.value()->describe() == "rfc2136 (127.0.0.1:5300)");

    auto bad_secret = c;
    bad_secret.tsig_secret = "not base64!";
    auto e = make_provider(bad_secret);
    REQUIRE_FALSE(e.ok());
    CHECK(e.error().message.find("not base64") != std::string::npos);
    CHECK(e.error().message.find("not base64!") == std::string::npos);  // secret never echoed

    auto bad_port = c;
    bad_port.server = "127.0.0.1:99999";
    CHECK_FALSE(make_provider(bad_port).ok());

    CHECK(ldns_tsig_algorithm("HMAC-SHA512").value() == "hmac-sha512.");
    CHECK(ldns_tsig_algorithm("hmac-sha1").value() == "hmac-sha1.");
    CHECK_FALSE(ldns_tsig_algorithm("hmac-sha384").ok());
    CHECK_FALSE(ldns_tsig_algorithm("rot13").ok());
}

TEST_CASE("challenge names: wildcard stripped, alias used, normalized", "[dns]") {
    CHECK(challenge_name("example.org") == "_acme-challenge.example.org.");
    CHECK(challenge_name("*.Example.ORG") == "_acme-challenge.example.org.");
    CHECK(challenge_name("*.example.org", "validation.example.net") ==
          "_acme-challenge.validation.example.net.");
    CHECK(normalize_fqdn("a.B.") == "a.b.");
    CHECK(parent_name("a.b.example.") == "b.example.");
    CHECK(parent_name("example.") == ".");
    CHECK(parent_name(".").empty());
    CHECK(name_is_subdomain_of("a.example.org.", "example.org."));
    CHECK(name_is_subdomain_of("example.org.", "example.org."));
    CHECK_FALSE(name_is_subdomain_of("badexample.org.", "example.org."));
}

TEST_CASE("server addresses parse with and without port", "[dns]") {
    CHECK(parse_server("127.0.53.2:8053").value().label() == "127.0.53.2:8053");
    CHECK(parse_server("10.0.0.1").value().port == 53);
    CHECK(parse_server("[::1]:5353").value().label() == "[::1]:5353");
    CHECK(parse_server("::1").value().host == "::1");
    CHECK(parse_server("ns1.example.org:53").value().host == "ns1.example.org");
    CHECK_FALSE(parse_server(":53").ok());
    CHECK_FALSE(parse_server("host:").ok());
    CHECK_FALSE(parse_server("host:x").ok());
    auto conf = parse_resolv_conf("# c\nsearch x\nnameserver 10.1.1.1\nnameserver fe80::1%eth0\n");
    REQUIRE(conf.size() == 2);
    CHECK(conf[1].label() == "[fe80::1]:53");
    CHECK(parse_resolv_conf("").front().label() == "127.0.0.1:53");
}

TEST_CASE("CNAME chains are followed, bounded, and loops rejected", "[dns]") {
    std::map<std::string, std::string> cnames{
        {"_acme-challenge.a.example.", "A.Delegate.Example"},
        {"a.delegate.example.", "final.acme-dns.example."},
        {"_acme-challenge.loop.example.", "x.example."},
        {"x.example.", "_acme-challenge.loop.example."},
    };
    CnameLookup lookup = [&](const std::string& name) -> core::Result<std::string> {
        auto it = cnames.find(name);
        return it == cnames.end() ? std::string() : it->second;
    };
    CHECK(follow_cname_chain("_acme-challenge.a.example.", lookup).value() ==
          "final.acme-dns.example.");
    CHECK(follow_cname_chain("_acme-challenge.none.example.", lookup).value() ==
          "_acme-challenge.none.example.");
    auto loop = follow_cname_chain("_acme-challenge.loop.example.", lookup);
    REQUIRE_FALSE(loop.ok());
    CHECK(loop.error().message.find("loop") != std::string::npos);

    int calls = 0;
    CnameLookup endless = [&](const std::string&) -> core::Result<std::string> {
        return "n" + std::to_string(++calls) + ".example.";
    };
    CHECK_FALSE(follow_cname_chain("start.example.", endless, 8).ok());
    CHECK(calls == 9);

    CnameLookup failing = [](const std::string&) -> core::Result<std::string> {
        return core::fail(core::ErrorKind::Network, "DNS server x did not answer");
    };
    CHECK(follow_cname_chain("a.example.", failing).error().kind == core::ErrorKind::Network);
}

TEST_CASE("records are grouped by zone, duplicates dropped, order kept", "[dns]") {
    std::vector<std::string> asked;
    ZoneLookup zone_of = [&](const std::string& fqdn) -> core::Result<std::string> {
        asked.push_back(fqdn);
        if (fqdn.find("lab.test.") != std::string::npos) {
            return std::string("lab.test.");
        }
        return std::string("Example.Test");
    };
    std::vector<ChallengeRecord> records{
        record("_acme-challenge.example.test.", "v1"), record("_acme-challenge.a.lab.test", "v2"),
        record("_acme-challenge.example.test.", "v3"),  // second value at one name
        record("_acme-challenge.EXAMPLE.test.", "v1"),  // exact duplicate
    };
    auto batches = group_by_zone(records, zone_of);
    REQUIRE(batches.ok());
    REQUIRE(batches->size() == 2);
    CHECK((*batches)[0].zone == "example.test.");
    REQUIRE((*batches)[0].records.size() == 2);
    CHECK((*batches)[0].records[1].value == "v3");
    CHECK((*batches)[1].zone == "lab.test.");
    CHECK((*batches)[1].records[0].fqdn == "_acme-challenge.a.lab.test.");
    CHECK(asked.size() == 3);

    ZoneLookup broken = [](const std::string&) -> core::Result<std::string> {
        return core::fail(core::ErrorKind::Dns, "no SOA");
    };
    CHECK_FALSE(group_by_zone(records, broken).ok());
    CHECK(names_summary(records) == "_acme-challenge.example.test. and 2 more");
}

namespace {

// A UDP socket that never answers: a DNS server behind a silent firewall.
struct SilentServer {
    int fd = -1;
    std::uint16_t port = 0;
    SilentServer() {
        fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        REQUIRE(::bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0);
        socklen_t len = sizeof addr;
        REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
        port = ntohs(addr.sin_port);
    }
    ~SilentServer() { ::close(fd); }
    std::string address() const { return "127.0.0.1:" + std::to_string(port); }
};

}  // namespace

TEST_CASE("rfc2136 provider: a silent server fails within the provider timeout", "[dns]") {
    SilentServer silent;
    Rfc2136Config c;
    c.server = silent.address();
    c.tsig_name = "certfleet-key";
    c.tsig_secret = "c2VjcmV0LXNlY3JldC1zZWNyZXQ=";
    c.timeout = core::Seconds(2);
    auto provider = make_provider(c);
    REQUIRE(provider.ok());
    const auto start = std::chrono::steady_clock::now();
    auto status = provider.value()->present({record("_acme-challenge.example.org.", "v")});
    const auto took = std::chrono::steady_clock::now() - start;
    REQUIRE_FALSE(status.ok());
    CHECK(status.error().kind == core::ErrorKind::Network);
    CHECK(status.error().message ==
          "DNS server " + silent.address() +
              " did not answer (is it running? firewall?): no reply in time");
    CHECK(took >= std::chrono::milliseconds(1500));
    CHECK(took < std::chrono::milliseconds(2800));
}

TEST_CASE("propagation check: a silent server is reported as lagging, bounded", "[dns]") {
    SilentServer silent;
    ResolverConfig c;
    c.nameservers = {silent.address()};
    c.propagation_timeout = core::Seconds(1);
    c.query_timeout = std::chrono::milliseconds(300);
    auto resolver = Resolver::create(c);
    REQUIRE(resolver.ok());
    const auto start = std::chrono::steady_clock::now();
    auto status = resolver->wait_for_propagation({record("_acme-challenge.example.org.", "v")});
    const auto took = std::chrono::steady_clock::now() - start;
    REQUIRE_FALSE(status.ok());
    CHECK(status.error().kind == core::ErrorKind::Timeout);
    CHECK(status.error().message.find("_acme-challenge.example.org. not yet at " +
                                      silent.address() + " (no answer)") != std::string::npos);
    CHECK(took < std::chrono::milliseconds(1800));

    std::atomic<bool> cancel{true};
    auto cancelled =
        resolver->wait_for_propagation({record("_acme-challenge.example.org.", "v")}, &cancel);
    CHECK(cancelled.error().kind == core::ErrorKind::Cancelled);
}

TEST_CASE("propagation check: a check that throws is that server's reason, the others go on",
          "[dns]") {
    ResolverConfig c;
    c.nameservers = {"127.0.0.1:5301", "127.0.0.1:5302"};
    c.propagation_timeout = core::Seconds(1);
    std::atomic<int> asked_second{0};
    c.check_with = [&](const std::string& server, const std::string&, const std::set<std::string>&,
                       std::chrono::milliseconds) -> std::string {
        if (server.find("5301") != std::string::npos)
            throw std::runtime_error("resolver exploded");
        ++asked_second;
        return "";  // the second server has the record
    };
    auto resolver = Resolver::create(c);
    REQUIRE(resolver.ok());
    auto status = resolver->wait_for_propagation({record("_acme-challenge.example.org.", "v")});
    REQUIRE_FALSE(status.ok());
    CHECK(status.error().kind == core::ErrorKind::Timeout);
    INFO(status.error().message);
    CHECK(status.error().message.find("_acme-challenge.example.org. not yet at 127.0.0.1:5301 "
                                      "(check failed: resolver exploded)") != std::string::npos);
    CHECK(status.error().message.find("5302") == std::string::npos);
    CHECK(asked_second == 1);  // answered in the first round, not asked again
}
