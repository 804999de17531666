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

#include "core/sigpipe_guard.hpp"

extern char** environ;

namespace certfleet::core {
namespace {

using SteadyClock = std::chrono::steady_clock;
using std::chrono::milliseconds;

class Fd {
public:
    Fd() = default;
    explicit Fd(int fd) : m_fd(fd) {}
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    Fd(Fd&& o) noexcept : m_fd(std::exchange(o.m_fd, -1)) {}
    Fd& operator=(Fd&& o) noexcept {
        reset();
        m_fd = std::exchange(o.m_fd, -1);
        return *this;
    }
    ~Fd() { reset(); }
    int get() const { return m_fd; }
    bool open() const { return m_fd >= 0; }
    void reset() {
        if (m_fd >= 0) {
            ::close(m_fd);
        }
        m_fd = -1;
    }

private:
    int m_fd = -1;
};

struct Pipe {
    Fd read_end;
    Fd write_end;
};

// O_CLOEXEC on both ends so concurrent spawns in other threads never inherit
// them; posix_spawn's dup2 onto 0/1/2 clears the flag for the child's copy.
bool make_pipe(Pipe& p) {
    std::array<int, 2> fds{};
    if (::pipe2(fds.data(), O_CLOEXEC) != 0) {
        return false;
    }
    p.read_end = Fd(fds[0]);
    p.write_end = Fd(fds[1]);
    return true;
}

void set_nonblocking(int fd) {
    const int flags = ::fcntl(fd, F_GETFL);
    ::fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

std::mutex g_withheld_mutex;
std::set<std::string, std::less<>> g_withheld;  // see withhold_from_children

std::vector<std::string> build_environment(const ProcessOptions& options) {
    std::vector<std::string> env;
    std::set<std::string> overridden;
    {
        std::lock_guard lock(g_withheld_mutex);
        overridden.insert(g_withheld.begin(), g_withheld.end());
    }
    for (const auto& [name, value] : options.env) {
        overridden.insert(name);
    }
    if (options.inherit_env && environ != nullptr) {
        for (char** e = environ; *e != nullptr; ++e) {
            std::string_view entry(*e);
            const auto eq = entry.find('=');
            if (eq == std::string_view::npos ||
                overridden.count(std::string(entry.substr(0, eq))) == 0) {
                env.emplace_back(entry);
            }
        }
    }
    for (const auto& [name, value] : options.env) {
        env.push_back(name + "=" + value);
    }
    return env;
}

std::vector<char*> c_strings(std::vector<std::string>& strings) {
    std::vector<char*> out;
    out.reserve(strings.size() + 1);
    for (auto& s : strings) {
        out.push_back(s.data());
    }
    out.push_back(nullptr);
    return out;
}

class Capture {
public:
    Capture(Fd fd, std::string& sink, bool& truncated, std::size_t limit)
        : m_fd(std::move(fd)), m_sink(sink), m_truncated(truncated), m_limit(limit) {}

    int fd() const { return m_fd.get(); }
    bool open() const { return m_fd.open(); }

    // Reads what is available now; closes on EOF or error.
    void drain() {
        std::array<char, 65536> buf{};
        while (m_fd.open()) {
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

void withhold_from_children(const std::string& name) {
    std::lock_guard lock(g_withheld_mutex);
    g_withheld.insert(name);
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

Result<ProcessResult> run_process(const ProcessOptions& options) {
    if (options.argv.empty() || options.argv[0].empty()) {
        return fail(ErrorKind::Generic, "cannot run a process: empty command");
    }
    Pipe in, out, err;
    if ((options.stdin_data && !make_pipe(in)) || !make_pipe(out) || !make_pipe(err)) {
        return fail(ErrorKind::Io, std::string("cannot create pipes: ") + errno_text(errno));
    }

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    if (options.stdin_data) {
        posix_spawn_file_actions_adddup2(&actions, in.read_end.get(), STDIN_FILENO);
    } else {
        posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    }
    posix_spawn_file_actions_adddup2(&actions, out.write_end.get(), STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&actions, err.write_end.get(), STDERR_FILENO);

    // Own process group so a timeout can kill the command and its children;
    // clean signal state so an ignored SIGPIPE etc. in the manager does not leak.
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    posix_spawnattr_setflags(
        &attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    posix_spawnattr_setpgroup(&attr, 0);
    sigset_t mask;
    sigemptyset(&mask);
    posix_spawnattr_setsigmask(&attr, &mask);
    sigset_t defaults;
    sigemptyset(&defaults);
    for (int sig : {SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGCHLD, SIGUSR1, SIGUSR2}) {
        sigaddset(&defaults, sig);
    }
    posix_spawnattr_setsigdefault(&attr, &defaults);

    std::vector<std::string> argv_storage = options.argv;
    std::vector<std::string> env_storage = build_environment(options);
    auto argv = c_strings(argv_storage);
    auto envp = c_strings(env_storage);

    const auto start = SteadyClock::now();
    pid_t pid = -1;
    const int rc = ::posix_spawnp(&pid, argv[0], &actions, &attr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    if (rc != 0) {
        return fail(ErrorKind::Generic, "cannot run '" + options.argv[0] + "': " + errno_text(rc),
                    rc == ENOENT ? "check the command path and PATH" : "");
    }
    spdlog::debug("started '{}' (pid {})", options.argv[0], pid);

    in.read_end.reset();
    out.write_end.reset();
    err.write_end.reset();

    ProcessResult result;
    Capture out_cap(std::move(out.read_end), result.out, result.out_truncated, options.max_output);
    Capture err_cap(std::move(err.read_end), result.err, result.err_truncated, options.max_output);
    set_nonblocking(out_cap.fd());
    set_nonblocking(err_cap.fd());
    Fd stdin_fd = std::move(in.write_end);
    std::size_t stdin_written = 0;
    std::optional<SigpipeGuard> sigpipe_guard;
    if (stdin_fd.open()) {
        set_nonblocking(stdin_fd.get());
        sigpipe_guard.emplace();
    }
    // pidfd makes the child's exit a poll event; without it we poll in slices.
    Fd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));

    const auto deadline = start + options.timeout;
    std::optional<SteadyClock::time_point> kill_at;
    bool killed = false;
    bool exited = false;
    int wstatus = 0;

    while (true) {
        if (!exited && ::waitpid(pid, &wstatus, WNOHANG) == pid) {
            exited = true;
        }
        if (exited) {
            // A grandchild may keep the pipes open forever: take what is
            // there now and stop.
            out_cap.drain();
            err_cap.drain();
            break;
        }
        const auto now = SteadyClock::now();
        if (!kill_at && now >= deadline) {
            spdlog::debug("'{}' (pid {}) timed out, sending SIGTERM", options.argv[0], pid);
            ::kill(-pid, SIGTERM);
            result.timed_out = true;
            kill_at = now + options.kill_grace;
        }
        if (kill_at && !killed && now >= *kill_at) {
            ::kill(-pid, SIGKILL);
            killed = true;
        }

        std::vector<pollfd> fds;
        if (out_cap.open())
            fds.push_back({out_cap.fd(), POLLIN, 0});
        if (err_cap.open())
            fds.push_back({err_cap.fd(), POLLIN, 0});
        if (stdin_fd.open())
            fds.push_back({stdin_fd.get(), POLLOUT, 0});
        if (pidfd.open())
            fds.push_back({pidfd.get(), POLLIN, 0});

        auto next = kill_at ? *kill_at : deadline;
        auto wait = std::chrono::duration_cast<milliseconds>(next - now) + milliseconds(1);
        if (killed) {
            wait = milliseconds(50);
        }
        if (!pidfd.open()) {
            wait = std::min(wait, milliseconds(20));
        }
        wait = std::max(wait, milliseconds(0));
        const int n = ::poll(fds.data(), fds.size(), static_cast<int>(wait.count()));
        if (n < 0 && errno != EINTR) {
            break;
        }
        if (n <= 0) {
            continue;
        }
        out_cap.drain();
        err_cap.drain();
        for (const auto& p : fds) {
            if (p.fd != stdin_fd.get() || p.revents == 0) {
                continue;
            }
            const std::string& data = *options.stdin_data;
            const ssize_t w =
                ::write(stdin_fd.get(), data.data() + stdin_written, data.size() - stdin_written);
            if (w > 0) {
                stdin_written += static_cast<std::size_t>(w);
            }
            if ((w < 0 && errno != EAGAIN && errno != EINTR) || stdin_written >= data.size()) {
                stdin_fd.reset();  // done, or the child closed its stdin (EPIPE)
            }
        }
    }
    if (!exited) {
        ::kill(-pid, SIGKILL);
        ::waitpid(pid, &wstatus, 0);
    }
    if (result.timed_out) {
        ::kill(-pid, SIGKILL);  // leftovers of the group that ignored SIGTERM
    }
    result.elapsed = std::chrono::duration_cast<milliseconds>(SteadyClock::now() - start);
    if (WIFEXITED(wstatus)) {
        result.exit_code = WEXITSTATUS(wstatus);
    } else if (WIFSIGNALED(wstatus)) {
        result.signal = WTERMSIG(wstatus);
    }
    spdlog::debug("'{}' (pid {}) finished: {}", options.argv[0], pid, result.status_text());
    return result;
}

}  // namespace certfleet::core
