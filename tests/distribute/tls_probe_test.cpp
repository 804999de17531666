// The TLS probe against a real `openssl s_server` (SNI picks the certificate),
// the in-process test server, and the ways a probe fails: refused, a server
// that never answers the handshake, a server that hangs up.
#include "distribute/tls_probe.hpp"

#include <chrono>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <thread>

#include "core/fs.hpp"
#include "support/deploy_test_support.hpp"

extern char** environ;

using namespace certfleet;
using namespace certfleet::distribute;
using namespace certfleet::distribute::test;
using std::chrono::milliseconds;
using SteadyClock = std::chrono::steady_clock;

namespace {

// `openssl s_server` in the background for the lifetime of this object.
class SServer {
public:
    explicit SServer(std::vector<std::string> args) {
        std::vector<char*> argv;
        for (auto& a : args) {
            argv.push_back(a.data());
        }
        argv.push_back(nullptr);
        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        for (int fd : {0, 1, 2}) {
            posix_spawn_file_actions_addopen(&actions, fd, "/dev/null",
                                             fd == 0 ? O_RDONLY : O_WRONLY, 0);
        }
        if (posix_spawnp(&m_pid, argv[0], &actions, nullptr, argv.data(), environ) != 0) {
            m_pid = -1;
        }
        posix_spawn_file_actions_destroy(&actions);
    }
    SServer(const SServer&) = delete;
    SServer& operator=(const SServer&) = delete;
    ~SServer() {
        if (m_pid > 0) {
            ::kill(m_pid, SIGTERM);
            int status = 0;
            ::waitpid(m_pid, &status, 0);
        }
    }
    bool started() const { return m_pid > 0; }

private:
    pid_t m_pid = -1;
};

// Retries until the server accepts (it needs a moment to start).
core::Result<ServedCertificate> probe_when_up(int port, const std::string& sni) {
    const auto deadline = SteadyClock::now() + std::chrono::seconds(10);
    for (;;) {
        auto served = probe_tls("127.0.0.1", port, sni, core::Seconds(2));
        if (served || SteadyClock::now() > deadline) {
            return served;
        }
        std::this_thread::sleep_for(milliseconds(50));
    }
}

bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("probe reads the leaf an openssl s_server serves, chosen by SNI", "[tls]") {
    TempDir tmp;
    const Material main = make_material("media", "v1", 0x5001, "default.example.test");
    const Material sni = make_material("media", "v2", 0x5002, "media.example.test");
    for (const auto& [name, text] :
         {std::pair{"c.pem", main.fullchain_pem}, std::pair{"k.pem", main.key_pem},
          std::pair{"c2.pem", sni.fullchain_pem}, std::pair{"k2.pem", sni.key_pem}}) {
        REQUIRE(core::write_file_atomic(tmp.path + "/" + name, text, 0600));
    }
    const int port = unused_port();
    SServer server({"openssl", "s_server", "-accept", "127.0.0.1:" + std::to_string(port), "-cert",
                    tmp.path + "/c.pem", "-key", tmp.path + "/k.pem", "-servername",
                    "media.example.test", "-cert2", tmp.path + "/c2.pem", "-key2",
                    tmp.path + "/k2.pem", "-www", "-quiet"});
    REQUIRE(server.started());

    auto served = probe_when_up(port, "media.example.test");
    REQUIRE(served.ok());
    CHECK(served->info.serial_hex == sni.serial_hex);
    CHECK(served->info.dns_names == std::vector<std::string>{"media.example.test"});
    // The PEM is the leaf alone, byte for byte what the server holds.
    CHECK(served->pem == sni.cert_pem);

    auto other = probe_tls("127.0.0.1", port, "other.example.test", core::Seconds(5));
    REQUIRE(other.ok());
    CHECK(other->info.serial_hex == main.serial_hex);
}

TEST_CASE("probe of a port nobody listens on: connection refused, at once", "[tls]") {
    const int port = unused_port();
    const auto start = SteadyClock::now();
    auto served = probe_tls("127.0.0.1", port, "media.example.test", core::Seconds(5));
    REQUIRE_FALSE(served.ok());
    CHECK(served.error().message == "TLS to 127.0.0.1:" + std::to_string(port) +
                                        " (SNI media.example.test): connection refused");
    CHECK(served.error().kind == core::ErrorKind::Network);
    CHECK(SteadyClock::now() - start < std::chrono::seconds(2));
}

TEST_CASE("probe of a server that never answers the handshake gives up at the deadline", "[tls]") {
    // Listening but never accepting: the kernel completes the TCP handshake,
    // nobody answers the ClientHello.
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    REQUIRE(::listen(fd, 4) == 0);
    socklen_t len = sizeof addr;
    REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0);

    const auto start = SteadyClock::now();
    auto served = probe_tls("127.0.0.1", ntohs(addr.sin_port), "", milliseconds(700));
    const auto elapsed = SteadyClock::now() - start;
    ::close(fd);
    REQUIRE_FALSE(served.ok());
    CHECK(contains(served.error().message, "TLS handshake timed out after 0.7s"));
    CHECK(served.error().kind == core::ErrorKind::Timeout);
    CHECK(elapsed >= milliseconds(650));
    CHECK(elapsed < milliseconds(2500));
}

TEST_CASE("probe against the in-process server; IP literals send no SNI", "[tls]") {
    const Material m = make_material("media", "v1", 0x5003);
    TlsServer server([&] { return std::optional<Pair>(Pair{m.fullchain_pem, m.key_pem}); });
    auto served = probe_tls("127.0.0.1", server.port(), "127.0.0.1", core::Seconds(5));
    REQUIRE(served.ok());
    CHECK(served->info.serial_hex == m.serial_hex);
    auto no_sni = probe_tls("localhost", server.port(), "", core::Seconds(5));
    REQUIRE(no_sni.ok());
    CHECK(no_sni->info.sha256_fingerprint == served->info.sha256_fingerprint);
}

TEST_CASE("probe of a server that hangs up mid-handshake, and of bad input", "[tls]") {
    TlsServer server([] { return std::optional<Pair>(); });
    auto served = probe_tls("127.0.0.1", server.port(), "media.example.test", core::Seconds(5));
    REQUIRE_FALSE(served.ok());
    CHECK(served.error().message.starts_with("TLS to 127.0.0.1:" + std::to_string(server.port()) +
                                             " (SNI media.example.test): "));
    CHECK(served.error().kind == core::ErrorKind::Network);

    auto bad_port = probe_tls("127.0.0.1", 0, "x", core::Seconds(1));
    REQUIRE_FALSE(bad_port.ok());
    CHECK(contains(bad_port.error().message, "invalid port"));
}
