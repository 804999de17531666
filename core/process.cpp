#include "core/process.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <mutex>
#include <poll.h>
#include <set>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include "core/fd.hpp"
#include "core/sigpipe_guard.hpp"
#include "core/spawn.hpp"

namespace certfleet::core {
namespace {

using detail::Child;
using detail::Pipe;
using detail::set_nonblocking;
using Fd = UniqueFd;

using SteadyClock = std::chrono::steady_clock;
using std::chrono::milliseconds;

class Capture {
public:
    Capture(Fd fd, std::string& sink, bool& truncated, std::size_t limit)
        : m_fd(std::move(fd)), m_sink(sink), m_truncated(truncated), m_limit(limit) {}

    int fd() const { return m_fd.get(); }
    bool open() const { return m_fd.valid(); }

    // Reads what is available now; closes on EOF or error.
    void drain() {
        std::array<char, 65536> buf{};
        while (m_fd.valid()) {
            const ssize_t n = ::read(m_fd.get(), buf.data(), buf.size());
            if (n > 0) {
                const auto got = static_cast<std::size_t>(n);
                const std::size_t room = m_limit - std::min(m_limit, m_sink.size());
                m_sink.append(buf.data(), std::min(room, got));
                if (got > room) {
                    m_truncated = true;  // keep reading so the child never blocks
                }
            } else if (n < 0 && errno == EINTR) {
                continue;
            } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
                return;
            } else {
                m_fd.reset();  // end of file, or an error
            }
        }
    }

private:
    Fd m_fd;
    std::string& m_sink;
    bool& m_truncated;
    std::size_t m_limit;
};

}  // namespace

std::string ProcessResult::status_text() const {
    if (timed_out) {
        return "timed out after " + std::to_string(elapsed.count()) + " ms";
    }
    if (signal != 0) {
        // sigabbrev_np, unlike strsignal, returns a constant string (thread-safe).
        const char* name = sigabbrev_np(signal);
        return "killed by signal " + std::to_string(signal) +
               (name != nullptr ? std::string(" (SIG") + name + ")" : std::string());
    }
    return "exit code " + std::to_string(exit_code);
}

std::string summarize_output(std::string_view text, std::size_t max_chars) {
    const auto first = text.find_first_not_of(" \t\r\n");
    if (first == std::string_view::npos) {
        return {};
    }
    const auto last = text.find_last_not_of(" \t\r\n");
    text = text.substr(first, last - first + 1);
    if (text.size() <= max_chars) {
        return std::string(text);
    }
    return std::string(text.substr(0, max_chars)) + "…";
}

namespace {

// Drives a started child to its end: feeds its stdin, captures stdout and
// stderr, and at the deadline sends its process group SIGTERM, then SIGKILL
// once kill_grace has passed.
class Supervisor {
public:
    // Takes our ends of the pipes (the child's ends must be closed already).
    Supervisor(const ProcessOptions& options, const Child& child, Pipe& in, Pipe& out, Pipe& err,
               ProcessResult& result)
        : m_options(options),
          m_pid(child.pid),
          m_deadline(child.started + options.timeout),
          m_result(result),
          m_out(std::move(out.read_end), result.out, result.out_truncated, options.max_output),
          m_err(std::move(err.read_end), result.err, result.err_truncated, options.max_output),
          m_stdin(std::move(in.write_end)),
          // pidfd makes the child's exit a poll event; without it we poll in slices.
          m_pidfd(static_cast<int>(::syscall(SYS_pidfd_open, child.pid, 0))) {
        set_nonblocking(m_out.fd());
        set_nonblocking(m_err.fd());
        if (m_stdin.valid()) {
            set_nonblocking(m_stdin.get());
            m_sigpipe_guard.emplace();
        }
    }

    // Until the child exits, or poll fails.
    void supervise() {
        while (!reaped()) {
            const auto now = SteadyClock::now();
            enforce_deadline(now);
            std::vector<pollfd> fds = poll_set();
            const int n =
                ::poll(fds.data(), fds.size(), static_cast<int>(poll_timeout(now).count()));
            if (n < 0 && errno != EINTR) {
                return;
            }
            if (n > 0) {
                m_out.drain();
                m_err.drain();
                feed_stdin(fds);
            }
        }
        // A grandchild may keep the pipes open forever: take what is there now and stop.
        m_out.drain();
        m_err.drain();
    }

    // Makes sure the child is gone and reaped; returns its wait status.
    int reap_for_good() {
        if (!m_exited) {
            ::kill(-m_pid, SIGKILL);
            ::waitpid(m_pid, &m_wstatus, 0);
        }
        if (m_result.timed_out) {
            ::kill(-m_pid, SIGKILL);  // leftovers of the group that ignored SIGTERM
        }
        return m_wstatus;
    }

private:
    bool reaped() {
        if (!m_exited && ::waitpid(m_pid, &m_wstatus, WNOHANG) == m_pid) {
            m_exited = true;
        }
        return m_exited;
    }

    void enforce_deadline(SteadyClock::time_point now) {
        if (!m_kill_at && now >= m_deadline) {
            spdlog::debug("'{}' (pid {}) timed out, sending SIGTERM", m_options.argv[0], m_pid);
            ::kill(-m_pid, SIGTERM);
            m_result.timed_out = true;
            m_kill_at = now + m_options.kill_grace;
        }
        if (m_kill_at && !m_killed && now >= *m_kill_at) {
            ::kill(-m_pid, SIGKILL);
            m_killed = true;
        }
    }

    std::vector<pollfd> poll_set() const {
        std::vector<pollfd> fds;
        if (m_out.open())
            fds.push_back({m_out.fd(), POLLIN, 0});
        if (m_err.open())
            fds.push_back({m_err.fd(), POLLIN, 0});
        if (m_stdin.valid())
            fds.push_back({m_stdin.get(), POLLOUT, 0});
        if (m_pidfd.valid())
            fds.push_back({m_pidfd.get(), POLLIN, 0});
        return fds;
    }

    // Until the next deadline; in short slices once killed or without a pidfd.
    milliseconds poll_timeout(SteadyClock::time_point now) const {
        const auto next = m_kill_at ? *m_kill_at : m_deadline;
        auto wait = std::chrono::duration_cast<milliseconds>(next - now) + milliseconds(1);
        if (m_killed) {
            wait = milliseconds(50);
        }
        if (!m_pidfd.valid()) {
            wait = std::min(wait, milliseconds(20));
        }
        return std::max(wait, milliseconds(0));
    }

    void feed_stdin(const std::vector<pollfd>& fds) {
        for (const auto& p : fds) {
            if (p.fd != m_stdin.get() || p.revents == 0) {
                continue;
            }
            const std::string& data = *m_options.stdin_data;
            const ssize_t w = ::write(m_stdin.get(), data.data() + m_stdin_written,
                                      data.size() - m_stdin_written);
            if (w > 0) {
                m_stdin_written += static_cast<std::size_t>(w);
            }
            if ((w < 0 && errno != EAGAIN && errno != EINTR) || m_stdin_written >= data.size()) {
                m_stdin.reset();  // done, or the child closed its stdin (EPIPE)
            }
        }
    }

    const ProcessOptions& m_options;
    pid_t m_pid;
    SteadyClock::time_point m_deadline;
    ProcessResult& m_result;
    Capture m_out;
    Capture m_err;
    Fd m_stdin;
    std::size_t m_stdin_written = 0;
    std::optional<SigpipeGuard> m_sigpipe_guard;
    Fd m_pidfd;
    std::optional<SteadyClock::time_point> m_kill_at;
    bool m_killed = false;
    bool m_exited = false;
    int m_wstatus = 0;
};

void record_exit_status(ProcessResult& result, int wstatus) {
    if (WIFEXITED(wstatus)) {
        result.exit_code = WEXITSTATUS(wstatus);
    } else if (WIFSIGNALED(wstatus)) {
        result.signal = WTERMSIG(wstatus);
    }
}

}  // namespace

Result<ProcessResult> run_process(const ProcessOptions& options) {
    if (options.argv.empty() || options.argv[0].empty()) {
        return fail(ErrorKind::Generic, "cannot run a process: empty command");
    }
    Pipe in, out, err;
    if ((options.stdin_data && !detail::make_pipe(in)) || !detail::make_pipe(out) ||
        !detail::make_pipe(err)) {
        return fail(ErrorKind::Io, std::string("cannot create pipes: ") + errno_text(errno));
    }
    auto child = detail::spawn_child(options, in, out, err);
    if (!child) {
        return child.failure();
    }
    // The child has its copies; ours would keep the pipes open after it is gone
    // (no EOF on its output, no EPIPE on its stdin).
    in.read_end.reset();
    out.write_end.reset();
    err.write_end.reset();

    ProcessResult result;
    Supervisor supervisor(options, *child, in, out, err, result);
    supervisor.supervise();
    const int wstatus = supervisor.reap_for_good();
    result.elapsed = std::chrono::duration_cast<milliseconds>(SteadyClock::now() - child->started);
    record_exit_status(result, wstatus);
    spdlog::debug("'{}' (pid {}) finished: {}", options.argv[0], child->pid, result.status_text());
    return result;
}
}  // namespace certfleet::core
