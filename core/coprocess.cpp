#include "core/coprocess.hpp"

#include <array>
#include <cerrno>
#include <optional>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

#include <spdlog/spdlog.h>

#include "core/fd.hpp"
#include "core/sigpipe_guard.hpp"
#include "core/spawn.hpp"

namespace certfleet::core {

using SteadyClock = std::chrono::steady_clock;
using std::chrono::milliseconds;

namespace {
constexpr std::size_t kMaxLine = std::size_t{1} << 20;     // an answer is a short JSON line
constexpr std::size_t kStderrTail = std::size_t{8} << 10;  // enough for a traceback's end
}  // namespace

struct LineCoprocess::State {
    std::string program;
    pid_t pid = -1;
    UniqueFd to_child;
    UniqueFd from_child;
    UniqueFd child_err;
    std::string out_buffer;  // stdout received past the last answer line
    std::string err_tail;
    milliseconds kill_grace{2000};
    std::optional<int> wait_status;  // set once reaped

    // Reads what stdout and stderr have now; false once stdout is closed.
    bool drain() {
        drain_stderr();
        std::array<char, 65536> buf{};
        for (;;) {
            const ssize_t n = ::read(from_child.get(), buf.data(), buf.size());
            if (n > 0) {
                out_buffer.append(buf.data(), static_cast<std::size_t>(n));
                continue;
            }
            if (n < 0 && errno == EINTR)
                continue;
            return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
        }
    }

    void drain_stderr() {
        std::array<char, 4096> buf{};
        while (child_err.valid()) {
            const ssize_t n = ::read(child_err.get(), buf.data(), buf.size());
            if (n > 0) {
                err_tail.append(buf.data(), static_cast<std::size_t>(n));
                if (err_tail.size() > kStderrTail)
                    err_tail.erase(0, err_tail.size() - kStderrTail);
            } else if (n < 0 && errno == EINTR) {
                continue;
            } else {
                if (n == 0)
                    child_err.reset();
                return;
            }
        }
    }

    bool write_all(std::string_view data, SteadyClock::time_point deadline) {
        SigpipeGuard guard;
        while (!data.empty()) {
            pollfd p{to_child.get(), POLLOUT, 0};
            const auto left =
                std::chrono::duration_cast<milliseconds>(deadline - SteadyClock::now());
            if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0)
                return false;
            const ssize_t n = ::write(to_child.get(), data.data(), data.size());
            if (n < 0 && (errno == EAGAIN || errno == EINTR))
                continue;
            if (n <= 0)
                return false;
            data.remove_prefix(static_cast<std::size_t>(n));
        }
        return true;
    }

    // Stops the child for good: stdin closed, a grace period to exit, then
    // SIGKILL to its group; reaped either way.
    void stop(bool gently) {
        if (wait_status)
            return;
        to_child.reset();
        int status = 0;
        const auto until = SteadyClock::now() + (gently ? kill_grace : milliseconds(0));
        while (SteadyClock::now() < until) {
            if (::waitpid(pid, &status, WNOHANG) == pid) {
                wait_status = status;
                return;
            }
            std::this_thread::sleep_for(milliseconds(5));
        }
        ::kill(-pid, SIGKILL);
        ::waitpid(pid, &status, 0);
        wait_status = status;
    }
};

LineCoprocess::LineCoprocess(std::unique_ptr<State> state) : m_state(std::move(state)) {}

LineCoprocess::~LineCoprocess() {
    if (m_state)
        m_state->stop(true);
}

Result<std::unique_ptr<LineCoprocess>> LineCoprocess::start(const ProcessOptions& options) {
    if (options.argv.empty() || options.argv[0].empty())
        return fail(ErrorKind::Generic, "cannot run a process: empty command");
    ProcessOptions spawn_options = options;
    spawn_options.stdin_data = "";  // a pipe, not /dev/null
    detail::Pipe in, out, err;
    if (!detail::make_pipe(in) || !detail::make_pipe(out) || !detail::make_pipe(err))
        return fail(ErrorKind::Io, std::string("cannot create pipes: ") + errno_text(errno));
    auto child = detail::spawn_child(spawn_options, in, out, err);
    if (!child)
        return child.failure();
    auto state = std::make_unique<State>();
    state->program = options.argv[0];
    state->pid = child->pid;
    state->kill_grace = options.kill_grace;
    state->to_child = std::move(in.write_end);
    state->from_child = std::move(out.read_end);
    state->child_err = std::move(err.read_end);
    for (int fd : {state->to_child.get(), state->from_child.get(), state->child_err.get()})
        detail::set_nonblocking(fd);
    return std::make_unique<LineCoprocess>(std::move(state));
}

Result<std::string> LineCoprocess::exchange(std::string_view line,
                                            std::chrono::milliseconds timeout) {
    State& s = *m_state;
    if (s.wait_status)
        return fail(ErrorKind::Generic, "'" + s.program + "' is not running (" + exit_text() + ")");
    const auto deadline = SteadyClock::now() + timeout;
    if (!s.write_all(std::string(line) + "\n", deadline)) {
        s.stop(false);
        return fail(ErrorKind::Generic,
                    "'" + s.program + "' stopped reading its input (" + exit_text() + ")");
    }
    for (;;) {
        if (const auto nl = s.out_buffer.find('\n'); nl != std::string::npos) {
            std::string answer = s.out_buffer.substr(0, nl);
            s.out_buffer.erase(0, nl + 1);
            return answer;
        }
        if (s.out_buffer.size() > kMaxLine) {
            s.stop(false);
            return fail(ErrorKind::Protocol, "'" + s.program + "' answered a line over 1 MiB");
        }
        const auto left = std::chrono::duration_cast<milliseconds>(deadline - SteadyClock::now());
        if (left.count() <= 0) {
            s.stop(false);
            return fail(ErrorKind::Timeout, "'" + s.program + "' did not answer within " +
                                                std::to_string(timeout.count()) +
                                                " ms and was killed");
        }
        std::vector<pollfd> fds{{s.from_child.get(), POLLIN, 0}};
        if (s.child_err.valid())
            fds.push_back({s.child_err.get(), POLLIN, 0});
        const int n = ::poll(fds.data(), fds.size(), static_cast<int>(left.count()) + 1);
        if (n < 0 && errno != EINTR) {
            s.stop(false);
            return fail(ErrorKind::Io, std::string("poll: ") + errno_text(errno));
        }
        const bool open = s.drain();
        if (!open && s.out_buffer.find('\n') == std::string::npos) {  // the child is gone
            s.stop(true);
            return fail(ErrorKind::Generic,
                        "'" + s.program + "' exited without an answer (" + exit_text() + ")");
        }
    }
}

bool LineCoprocess::alive() const {
    return !m_state->wait_status.has_value();
}

std::string LineCoprocess::stderr_tail() const {
    m_state->drain_stderr();
    return m_state->err_tail;
}

std::string LineCoprocess::exit_text() const {
    if (!m_state->wait_status)
        return "";
    ProcessResult r;
    const int status = *m_state->wait_status;
    if (WIFEXITED(status))
        r.exit_code = WEXITSTATUS(status);
    else if (WIFSIGNALED(status))
        r.signal = WTERMSIG(status);
    return r.status_text();
}

}  // namespace certfleet::core
