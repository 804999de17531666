#include "distribute/ssh_session.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <mutex>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <random>
#include <sys/socket.h>
#include <system_error>
#include <thread>
#include <unistd.h>
#include <vector>

#include <spdlog/spdlog.h>

#include "distribute/known_hosts.hpp"

namespace certfleet::distribute {
namespace {

using core::ErrorKind;
using core::fail;
using std::chrono::duration_cast;
using std::chrono::milliseconds;

std::string errno_text(int err) {
    return std::generic_category().message(err);
}

// libssh2_init is not thread-safe and must run once before any session.
core::Status init_libssh2() {
    static std::once_flag once;
    static int rc = 0;
    std::call_once(once, [] { rc = libssh2_init(0); });
    if (rc != 0) {
        return fail(ErrorKind::Generic,
                    "cannot initialise libssh2 (error " + std::to_string(rc) + ")");
    }
    return {};
}

std::string endpoint(const std::string& address, int port) {
    const bool ipv6 = address.find(':') != std::string::npos;
    return (ipv6 ? "[" + address + "]" : address) + ":" + std::to_string(port);
}

// Non-blocking connect to each resolved address in turn, all within one
// deadline, so an address that drops packets cannot stall a run.
core::Result<int> connect_tcp(const SshOptions& o) {
    const std::string where = endpoint(o.address, o.port);
    const std::string hint =
        "check the host's address and ssh.port, that sshd runs there, and that no firewall drops "
        "the connection";
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* list = nullptr;
    const std::string port = std::to_string(o.port);
    if (int rc = ::getaddrinfo(o.address.c_str(), port.c_str(), &hints, &list); rc != 0) {
        return fail(ErrorKind::Network,
                    o.host_name + ": cannot resolve " + o.address + ": " + ::gai_strerror(rc),
                    "check the host's address in the inventory and the manager's DNS");
    }
    std::unique_ptr<addrinfo, void (*)(addrinfo*)> guard(list, &::freeaddrinfo);
    const auto deadline = SteadyClock::now() + o.connect_timeout;
    std::string last_error = "no address";
    for (const addrinfo* ai = list; ai != nullptr; ai = ai->ai_next) {
        int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
                          ai->ai_protocol);
        if (fd < 0) {
            last_error = errno_text(errno);
            continue;
        }
        int rc = ::connect(fd, ai->ai_addr, ai->ai_addrlen);
        int err = rc == 0 ? 0 : errno;
        if (err == EINPROGRESS) {
            pollfd p{fd, POLLOUT, 0};
            int ready = 0;
            do {
                auto left = duration_cast<milliseconds>(deadline - SteadyClock::now()).count();
                ready = ::poll(&p, 1, static_cast<int>(std::max<long long>(left, 0)));
            } while (ready < 0 && errno == EINTR);
            if (ready == 0) {
                ::close(fd);
                return fail(ErrorKind::Timeout,
                            o.host_name + ": cannot connect to " + where + ": no answer within " +
                                core::format_duration(o.connect_timeout),
                            hint);
            }
            socklen_t len = sizeof err;
            if (ready < 0 || ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) {
                err = errno;
            }
        }
        if (err == 0) {
            // SSH is request/response; Nagle would delay every small SFTP packet.
            int one = 1;
            ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
            return fd;
        }
        ::close(fd);
        last_error = errno_text(err);
        if (SteadyClock::now() >= deadline) {
            break;
        }
    }
    return fail(ErrorKind::Network,
                o.host_name + ": cannot connect to " + where + ": " + last_error, hint);
}

// sshd closes a connection unanswered when it has too many unauthenticated
// ones (MaxStartups; OpenSSH's default 10:30:100 drops 30 % of new ones from
// 10 on and all from 100): the client sees the socket close before or while
// exchanging greetings. That is load on the host, not a fault of it, so the
// connection is tried again after a short random pause, a few times.
constexpr int kHandshakeAttempts = 4;

bool dropped_before_greeting(LIBSSH2_SESSION* session, int rc) {
    // libssh2 1.10 returns its (empty) receive buffer until a banner arrived.
    const char* banner = libssh2_session_banner_get(session);
    if (banner != nullptr && std::strncmp(banner, "SSH-", 4) == 0) {
        return false;  // it greeted: whatever went wrong later is no MaxStartups drop
    }
    switch (rc) {
        case LIBSSH2_ERROR_BANNER_RECV:
        case LIBSSH2_ERROR_BANNER_SEND:
        case LIBSSH2_ERROR_SOCKET_DISCONNECT:
        case LIBSSH2_ERROR_SOCKET_RECV:
        case LIBSSH2_ERROR_SOCKET_SEND:
            return true;
        default:
            return false;
    }
}

// 100-200 ms before the second attempt, then twice as long each time.
milliseconds handshake_backoff(int attempt) {
    thread_local std::minstd_rand rng{std::random_device{}()};
    const long base = 100L << (attempt - 1);
    return milliseconds(base + std::uniform_int_distribution<long>(0, base)(rng));
}

}  // namespace

SshSession::SshSession(const SshOptions& options, int fd)
    : m_options(options),
      m_operation_timeout(duration_cast<milliseconds>(options.operation_timeout)),
      m_fd(fd) {}

SshSession::~SshSession() {
    if (m_broken && m_fd >= 0) {
        // Make every teardown write fail at once instead of waiting on a dead peer.
        ::shutdown(m_fd, SHUT_RDWR);
    }
    if (m_session != nullptr) {
        libssh2_session_set_blocking(m_session, 1);
        set_timeout(std::min(m_operation_timeout, milliseconds(5000)));
        if (m_sftp != nullptr) {
            libssh2_sftp_shutdown(m_sftp);
        }
        if (!m_broken) {
            libssh2_session_disconnect_ex(m_session, SSH_DISCONNECT_BY_APPLICATION,
                                          "certfleet: done", "");
        }
        libssh2_session_free(m_session);
    }
    if (m_fd >= 0) {
        ::close(m_fd);
    }
}

core::Result<std::unique_ptr<SshSession>> SshSession::open(const SshOptions& options) {
    if (auto s = init_libssh2(); !s) {
        return s.failure();
    }
    for (int attempt = 1;; ++attempt) {
        auto fd = connect_tcp(options);
        if (!fd) {
            return fd.failure();
        }
        std::unique_ptr<SshSession> session(new SshSession(options, *fd));
        session->m_session = libssh2_session_init_ex(nullptr, nullptr, nullptr, nullptr);
        if (session->m_session == nullptr) {
            return fail(ErrorKind::Generic, options.host_name + ": cannot create an SSH session");
        }
        libssh2_session_set_blocking(session->m_session, 1);
        session->restore_timeout();
        if (auto s = session->handshake(attempt); !s) {
            if (attempt < kHandshakeAttempts && session->broken() &&
                dropped_before_greeting(session->get(), session->last_errno())) {
                session.reset();  // closes the socket before the pause
                const auto pause = handshake_backoff(attempt);
                spdlog::debug(
                    "{}: the server closed the connection before greeting (sshd's "
                    "MaxStartups?); attempt {} in {} ms",
                    options.host_name, attempt + 1, pause.count());
                std::this_thread::sleep_for(pause);
                continue;
            }
            return s.failure();
        }
        if (auto s = session->authenticate(); !s) {
            return s.failure();
        }
        return session;
    }
}

core::Status SshSession::handshake(int attempt) {
    const std::string name = known_hosts_name(m_options.address, m_options.port);
    const std::string algorithms = host_key_algorithms(m_session, m_options.known_hosts, name);
    libssh2_session_method_pref(m_session, LIBSSH2_METHOD_HOSTKEY, algorithms.c_str());
    if (libssh2_session_handshake(m_session, m_fd) != 0) {
        const int rc = last_errno();
        m_broken = true;
        if (dropped_before_greeting(m_session, rc)) {
            return fail(ErrorKind::Network,
                        m_options.host_name + ": SSH handshake with " +
                            endpoint(m_options.address, m_options.port) + " failed: " +
                            last_error() + ": the server closed the connection before greeting (" +
                            std::to_string(attempt) + " attempt" + (attempt == 1 ? "" : "s") + ")",
                        "sshd drops new connections while it has too many unauthenticated ones "
                        "(MaxStartups, OpenSSH's default 10:30:100): raise MaxStartups in the "
                        "host's sshd_config or lower --concurrency; otherwise the host's sshd "
                        "log says why (access rules, a firewall or proxy in between)");
        }
        if (rc == LIBSSH2_ERROR_TIMEOUT) {
            // A peer that accepts and then stalls (no greeting, no key exchange, a
            // trickle): what listens there is not a working sshd.
            return fail(ErrorKind::Timeout,
                        m_options.host_name + ": SSH handshake with " +
                            endpoint(m_options.address, m_options.port) + " failed: " +
                            last_error() + " (the server accepted the connection but did not " +
                            "complete the handshake within " +
                            core::format_duration(m_options.operation_timeout) + ")",
                        "check that sshd, and not another service, listens on that port and that "
                        "the host is not overloaded; a firewall or proxy in between can also "
                        "stall connections");
        }
        return fail(ErrorKind::Network,
                    m_options.host_name + ": SSH handshake with " +
                        endpoint(m_options.address, m_options.port) + " failed: " + last_error(),
                    "check that an OpenSSH server listens there; libssh2 1.10 needs an "
                    "ssh-ed25519 or ecdsa host key (OpenSSH 8.8+ no longer offers ssh-rsa/SHA-1)");
    }
    return verify_host_key(m_session, HostKeyCheck{m_options.host_name, m_options.address,
                                                   m_options.port, m_options.known_hosts});
}

core::Result<LIBSSH2_SFTP*> SshSession::sftp() {
    if (m_sftp != nullptr) {
        return m_sftp;
    }
    m_sftp = libssh2_sftp_init(m_session);
    if (m_sftp == nullptr) {
        const int rc = last_errno();
        if (is_connection_error(rc)) {
            m_broken = true;
        }
        return fail(rc == LIBSSH2_ERROR_TIMEOUT ? ErrorKind::Timeout : ErrorKind::Network,
                    m_options.host_name + ": cannot start SFTP: " + last_error(),
                    "enable the SFTP subsystem in the host's sshd_config (Subsystem sftp "
                    "internal-sftp)");
    }
    return m_sftp;
}

void SshSession::abandon() {
    m_broken = true;
    if (m_fd >= 0) {
        ::shutdown(m_fd, SHUT_RDWR);
    }
}

std::string SshSession::last_error() const {
    char* message = nullptr;
    int len = 0;
    libssh2_session_last_error(m_session, &message, &len, 0);
    return message != nullptr && len > 0 ? std::string(message, static_cast<std::size_t>(len))
                                         : "unknown libssh2 error";
}

bool SshSession::is_connection_error(int rc) {
    switch (rc) {
        case LIBSSH2_ERROR_NONE:
        case LIBSSH2_ERROR_EAGAIN:
        case LIBSSH2_ERROR_SFTP_PROTOCOL:
        case LIBSSH2_ERROR_CHANNEL_FAILURE:
        case LIBSSH2_ERROR_CHANNEL_REQUEST_DENIED:
        case LIBSSH2_ERROR_CHANNEL_OUTOFORDER:
        case LIBSSH2_ERROR_BUFFER_TOO_SMALL:
        case LIBSSH2_ERROR_FILE:
        case LIBSSH2_ERROR_INVAL:
        case LIBSSH2_ERROR_METHOD_NONE:
        case LIBSSH2_ERROR_AUTHENTICATION_FAILED:
        case LIBSSH2_ERROR_PUBLICKEY_UNVERIFIED:
        case LIBSSH2_ERROR_PUBLICKEY_PROTOCOL:
        case LIBSSH2_ERROR_AGENT_PROTOCOL:
            return false;
        default:
            return true;
    }
}

void SshSession::set_timeout(milliseconds timeout) {
    libssh2_session_set_timeout(m_session, std::max<long>(static_cast<long>(timeout.count()), 1));
}

void SshSession::wait_socket(SteadyClock::time_point deadline) const {
    const int directions = libssh2_session_block_directions(m_session);
    pollfd p{m_fd, 0, 0};
    if ((directions & LIBSSH2_SESSION_BLOCK_INBOUND) != 0) {
        p.events |= POLLIN;
    }
    if ((directions & LIBSSH2_SESSION_BLOCK_OUTBOUND) != 0) {
        p.events |= POLLOUT;
    }
    if (p.events == 0) {
        p.events = POLLIN;
    }
    auto left = duration_cast<milliseconds>(deadline - SteadyClock::now()).count();
    ::poll(&p, 1, static_cast<int>(std::clamp<long long>(left, 0, 1000)));
}

}  // namespace certfleet::distribute
