#include "acme/dns/wire_exchange.hpp"

#include <array>
#include <cerrno>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/result.hpp"

namespace certfleet::acme::dns::detail {
namespace {

using SteadyClock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr std::size_t kHeaderSize = 12;

class Socket {
public:
    explicit Socket(int fd) : m_fd(fd) {}
    ~Socket() {
        if (m_fd >= 0) {
            ::close(m_fd);
        }
    }
    Socket(const Socket&) = delete;
    Socket& operator=(const Socket&) = delete;
    int get() const { return m_fd; }

private:
    int m_fd;
};

WireOutcome failure(int err, std::string& error) {
    error = core::errno_text(err);
    return err == ECONNREFUSED ? WireOutcome::Refused : WireOutcome::Error;
}

// A non-blocking socket of `type` connecting to `server` (a TCP connect may
// still be in progress); -1 with `outcome` and `error` set when that fails.
int open_socket(const ServerAddress& server, int type, WireOutcome& outcome, std::string& error) {
    addrinfo hints{};
    hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
    hints.ai_socktype = type;
    addrinfo* found = nullptr;
    if (::getaddrinfo(server.address.c_str(), std::to_string(server.port).c_str(), &hints,
                      &found) != 0 ||
        found == nullptr) {
        error = "invalid address";
        outcome = WireOutcome::Error;
        return -1;
    }
    int fd = ::socket(found->ai_family, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    int err = fd < 0 ? errno : 0;
    if (fd >= 0 && ::connect(fd, found->ai_addr, found->ai_addrlen) != 0 && errno != EINPROGRESS) {
        err = errno;
        ::close(fd);
        fd = -1;
    }
    ::freeaddrinfo(found);
    if (fd < 0) {
        outcome = failure(err, error);
    }
    return fd;
}

// Waits until `fd` is ready for `events`; false once `deadline` has passed.
// An error on the socket counts as ready: the next call reports it.
bool wait_for(int fd, short events, SteadyClock::time_point deadline) {
    while (true) {
        const auto left =
            std::chrono::duration_cast<milliseconds>(deadline - SteadyClock::now()).count();
        if (left <= 0) {
            return false;
        }
        pollfd p{fd, events, 0};
        const int ready = ::poll(&p, 1, static_cast<int>(left));
        if (ready != 0 && !(ready < 0 && errno == EINTR)) {
            return true;
        }
    }
}

bool retry_later(int err) {
    return err == EINTR || err == EAGAIN || err == EWOULDBLOCK;
}

std::uint8_t ascii_lower(std::uint8_t c) {
    return c >= 'A' && c <= 'Z' ? static_cast<std::uint8_t>(c - 'A' + 'a') : c;
}

}  // namespace

bool answers_query(const std::vector<std::uint8_t>& query,
                   const std::vector<std::uint8_t>& answer) {
    if (query.size() < kHeaderSize || answer.size() < kHeaderSize || query[0] != answer[0] ||
        query[1] != answer[1] || (answer[2] & 0x80) == 0) {
        return false;
    }
    const unsigned questions = static_cast<unsigned>(answer[4] << 8 | answer[5]);
    if (questions == 0) {
        return true;  // RFC 2136 §3.8 lets an UPDATE response leave the sections out
    }
    std::size_t name_end = kHeaderSize;  // the query's name: labels up to the root
    while (name_end < query.size() && query[name_end] != 0) {
        name_end += 1 + query[name_end];
    }
    const std::size_t end = name_end + 1 + 4;  // root label, type, class
    if (questions != 1 || end > query.size() || end > answer.size()) {
        return false;
    }
    for (std::size_t i = kHeaderSize; i < end; ++i) {
        const bool same =
            i <= name_end ? ascii_lower(query[i]) == ascii_lower(answer[i]) : query[i] == answer[i];
        if (!same) {
            return false;
        }
    }
    return true;
}

WireOutcome udp_round_trip(const ServerAddress& server, const std::vector<std::uint8_t>& query,
                           milliseconds timeout, std::vector<std::uint8_t>& answer,
                           std::string& error) {
    const auto deadline = SteadyClock::now() + timeout;
    WireOutcome outcome = WireOutcome::Error;
    const Socket s(open_socket(server, SOCK_DGRAM, outcome, error));
    if (s.get() < 0) {
        return outcome;
    }
    if (::send(s.get(), query.data(), query.size(), 0) < 0) {
        return failure(errno, error);
    }
    bool mismatched = false;
    std::vector<std::uint8_t> datagram(65535);
    while (wait_for(s.get(), POLLIN, deadline)) {
        const ssize_t n = ::recv(s.get(), datagram.data(), datagram.size(), 0);
        if (n < 0) {
            if (retry_later(errno)) {
                continue;
            }
            return failure(errno, error);
        }
        answer.assign(datagram.begin(), datagram.begin() + n);
        if (answers_query(query, answer)) {
            return WireOutcome::Answer;
        }
        mismatched = true;  // stray or forged: the real reply may still come
    }
    answer.clear();
    return mismatched ? WireOutcome::Mismatch : WireOutcome::Timeout;
}

WireOutcome tcp_round_trip(const ServerAddress& server, const std::vector<std::uint8_t>& query,
                           milliseconds timeout, std::vector<std::uint8_t>& answer,
                           std::string& error) {
    const auto deadline = SteadyClock::now() + timeout;
    WireOutcome outcome = WireOutcome::Error;
    const Socket s(open_socket(server, SOCK_STREAM, outcome, error));
    if (s.get() < 0) {
        return outcome;
    }
    if (!wait_for(s.get(), POLLOUT, deadline)) {
        return WireOutcome::Timeout;
    }
    int err = 0;
    socklen_t len = sizeof err;
    if (::getsockopt(s.get(), SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
        return failure(err != 0 ? err : errno, error);
    }
    std::vector<std::uint8_t> framed{static_cast<std::uint8_t>(query.size() >> 8),
                                     static_cast<std::uint8_t>(query.size() & 0xff)};
    framed.insert(framed.end(), query.begin(), query.end());
    for (std::size_t sent = 0; sent < framed.size();) {
        if (!wait_for(s.get(), POLLOUT, deadline)) {
            return WireOutcome::Timeout;
        }
        const ssize_t n = ::send(s.get(), framed.data() + sent, framed.size() - sent, MSG_NOSIGNAL);
        if (n < 0 && !retry_later(errno)) {
            return failure(errno, error);
        }
        sent += n > 0 ? static_cast<std::size_t>(n) : 0;
    }
    // The two-byte length, then that many bytes, all before the deadline.
    std::vector<std::uint8_t> received;
    std::size_t want = 2;
    std::array<std::uint8_t, 4096> chunk{};
    while (received.size() < want) {
        if (!wait_for(s.get(), POLLIN, deadline)) {
            return WireOutcome::Timeout;
        }
        const ssize_t n =
            ::recv(s.get(), chunk.data(), std::min(chunk.size(), want - received.size()), 0);
        if (n < 0 && retry_later(errno)) {
            continue;
        }
        if (n < 0) {
            return failure(errno, error);
        }
        if (n == 0) {
            error = "the server closed the connection before a complete reply";
            return WireOutcome::Error;
        }
        received.insert(received.end(), chunk.begin(), chunk.begin() + n);
        if (want == 2 && received.size() == 2) {
            want += static_cast<std::size_t>(received[0] << 8 | received[1]);
        }
    }
    answer.assign(received.begin() + 2, received.end());
    return answers_query(query, answer) ? WireOutcome::Answer : WireOutcome::Mismatch;
}

}  // namespace certfleet::acme::dns::detail
