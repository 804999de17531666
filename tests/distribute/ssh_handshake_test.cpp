// An sshd past MaxStartups closes new connections before its greeting: the
// SSH transport tries again a few times with a short random pause, then says
// what happened and what to change. A server that greets and then fails is
// not retried.
#include <arpa/inet.h>
#include <atomic>
#include <chrono>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "distribute/ssh_transport.hpp"

using namespace certfleet;
using Catch::Matchers::Contains;

namespace {

// Accepts connections on 127.0.0.1 and closes each at once, optionally after
// writing `greeting` -- what sshd does with connections past MaxStartups.
class ClosingServer {
public:
    explicit ClosingServer(std::string greeting = "") : m_greeting(std::move(greeting)) {
        m_fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        REQUIRE(::bind(m_fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
        REQUIRE(::listen(m_fd, 16) == 0);
        socklen_t len = sizeof addr;
        REQUIRE(::getsockname(m_fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
        m_port = ntohs(addr.sin_port);
        m_thread = std::thread([this] {
            while (!m_stop) {
                pollfd p{m_fd, POLLIN, 0};
                if (::poll(&p, 1, 50) <= 0)
                    continue;
                const int conn = ::accept4(m_fd, nullptr, nullptr, SOCK_CLOEXEC);
                if (conn < 0)
                    continue;
                ++m_accepted;
                if (!m_greeting.empty())
                    (void)::send(conn, m_greeting.data(), m_greeting.size(), MSG_NOSIGNAL);
                ::close(conn);
            }
        });
    }
    ClosingServer(const ClosingServer&) = delete;
    ClosingServer& operator=(const ClosingServer&) = delete;
    ~ClosingServer() {
        m_stop = true;
        m_thread.join();
        ::close(m_fd);
    }
    int port() const { return m_port; }
    int accepted() const { return m_accepted; }

private:
    std::string m_greeting;
    int m_fd = -1;
    int m_port = 0;
    std::atomic<int> m_accepted{0};
    std::atomic<bool> m_stop{false};
    std::thread m_thread;
};

distribute::SshOptions options(int port) {
    distribute::SshOptions o;
    o.host_name = "cdn-7";
    o.address = "127.0.0.1";
    o.port = port;
    o.user = "root";
    o.known_hosts = "/nonexistent/known_hosts";
    o.connect_timeout = core::Seconds(5);
    o.operation_timeout = core::Seconds(5);
    o.use_agent = false;
    return o;
}

}  // namespace

TEST_CASE("a connection dropped before the greeting is retried, then explained", "[ssh]") {
    ClosingServer server;
    distribute::SshTransport transport(options(server.port()));
    const auto started = std::chrono::steady_clock::now();
    auto s = transport.connect();
    const auto took = std::chrono::steady_clock::now() - started;
    REQUIRE_FALSE(s.ok());
    CHECK(server.accepted() == 4);
    CHECK_THAT(s.error().message, Contains("cdn-7: SSH handshake with 127.0.0.1:"));
    CHECK_THAT(s.error().message,
               Contains("the server closed the connection before greeting (4 attempts)"));
    CHECK_THAT(s.error().hint, Contains("MaxStartups"));
    CHECK_THAT(s.error().hint, Contains("--concurrency"));
    // Pauses of 0.1-0.2, 0.2-0.4 and 0.4-0.8 s.
    CHECK(took >= std::chrono::milliseconds(700));
    CHECK(took < std::chrono::seconds(4));
}

TEST_CASE("a server that greets and then hangs up is not retried", "[ssh]") {
    ClosingServer server("SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n");
    distribute::SshTransport transport(options(server.port()));
    auto s = transport.connect();
    REQUIRE_FALSE(s.ok());
    CHECK(server.accepted() == 1);
    CHECK_THAT(s.error().message, !Contains("before greeting"));
}
