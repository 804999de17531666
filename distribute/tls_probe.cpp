#include "distribute/tls_probe.hpp"

#include <algorithm>
#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <memory>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>
#include <utility>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "core/sigpipe_guard.hpp"
#include "core/strings.hpp"

namespace certfleet::distribute {

namespace {

using core::ErrorKind;
using core::fail;
using core::Result;
using std::chrono::milliseconds;
using SteadyClock = std::chrono::steady_clock;

class Socket {
public:
    explicit Socket(int fd) : m_fd(fd) {}
    Socket(const Socket&) = delete;
    Socket& operator=(const Socket&) = delete;
    Socket(Socket&& o) noexcept : m_fd(std::exchange(o.m_fd, -1)) {}
    ~Socket() {
        if (m_fd >= 0) {
            ::close(m_fd);
        }
    }
    int get() const { return m_fd; }

private:
    int m_fd;
};

struct SslCtxFree {
    void operator()(SSL_CTX* c) const { SSL_CTX_free(c); }
};
struct SslFree {
    void operator()(SSL* s) const { SSL_free(s); }
};
struct X509Free {
    void operator()(X509* x) const { X509_free(x); }
};

// OpenSSL keeps errors per thread; never let a stale one leak into (or out of)
// a probe, since libcurl and libssh2 share the queue.
class ErrorQueueScope {
public:
    ErrorQueueScope() { ERR_clear_error(); }
    ErrorQueueScope(const ErrorQueueScope&) = delete;
    ErrorQueueScope& operator=(const ErrorQueueScope&) = delete;
    ~ErrorQueueScope() { ERR_clear_error(); }
};

std::string errno_text(int err) {
    return core::lower_first(core::errno_text(err));
}

std::string seconds_text(milliseconds ms) {
    const auto tenths = (ms.count() + 50) / 100;
    return std::to_string(tenths / 10) + (tenths % 10 ? "." + std::to_string(tenths % 10) : "") +
           "s";
}

bool is_ip_literal(const std::string& name) {
    unsigned char buf[sizeof(in6_addr)];
    return inet_pton(AF_INET, name.c_str(), buf) == 1 ||
           inet_pton(AF_INET6, name.c_str(), buf) == 1;
}

int remaining_ms(SteadyClock::time_point deadline) {
    const auto left = std::chrono::duration_cast<milliseconds>(deadline - SteadyClock::now());
    return static_cast<int>(std::clamp<long long>(left.count(), 0, 24 * 3600 * 1000));
}

// 1: ready, 0: deadline passed, -1: poll failed (errno set).
int wait_for(int fd, short events, SteadyClock::time_point deadline) {
    for (;;) {
        pollfd p{fd, events, 0};
        const int n = ::poll(&p, 1, remaining_ms(deadline));
        if (n > 0) {
            return 1;
        }
        if (n == 0 && remaining_ms(deadline) == 0) {
            return 0;
        }
        if (n == 0) {
            continue;  // woke a rounding error early
        }
        if (errno != EINTR) {
            return -1;
        }
    }
}

struct Probe {
    const std::string& address;
    int port;
    const std::string& server_name;
    milliseconds timeout;
    SteadyClock::time_point deadline;

    std::string where() const {
        const bool v6 = address.find(':') != std::string::npos && !address.starts_with('[');
        std::string text =
            "TLS to " + (v6 ? "[" + address + "]" : address) + ":" + std::to_string(port);
        if (!server_name.empty()) {
            text += " (SNI " + server_name + ")";
        }
        return text;
    }
    core::Failure error(ErrorKind kind, const std::string& what) const {
        return fail(kind, where() + ": " + what);
    }
};

Result<Socket> connect_tcp(const Probe& p) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    addrinfo* found = nullptr;
    const std::string service = std::to_string(p.port);
    // "[2001:db8::1]" as people write it next to a port.
    std::string host = p.address;
    if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
        host = host.substr(1, host.size() - 2);
    }
    if (const int rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &found); rc != 0) {
        return p.error(ErrorKind::Network, "cannot resolve " + p.address + ": " + gai_strerror(rc));
    }
    std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> list(found, ::freeaddrinfo);

    std::string last_error = "no address";
    for (const addrinfo* ai = list.get(); ai != nullptr; ai = ai->ai_next) {
        Socket sock(::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                             ai->ai_protocol));
        if (sock.get() < 0) {
            last_error = errno_text(errno);
            continue;
        }
        if (::connect(sock.get(), ai->ai_addr, ai->ai_addrlen) == 0) {
            return sock;
        }
        if (errno != EINPROGRESS) {
            last_error = errno_text(errno);
            continue;
        }
        const int ready = wait_for(sock.get(), POLLOUT, p.deadline);
        if (ready == 0) {
            return p.error(ErrorKind::Timeout,
                           "connect timed out after " + seconds_text(p.timeout));
        }
        int err = 0;
        socklen_t len = sizeof err;
        if (ready < 0 || ::getsockopt(sock.get(), SOL_SOCKET, SO_ERROR, &err, &len) != 0) {
            err = errno;
        }
        if (err == 0) {
            return sock;
        }
        last_error = errno_text(err);
    }
    return p.error(ErrorKind::Network, last_error);
}

std::string openssl_reason() {
    const unsigned long e = ERR_get_error();
    if (e == 0) {
        return "unknown error";
    }
    const char* reason = ERR_reason_error_string(e);
    return reason != nullptr ? reason : "error " + std::to_string(e);
}

Result<ServedCertificate> handshake(const Probe& p, const Socket& sock) {
    std::unique_ptr<SSL_CTX, SslCtxFree> ctx(SSL_CTX_new(TLS_client_method()));
    if (!ctx) {
        return p.error(ErrorKind::Network, "cannot create a TLS context: " + openssl_reason());
    }
    SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_NONE, nullptr);
    // Level 0: an old host with a weak key or protocol must still show us
    // what it serves; nothing is trusted or sent over this connection.
    SSL_CTX_set_security_level(ctx.get(), 0);
    std::unique_ptr<SSL, SslFree> ssl(SSL_new(ctx.get()));
    if (!ssl || SSL_set_fd(ssl.get(), sock.get()) != 1) {
        return p.error(ErrorKind::Network, "cannot set up TLS: " + openssl_reason());
    }
    if (!p.server_name.empty() && !is_ip_literal(p.server_name)) {
        // SSL_set_tlsext_host_name without the macro's old-style cast.
        if (SSL_ctrl(ssl.get(), SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
                     const_cast<char*>(p.server_name.c_str())) != 1) {
            return p.error(ErrorKind::Network, "invalid server name: " + openssl_reason());
        }
    }
    for (;;) {
        ERR_clear_error();
        errno = 0;
        const int rc = SSL_connect(ssl.get());
        if (rc == 1) {
            break;
        }
        const int err = SSL_get_error(ssl.get(), rc);
        short events = 0;
        if (err == SSL_ERROR_WANT_READ) {
            events = POLLIN;
        } else if (err == SSL_ERROR_WANT_WRITE) {
            events = POLLOUT;
        } else if (err == SSL_ERROR_SYSCALL) {
            const int saved = errno;
            return p.error(ErrorKind::Network,
                           saved != 0 ? "TLS handshake failed: " + errno_text(saved)
                                      : "connection closed by the peer during the TLS handshake");
        } else if (err == SSL_ERROR_ZERO_RETURN) {
            return p.error(ErrorKind::Network,
                           "connection closed by the peer during the TLS handshake");
        } else {
            return p.error(ErrorKind::Network, "TLS handshake failed: " + openssl_reason());
        }
        const int ready = wait_for(sock.get(), events, p.deadline);
        if (ready == 0) {
            return p.error(ErrorKind::Timeout,
                           "TLS handshake timed out after " + seconds_text(p.timeout));
        }
        if (ready < 0) {
            return p.error(ErrorKind::Network, errno_text(errno));
        }
    }

    std::unique_ptr<X509, X509Free> peer(SSL_get1_peer_certificate(ssl.get()));
    if (!peer) {
        return p.error(ErrorKind::Protocol, "the server sent no certificate");
    }
    const int len = i2d_X509(peer.get(), nullptr);
    if (len <= 0) {
        return p.error(ErrorKind::Protocol, "cannot encode the served certificate");
    }
    std::string der(static_cast<std::size_t>(len), '\0');
    auto* out = reinterpret_cast<unsigned char*>(der.data());
    i2d_X509(peer.get(), &out);
    // Best effort close_notify; the socket is non-blocking, so this never waits.
    SSL_shutdown(ssl.get());

    auto info = core::parse_certificate_der(der);
    if (!info) {
        return p.error(ErrorKind::Protocol,
                       "cannot parse the served certificate: " + info.error().message);
    }
    ServedCertificate served{std::move(info).value(), "-----BEGIN CERTIFICATE-----\n"};
    const std::string b64 = core::base64_encode(der);
    for (std::size_t i = 0; i < b64.size(); i += 64) {
        served.pem += b64.substr(i, 64) + "\n";
    }
    served.pem += "-----END CERTIFICATE-----\n";
    return served;
}

}  // namespace

Result<ServedCertificate> probe_tls(const std::string& address, int port,
                                    const std::string& server_name, milliseconds timeout) {
    const Probe p{address, port, server_name, timeout, SteadyClock::now() + timeout};
    if (port <= 0 || port > 65535) {
        return p.error(ErrorKind::Config, "invalid port");
    }
    core::SigpipeGuard sigpipe;
    ErrorQueueScope errors;
    auto sock = connect_tcp(p);
    if (!sock) {
        return sock.failure();
    }
    return handshake(p, *sock);
}

Result<ServedCertificate> probe_tls(const std::string& address, int port,
                                    const std::string& server_name, core::Seconds timeout) {
    return probe_tls(address, port, server_name, milliseconds(timeout));
}

}  // namespace certfleet::distribute
