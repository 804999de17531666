// SshTransport: connection handling, commands over exec channels, and the
// file operations that need more than one SFTP call or, as a last resort, a
// remote command (rename over an existing name, rm -r, chgrp, fsync of a
// directory where SFTP cannot). Every remote command starts the user's login
// shell, which on a real host can take most of a second: SFTP first. The
// plain SFTP operations are in ssh_sftp.cpp.
#include "distribute/ssh_transport.hpp"

#include <algorithm>
#include <array>
#include <utility>

#include "core/process.hpp"
#include "distribute/host_files.hpp"
#include "distribute/ssh_session.hpp"

namespace certfleet::distribute {
namespace {

using core::ErrorKind;
using core::fail;
using std::chrono::duration_cast;
using std::chrono::milliseconds;

constexpr std::size_t kMaxOutput = std::size_t{1} << 20;  // per stream, as CommandOutput says
// Closing a channel waits for the peer's CLOSE; a healthy sshd answers at once.
constexpr milliseconds kCloseTimeout{5000};
// Output read from one stream before the deadlines are looked at again.
constexpr std::size_t kBytesPerPass = 256 * 1024;

// The remote `timeout` sends SIGTERM at the deadline and SIGKILL this much later.
constexpr int kKillAfterSeconds = 2;
// How long after the deadline the channel may take to close.
constexpr std::chrono::seconds kKillGrace{kKillAfterSeconds + 1};

// RFC 4254 §6.10 names signals without "SIG"; report them as a shell would (128+N).
int signal_number(std::string_view name) {
    static constexpr std::pair<std::string_view, int> kSignals[] = {
        {"HUP", 1},   {"INT", 2},   {"QUIT", 3},  {"ILL", 4},   {"ABRT", 6},
        {"FPE", 8},   {"KILL", 9},  {"USR1", 10}, {"SEGV", 11}, {"USR2", 12},
        {"PIPE", 13}, {"ALRM", 14}, {"TERM", 15}};
    for (const auto& [n, number] : kSignals) {
        if (n == name) {
            return number;
        }
    }
    return 0;
}

void append_bounded(std::string& to, const char* data, std::size_t n) {
    if (to.size() < kMaxOutput) {
        to.append(data, std::min(n, kMaxOutput - to.size()));
    }
}

// What the exec channel runs. The login shell may be anything (bash, zsh,
// fish): the command gets /bin/sh, as on the local transport. Closing the
// channel does not stop a command and libssh2 1.10 cannot send signals, so
// the command runs under coreutils' `timeout` when the host has it: a command
// that outlives its deadline is really stopped and the channel closes normally.
std::string remote_command(const std::string& command, core::Seconds timeout) {
    const std::string shell = "/bin/sh -c " + shell_quote(command);
    const std::string script = "if command -v timeout >/dev/null 2>&1; then exec timeout -k " +
                               std::to_string(kKillAfterSeconds) + " " +
                               std::to_string(std::max<long long>(timeout.count(), 1)) + " " +
                               shell + "; fi; exec " + shell;
    return "exec /bin/sh -c " + shell_quote(script);
}

struct ChannelFree {
    void operator()(LIBSSH2_CHANNEL* channel) const { libssh2_channel_free(channel); }
};

// What one pass over a non-blocking channel found.
struct ChannelPass {
    bool progress = false;  // output arrived
    bool again = false;     // libssh2 would block: nothing buffered, wait on the socket
    bool closed = false;    // the peer's CLOSE came, so the exit status is in
};

// One command on an exec channel of `session`, from opening the channel to
// freeing it. A failure of the connection abandons the session: its
// protocol state is unknown, so the next call connects again.
class ExecChannel {
public:
    ExecChannel(SshSession& session, const std::string& host) : m_s(session), m_host(host) {}

    // Opens the channel and starts `wrapped` with stdin at EOF.
    core::Status start(const std::string& wrapped) {
        m_channel.reset(libssh2_channel_open_ex(m_s.get(), "session", sizeof "session" - 1,
                                                LIBSSH2_CHANNEL_WINDOW_DEFAULT,
                                                LIBSSH2_CHANNEL_PACKET_DEFAULT, nullptr, 0));
        if (!m_channel) {
            return connection_failure("cannot open an SSH channel");
        }
        if (libssh2_channel_process_startup(m_channel.get(), "exec", sizeof "exec" - 1,
                                            wrapped.c_str(),
                                            static_cast<unsigned int>(wrapped.size())) != 0) {
            return connection_failure("cannot start a command");
        }
        // Like </dev/null locally: a command that reads stdin must not wait forever.
        if (libssh2_channel_send_eof(m_channel.get()) != 0) {
            return connection_failure("cannot start a command");
        }
        return {};
    }

    // Non-blocking: stdout and stderr are drained together (a blocking read
    // of one could stall while the other fills the window) and the deadlines
    // are checked between reads. After `deadline` the remote `timeout` stops
    // the command and the channel closes; `give_up` bounds the wait for that.
    // True when the channel closed, false when `give_up` passed first.
    core::Result<bool> collect(CommandOutput& output, SteadyClock::time_point deadline,
                               SteadyClock::time_point give_up, const std::string& command) {
        libssh2_session_set_blocking(m_s.get(), 0);
        bool closed = false;
        while (!closed) {
            const auto now = SteadyClock::now();
            if (now >= deadline) {
                output.timed_out = true;
            }
            if (now >= give_up) {
                break;
            }
            ChannelPass pass;
            if (auto s = read_streams(output, pass, command); !s) {
                return s.failure();
            }
            if (auto s = check_closed(pass, command); !s) {
                return s.failure();
            }
            closed = pass.closed;
            if (!closed && pass.again && !pass.progress) {
                m_s.wait_socket(output.timed_out ? give_up : deadline);
            }
        }
        libssh2_session_set_blocking(m_s.get(), 1);
        return closed;
    }

    // After the channel closed: a shell's exit code, 128+N for signal N.
    void read_exit_status(CommandOutput& output) {
        char* signal_name = nullptr;
        std::size_t signal_len = 0;
        libssh2_channel_get_exit_signal(m_channel.get(), &signal_name, &signal_len, nullptr,
                                        nullptr, nullptr, nullptr);
        if (signal_name != nullptr) {
            const int number = signal_number(std::string_view(signal_name, signal_len));
            output.exit_code = number != 0 ? 128 + number : -1;
            libssh2_free(m_s.get(), signal_name);
        } else {
            output.exit_code = libssh2_channel_get_exit_status(m_channel.get());
        }
    }

    // Frees the channel, waiting at most `timeout` for the peer.
    void free_channel(milliseconds timeout) {
        m_s.set_timeout(timeout);
        if (libssh2_channel_free(m_channel.release()) != 0 &&
            SshSession::is_connection_error(m_s.last_errno())) {
            m_s.abandon();  // libssh2_session_free frees what is left of the channel
        }
        m_s.restore_timeout();
    }

private:
    core::Status read_streams(CommandOutput& output, ChannelPass& pass,
                              const std::string& command) {
        for (int stream : {0, SSH_EXTENDED_DATA_STDERR}) {
            std::string& to = stream == 0 ? output.out : output.err;
            // At most this much per pass, so the caller's deadlines are
            // checked even while a host keeps sending without a pause.
            std::size_t budget = kBytesPerPass;
            for (;;) {
                ssize_t n =
                    libssh2_channel_read_ex(m_channel.get(), stream, m_buf.data(), m_buf.size());
                if (n > 0) {
                    append_bounded(to, m_buf.data(), static_cast<std::size_t>(n));
                    pass.progress = true;
                    if (budget <= static_cast<std::size_t>(n))
                        break;
                    budget -= static_cast<std::size_t>(n);
                    continue;
                }
                if (n == LIBSSH2_ERROR_EAGAIN) {
                    pass.again = true;
                } else if (n < 0) {
                    return connection_failure("reading the output of `" +
                                              core::summarize_output(command, 80) + "` failed");
                }
                break;
            }
        }
        return {};
    }

    // Waits for the peer's CLOSE without sending ours: the exit status comes
    // before it, even when a command closed its output early and went on running.
    core::Status check_closed(ChannelPass& pass, const std::string& command) {
        if (libssh2_channel_eof(m_channel.get()) == 0) {
            return {};
        }
        const int rc = libssh2_channel_wait_closed(m_channel.get());
        if (rc == 0) {
            pass.closed = true;
        } else if (rc == LIBSSH2_ERROR_EAGAIN) {
            pass.again = true;
        } else {
            return connection_failure("waiting for `" + core::summarize_output(command, 80) +
                                      "` to finish failed");
        }
        return {};
    }

    core::Failure connection_failure(const std::string& what) {
        const int rc = m_s.last_errno();
        std::string message = m_host + ": " + what + ": " + m_s.last_error();
        libssh2_session_set_blocking(m_s.get(), 1);
        if (SshSession::is_connection_error(rc)) {
            m_s.abandon();
        }
        m_channel.reset();
        m_s.restore_timeout();
        return fail(rc == LIBSSH2_ERROR_TIMEOUT ? ErrorKind::Timeout : ErrorKind::Network,
                    std::move(message), "check the connection to the host and its sshd");
    }

    SshSession& m_s;
    const std::string& m_host;
    std::unique_ptr<LIBSSH2_CHANNEL, ChannelFree> m_channel;
    std::array<char, 32768> m_buf{};
};

}  // namespace

std::string shell_quote(std::string_view text) {
    std::string quoted = "'";
    for (char c : text) {
        if (c == '\'') {
            quoted += "'\\''";
        } else {
            quoted += c;
        }
    }
    quoted += '\'';
    return quoted;
}

SshTransport::SshTransport(SshOptions options) : m_options(std::move(options)) {}

SshTransport::~SshTransport() = default;

bool SshTransport::connected() const {
    return m_session && !m_session->broken();
}

void SshTransport::disconnect() {
    m_session.reset();
}

void SshTransport::reset_connection() {
    if (m_session) {
        m_session->abandon();
    }
    m_session.reset();
}

std::string SshTransport::describe() const {
    const bool ipv6 = m_options.address.find(':') != std::string::npos;
    return m_options.host_name + " (ssh " + m_options.user + "@" +
           (ipv6 ? "[" + m_options.address + "]" : m_options.address) + ":" +
           std::to_string(m_options.port) + ")";
}

core::Status SshTransport::connect() {
    if (m_session && !m_session->broken()) {
        return {};
    }
    m_session.reset();
    auto session = SshSession::open(m_options);
    if (!session) {
        return session.failure();
    }
    m_session = std::move(*session);
    return {};
}

core::Status SshTransport::ensure_connected() {
    if (auto s = check_deadline(m_options.host_name); !s) {
        return s;
    }
    if (auto s = connect(); !s) {
        return s;
    }
    // Every blocking call from here on ends by the deadline.
    m_session->set_timeout(
        within_deadline(duration_cast<milliseconds>(m_options.operation_timeout)));
    return {};
}

core::Result<CommandOutput> SshTransport::run(const std::string& command, core::Seconds timeout) {
    if (auto s = ensure_connected(); !s) {
        return s.failure();
    }
    // The host's deadline shortens the command's own limit (the remote
    // `timeout` gets whole seconds, at least one).
    const milliseconds limit =
        within_deadline(duration_cast<milliseconds>(std::max(timeout, core::Seconds(1))));
    timeout = std::max(core::Seconds(1), duration_cast<core::Seconds>(limit + milliseconds(999)));
    const auto deadline = SteadyClock::now() + limit;
    ++m_commands_started;
    ExecChannel channel(*m_session, m_options.host_name);
    // Opening and starting the channel is quick; bound it by the shorter limit.
    m_session->set_timeout(
        std::min(limit, within_deadline(duration_cast<milliseconds>(m_options.operation_timeout))));
    if (auto s = channel.start(remote_command(command, timeout)); !s) {
        return s.failure();
    }
    CommandOutput output;
    auto closed = channel.collect(output, deadline, deadline + kKillGrace, command);
    if (!closed) {
        return closed.failure();
    }
    if (*closed) {
        channel.read_exit_status(output);
    } else {
        // Still running (no `timeout` on the host?) and closing the channel
        // would wait for it: drop the connection instead; the next call
        // connects again.
        m_session->abandon();
    }
    channel.free_channel(
        std::min(kCloseTimeout, duration_cast<milliseconds>(m_options.operation_timeout)));
    return output;
}

core::Status SshTransport::run_helper(const std::string& what, const std::string& command) {
    auto result = run(command, m_options.operation_timeout);
    if (!result) {
        core::Error e = result.error();
        e.message = m_options.host_name + ": cannot " + what + ": " + e.message;
        return core::Failure{std::move(e)};
    }
    if (result->timed_out) {
        return fail(ErrorKind::Timeout,
                    m_options.host_name + ": cannot " + what + ": `" + command +
                        "` did not finish within " +
                        core::format_duration(m_options.operation_timeout),
                    "check the host's load and its file system (a hung NFS mount?)");
    }
    if (result->exit_code != 0) {
        std::string detail =
            core::summarize_output(result->err.empty() ? result->out : result->err, 300);
        if (detail.empty()) {
            detail = "`" + command + "` exited with " + std::to_string(result->exit_code);
        }
        return fail(ErrorKind::Io, m_options.host_name + ": cannot " + what + ": " + detail,
                    result->exit_code == 127 || detail.find("invalid option") != std::string::npos
                        ? "certfleet needs GNU coreutils (mv -T, sync DIR) on the host"
                        : "");
    }
    return {};
}

core::Result<bool> SshTransport::sftp_rename_new(const std::string& from, const std::string& to) {
    auto target = stat(to);
    if (!target) {
        return target.failure();
    }
    if (target->exists) {
        return false;
    }
    LIBSSH2_SFTP* sftp = m_session->sftp_if_open();
    // If `to` appeared in between, the SFTP rename fails and `mv` does the job.
    return sftp != nullptr &&
           libssh2_sftp_rename_ex(sftp, from.c_str(), static_cast<unsigned int>(from.size()),
                                  to.c_str(), static_cast<unsigned int>(to.size()),
                                  LIBSSH2_SFTP_RENAME_ATOMIC | LIBSSH2_SFTP_RENAME_NATIVE) == 0;
}

core::Status SshTransport::rename(const std::string& from, const std::string& to) {
    auto done = sftp_rename_new(from, to);
    if (!done) {
        return done.failure();
    }
    if (*done) {
        return {};
    }
    // -T: never move `from` *into* `to` when `to` is a directory; rename(2) over it instead.
    return run_helper("rename " + from + " to " + to,
                      "mv -Tf -- " + shell_quote(from) + " " + shell_quote(to));
}

namespace {

// Printed to stderr by the remote script once every rename succeeded; its
// absence means a rename failed and the command never ran.
constexpr std::string_view kRenamedMarker = "certfleet: renames done\n";

}  // namespace

core::Result<CommandOutput> SshTransport::rename_then_run(const std::vector<RenameStep>& steps,
                                                          const std::string& command,
                                                          core::Seconds timeout) {
    std::size_t next = 0;
    for (; next < steps.size(); ++next) {
        auto done = sftp_rename_new(steps[next].from, steps[next].to);
        if (!done) {
            return done.failure();
        }
        if (!*done) {
            break;
        }
    }
    if (next == steps.size()) {
        return command.empty() ? core::Result<CommandOutput>(CommandOutput{0, false, "", ""})
                               : run(command, timeout);
    }
    std::string script;
    std::string what;
    for (; next < steps.size(); ++next) {
        script += "mv -Tf -- " + shell_quote(steps[next].from) + " " + shell_quote(steps[next].to) +
                  " || exit 1\n";
        what += (what.empty() ? "" : ", ") + steps[next].to;
    }
    script += "printf 'certfleet: renames done\\n' >&2\n" + command;
    auto result = run(script, timeout);
    if (!result) {
        return result.failure();
    }
    const auto marker = result->err.find(kRenamedMarker);
    if (marker != std::string::npos) {
        result->err.erase(marker, kRenamedMarker.size());
        return result;
    }
    const std::string detail = core::summarize_output(result->err, 300);
    return fail(
        result->timed_out ? ErrorKind::Timeout : ErrorKind::Io,
        m_options.host_name + ": cannot rename " + what + ": " +
            (result->timed_out ? "`mv` did not finish within " + core::format_duration(timeout)
             : detail.empty()  ? "`mv -Tf` exited with " + std::to_string(result->exit_code)
                               : detail),
        result->exit_code == 127 ? "certfleet needs GNU coreutils (mv -T) on the host" : "");
}

core::Result<bool> SshTransport::remove_tree_sftp(const std::string& path, int depth,
                                                  std::size_t& budget) {
    auto entries = list_dir_info(path);
    if (!entries) {
        return entries.failure();
    }
    for (const auto& [name, info] : *entries) {
        if (budget == 0) {
            return false;
        }
        --budget;
        const std::string child = path + "/" + name;
        if (info.is_dir && !info.is_symlink) {
            if (depth >= 8) {
                return false;
            }
            auto removed = remove_tree_sftp(child, depth + 1, budget);
            if (!removed || !*removed) {
                return removed;
            }
        } else if (auto s = remove(child); !s) {
            return s.failure();
        }
    }
    LIBSSH2_SFTP* sftp = m_session->sftp_if_open();
    if (sftp == nullptr ||
        libssh2_sftp_rmdir_ex(sftp, path.c_str(), static_cast<unsigned int>(path.size())) != 0) {
        return sftp_failure("remove directory", path);
    }
    return true;
}

core::Status SshTransport::remove_tree(const std::string& path) {
    if (path.empty() || path.find_first_not_of('/') == std::string::npos) {
        return fail(ErrorKind::Generic,
                    m_options.host_name + ": refusing to remove the tree \"" + path + "\"");
    }
    auto info = stat(path);
    if (!info) {
        return info.failure();
    }
    if (!info->exists) {
        return {};
    }
    if (!info->is_dir || info->is_symlink) {
        return remove(path);
    }
    // A version directory holds four files; anything far larger is not ours
    // to walk file by file.
    std::size_t budget = 1000;
    auto removed = remove_tree_sftp(path, 0, budget);
    if (!removed) {
        return removed.failure();
    }
    if (*removed) {
        return {};
    }
    return run_helper("remove " + path, "rm -rf -- " + shell_quote(path));
}

std::optional<uid_t> SshTransport::user_id() {
    if (m_user_id) {
        return *m_user_id;
    }
    std::optional<std::uint32_t> uid;
    if (auto status = read_file("/proc/self/status", 64 * 1024)) {
        uid = effective_uid_in(*status);
    }
    if (!uid) {
        if (auto id = run("id -u", m_options.operation_timeout); id && id->exit_code == 0) {
            uid = effective_uid_in("Uid:\t0\t" + id->out);
        }
    }
    m_user_id = uid ? std::optional<uid_t>(static_cast<uid_t>(*uid)) : std::nullopt;
    return *m_user_id;
}

std::optional<std::uint32_t> SshTransport::group_id(const std::string& group) {
    if (auto it = m_group_ids.find(group); it != m_group_ids.end()) {
        return it->second;
    }
    auto file = read_file("/etc/group", std::size_t{4} << 20);
    std::optional<std::uint32_t> gid = file ? group_id_in(*file, group) : std::nullopt;
    m_group_ids[group] = gid;
    return gid;
}

core::Status SshTransport::set_group(const std::string& path, const std::string& group) {
    const std::string what = "set group " + group + " on " + path;
    auto info = stat(path);
    if (!info) {
        return info.failure();
    }
    const auto gid = info->exists && !info->is_symlink ? group_id(group) : std::nullopt;
    if (!gid) {
        return run_helper(what, "chgrp -h -- " + shell_quote(group) + " " + shell_quote(path));
    }
    if (info->gid == *gid) {
        return {};
    }
    LIBSSH2_SFTP_ATTRIBUTES attrs{};
    attrs.flags = LIBSSH2_SFTP_ATTR_UIDGID;
    attrs.uid = info->uid;
    attrs.gid = *gid;
    LIBSSH2_SFTP* sftp = m_session->sftp_if_open();
    if (sftp == nullptr ||
        libssh2_sftp_stat_ex(sftp, path.c_str(), static_cast<unsigned int>(path.size()),
                             LIBSSH2_SFTP_SETSTAT, &attrs) != 0) {
        return sftp_failure("set group " + group + " on", path);
    }
    return {};
}

// OpenSSH's sftp-server opens a directory read-only like any file, and
// fsync@openssh.com then fsyncs it: no process to spawn on the host.
core::Status SshTransport::fsync_dir(const std::string& path) {
    if (auto s = open_sftp(); !s) {
        return s;
    }
    LIBSSH2_SFTP* sftp = m_session->sftp_if_open();
    LIBSSH2_SFTP_HANDLE* dir =
        libssh2_sftp_open_ex(sftp, path.c_str(), static_cast<unsigned int>(path.size()),
                             LIBSSH2_FXF_READ, 0, LIBSSH2_SFTP_OPENFILE);
    if (dir == nullptr) {
        if (m_session->last_errno() != LIBSSH2_ERROR_SFTP_PROTOCOL) {
            return sftp_failure("fsync directory", path);
        }
        const unsigned long code = libssh2_sftp_last_error(sftp);
        if (code == LIBSSH2_FX_NO_SUCH_FILE || code == LIBSSH2_FX_PERMISSION_DENIED) {
            return fail(ErrorKind::Io,
                        m_options.host_name + ": cannot fsync directory " + path +
                            (code == LIBSSH2_FX_NO_SUCH_FILE ? ": No such file or directory"
                                                             : ": Permission denied"));
        }
        return fsync_dir_by_command(path);  // a server that does not open directories
    }
    const bool synced = libssh2_sftp_fsync(dir) == 0;
    const int rc = synced ? 0 : m_session->last_errno();
    if (!synced && rc != LIBSSH2_ERROR_SFTP_PROTOCOL) {
        core::Failure failure = sftp_failure("fsync directory", path);
        libssh2_sftp_close_handle(dir);  // fails at once: the connection was abandoned
        return failure;
    }
    if (libssh2_sftp_close_handle(dir) != 0 && synced) {
        return sftp_failure("fsync directory", path);
    }
    return synced ? core::Status{} : fsync_dir_by_command(path);  // no fsync@openssh.com
}

core::Status SshTransport::fsync_dir_by_command(const std::string& path) {
    // coreutils 8.24+ fsyncs each named file, directories included.
    return run_helper("fsync directory " + path, "sync -- " + shell_quote(path));
}

}  // namespace certfleet::distribute
