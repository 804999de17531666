// One authenticated libssh2 connection (socket, session, lazily an SFTP
// channel) for SshTransport. Internal to distribute/: only the SSH transport
// files include it.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include <libssh2.h>
#include <libssh2_sftp.h>

#include "core/result.hpp"
#include "distribute/ssh_transport.hpp"

namespace certfleet::distribute {

using SteadyClock = std::chrono::steady_clock;

class SshSession {
public:
    // TCP connect (bounded by connect_timeout), handshake, strict host key
    // check, authentication. The session is left in blocking mode with
    // operation_timeout as libssh2's per-call timeout. A connection the
    // server closes before greeting (sshd's MaxStartups) is retried up to 3
    // times, 0.1-0.2 s, 0.2-0.4 s, 0.4-0.8 s apart.
    static core::Result<std::unique_ptr<SshSession>> open(const SshOptions& options);
    ~SshSession();
    SshSession(const SshSession&) = delete;
    SshSession& operator=(const SshSession&) = delete;

    LIBSSH2_SESSION* get() const { return m_session; }
    // The SFTP channel, started on first use.
    core::Result<LIBSSH2_SFTP*> sftp();
    LIBSSH2_SFTP* sftp_if_open() const { return m_sftp; }

    int last_errno() const { return libssh2_session_last_errno(m_session); }
    std::string last_error() const;  // libssh2's message for the last failure
    // True when `rc` leaves the connection unusable (socket, protocol, timeout)
    // rather than failing one request; the transport then drops the session.
    static bool is_connection_error(int rc);

    void set_timeout(std::chrono::milliseconds timeout);
    void restore_timeout() { set_timeout(m_operation_timeout); }
    // Non-blocking mode: waits until the socket is ready in the direction
    // libssh2 is blocked on, but not past `deadline` (nor more than 1 s).
    void wait_socket(SteadyClock::time_point deadline) const;
    // The connection broke mid-protocol: shut the socket down so that every
    // further libssh2 call (and the teardown) fails at once instead of waiting.
    void abandon();
    bool broken() const { return m_broken; }

private:
    SshSession(const SshOptions& options, int fd);
    core::Status handshake(int attempt);
    core::Status authenticate();

    const SshOptions m_options;
    std::chrono::milliseconds m_operation_timeout;
    int m_fd = -1;
    LIBSSH2_SESSION* m_session = nullptr;
    LIBSSH2_SFTP* m_sftp = nullptr;
    bool m_broken = false;
};

}  // namespace certfleet::distribute
