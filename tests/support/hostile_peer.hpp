// Hostile peers for the [hostile] tests: a TCP listener and a UDP socket on
// 127.0.0.1 (ephemeral ports) whose behaviour each test scripts. Every thread
// they start is joined by their destructor, and every wait inside them polls
// a stop flag, so a test never hangs on a client that went away.
#pragma once

#include <algorithm>
#include <arpa/inet.h>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <functional>
#include <netinet/in.h>
#include <optional>
#include <poll.h>
#include <string>
#include <string_view>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>
#include <utility>
#include <vector>

#include <catch2/catch.hpp>

#include "core/http.hpp"

namespace certfleet::test::hostile {

// HTTP client limits small enough that a stalled peer costs about a second,
// not the defaults' 30 s.
inline core::HttpOptions tight_http_options() {
    core::HttpOptions o;
    o.connect_timeout = core::Seconds(2);
    o.total_timeout = core::Seconds(3);
    o.stall_timeout = core::Seconds(1);
    o.stall_bytes_per_second = 16;
    o.max_body_bytes = 64 * 1024;
    return o;
}

using SteadyClock = std::chrono::steady_clock;
using std::chrono::milliseconds;

inline double seconds_since(SteadyClock::time_point start) {
    return std::chrono::duration<double>(SteadyClock::now() - start).count();
}

inline bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

// A socket of `type` bound to 127.0.0.1:`port` (0: an ephemeral port).
inline int bound_socket(int type, int port = 0) {
    const int fd = ::socket(AF_INET, type | SOCK_CLOEXEC, 0);
    REQUIRE(fd >= 0);
    const int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<uint16_t>(port));
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    return fd;
}

inline int local_port(int fd) {
    sockaddr_in addr{};
    socklen_t len = sizeof addr;
    REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
    return ntohs(addr.sin_port);
}

// One accepted TCP connection, as its handler sees it.
class Connection {
public:
    Connection(int fd, const std::atomic<bool>& stop) : m_fd(fd), m_stop(stop) {}
    ~Connection() { ::close(m_fd); }
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    bool stopping() const { return m_stop.load(); }

    // Sends all of `data`; false once the client has gone or the peer stops.
    bool send(std::string_view data) {
        while (!data.empty() && !stopping()) {
            pollfd p{m_fd, POLLOUT, 0};
            if (::poll(&p, 1, 20) <= 0) {
                continue;
            }
            const ssize_t n = ::send(m_fd, data.data(), data.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
            if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
                continue;
            }
            if (n <= 0) {
                return false;
            }
            data.remove_prefix(static_cast<std::size_t>(n));
        }
        return data.empty();
    }

    // Waits `d` (less when the peer stops); false when stopping.
    bool pause(milliseconds d) const {
        const auto until = SteadyClock::now() + d;
        while (!stopping() && SteadyClock::now() < until) {
            std::this_thread::sleep_for(milliseconds(10));
        }
        return !stopping();
    }

    // Reads until `terminator` has arrived (kept in the result) or `max`
    // bytes; what came so far when the client closes or the peer stops.
    std::string read_until(std::string_view terminator, std::size_t max = 1 << 20) {
        while (m_buffer.find(terminator) == std::string::npos && m_buffer.size() < max) {
            if (!read_some()) {
                return std::exchange(m_buffer, {});
            }
        }
        const auto end = std::min(m_buffer.size(), m_buffer.find(terminator) + terminator.size());
        std::string out = m_buffer.substr(0, end);
        m_buffer.erase(0, end);
        return out;
    }

    std::string read_exact(std::size_t n) {
        while (m_buffer.size() < n && read_some()) {
        }
        std::string out = m_buffer.substr(0, std::min(n, m_buffer.size()));
        m_buffer.erase(0, out.size());
        return out;
    }

    // Blocks until the client closes the connection or the peer stops: a
    // peer that accepted and never answers.
    void wait_for_close() {
        while (read_some()) {
            m_buffer.clear();
        }
    }

private:
    // False on close, error or stop.
    bool read_some() {
        while (!stopping()) {
            pollfd p{m_fd, POLLIN, 0};
            if (::poll(&p, 1, 20) <= 0) {
                continue;
            }
            char buf[4096];
            const ssize_t n = ::recv(m_fd, buf, sizeof buf, 0);
            if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
                continue;
            }
            if (n <= 0) {
                return false;
            }
            m_buffer.append(buf, static_cast<std::size_t>(n));
            return true;
        }
        return false;
    }

    int m_fd;
    const std::atomic<bool>& m_stop;
    std::string m_buffer;
};

// Accepts on 127.0.0.1 and runs `handler` for each connection on its own
// thread (at most `max_connections`; later ones are closed at once).
class TcpPeer {
public:
    using Handler = std::function<void(Connection&)>;
    explicit TcpPeer(Handler handler, int port = 0, int max_connections = 32)
        : m_handler(std::move(handler)), m_max(max_connections) {
        m_fd = bound_socket(SOCK_STREAM, port);
        REQUIRE(::listen(m_fd, 16) == 0);
        m_port = local_port(m_fd);
        m_thread = std::thread([this] { accept_loop(); });
    }
    ~TcpPeer() {
        m_stop = true;
        m_thread.join();
        for (auto& worker : m_workers) {
            worker.join();
        }
        ::close(m_fd);
    }
    TcpPeer(const TcpPeer&) = delete;
    TcpPeer& operator=(const TcpPeer&) = delete;

    int port() const { return m_port; }
    int connections() const { return m_accepted.load(); }
    std::string url(const std::string& path) const {
        return "http://127.0.0.1:" + std::to_string(m_port) + path;
    }

private:
    void accept_loop() {
        while (!m_stop) {
            pollfd p{m_fd, POLLIN, 0};
            if (::poll(&p, 1, 20) <= 0) {
                continue;
            }
            const int conn = ::accept4(m_fd, nullptr, nullptr, SOCK_CLOEXEC);
            if (conn < 0) {
                continue;
            }
            if (++m_accepted > m_max) {
                ::close(conn);
                continue;
            }
            m_workers.emplace_back([this, conn] {
                Connection c(conn, m_stop);
                m_handler(c);
            });
        }
    }

    Handler m_handler;
    int m_max;
    int m_fd = -1;
    int m_port = 0;
    std::atomic<int> m_accepted{0};
    std::atomic<bool> m_stop{false};
    std::vector<std::thread> m_workers;  // only the accept thread adds
    std::thread m_thread;
};

// Receives datagrams on 127.0.0.1 and sends back what `handler` returns for
// each (nothing: silence).
class UdpPeer {
public:
    using Handler = std::function<std::vector<std::string>(const std::string& datagram)>;
    explicit UdpPeer(Handler handler) : m_handler(std::move(handler)) {
        m_fd = bound_socket(SOCK_DGRAM);
        m_port = local_port(m_fd);
        m_thread = std::thread([this] { loop(); });
    }
    ~UdpPeer() {
        m_stop = true;
        m_thread.join();
        ::close(m_fd);
    }
    UdpPeer(const UdpPeer&) = delete;
    UdpPeer& operator=(const UdpPeer&) = delete;

    int port() const { return m_port; }
    std::string address() const { return "127.0.0.1:" + std::to_string(m_port); }
    int received() const { return m_received.load(); }

private:
    void loop() {
        std::string buf(65535, '\0');
        while (!m_stop) {
            pollfd p{m_fd, POLLIN, 0};
            if (::poll(&p, 1, 20) <= 0) {
                continue;
            }
            sockaddr_in from{};
            socklen_t len = sizeof from;
            const ssize_t n = ::recvfrom(m_fd, buf.data(), buf.size(), 0,
                                         reinterpret_cast<sockaddr*>(&from), &len);
            if (n <= 0) {
                continue;
            }
            ++m_received;
            for (const auto& reply : m_handler(buf.substr(0, static_cast<std::size_t>(n)))) {
                ::sendto(m_fd, reply.data(), reply.size(), 0, reinterpret_cast<sockaddr*>(&from),
                         len);
            }
        }
    }

    Handler m_handler;
    int m_fd = -1;
    int m_port = 0;
    std::atomic<int> m_received{0};
    std::atomic<bool> m_stop{false};
    std::thread m_thread;
};

// --- HTTP/1.1 on top of a Connection -------------------------------------

struct SeenRequest {
    std::string method;
    std::string path;
    std::string body;
};

// Reads one request (headers, then a Content-Length body); nullopt when the
// client closed first.
inline std::optional<SeenRequest> read_http_request(Connection& c) {
    const std::string head = c.read_until("\r\n\r\n", 64 * 1024);
    if (!head.ends_with("\r\n\r\n")) {
        return std::nullopt;
    }
    SeenRequest r;
    const auto space = head.find(' ');
    r.method = head.substr(0, space);
    r.path = head.substr(space + 1, head.find(' ', space + 1) - space - 1);
    std::string lower = head;
    for (char& ch : lower) {
        ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    }
    if (const auto at = lower.find("\r\ncontent-length:"); at != std::string::npos) {
        r.body = c.read_exact(std::stoul(lower.substr(at + 17)));
    }
    return r;
}

// A complete response that closes the connection.
inline std::string http_response(int status, const std::string& body,
                                 const std::vector<std::string>& headers = {},
                                 const std::string& content_type = "application/json") {
    std::string out = "HTTP/1.1 " + std::to_string(status) + " Whatever\r\n";
    out += "Content-Type: " + content_type + "\r\n";
    out += "Content-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n";
    for (const auto& h : headers) {
        out += h + "\r\n";
    }
    return out + "\r\n" + body;
}

}  // namespace certfleet::test::hostile
