#include "core/spawn.hpp"

#include <array>
#include <cerrno>
#include <fcntl.h>
#include <mutex>
#include <set>
#include <signal.h>
#include <spawn.h>
#include <string>
#include <unistd.h>
#include <vector>

#include <spdlog/spdlog.h>

extern char** environ;

namespace certfleet::core {
namespace {

using detail::Pipe;
using SteadyClock = std::chrono::steady_clock;

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

// stdin from the `in` pipe (or /dev/null), stdout and stderr into their pipes.
void redirect_standard_streams(posix_spawn_file_actions_t& actions, const ProcessOptions& options,
                               const Pipe& in, const Pipe& out, const Pipe& err) {
    if (options.stdin_data) {
        posix_spawn_file_actions_adddup2(&actions, in.read_end.get(), STDIN_FILENO);
    } else {
        posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    }
    posix_spawn_file_actions_adddup2(&actions, out.write_end.get(), STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&actions, err.write_end.get(), STDERR_FILENO);
}

// Own process group so a timeout can kill the command and its children;
// clean signal state so an ignored SIGPIPE etc. in the manager does not leak.
void isolate_child(posix_spawnattr_t& attr) {
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
}

}  // namespace

void withhold_from_children(const std::string& name) {
    std::lock_guard lock(g_withheld_mutex);
    g_withheld.insert(name);
}

namespace detail {

bool make_pipe(Pipe& p) {
    std::array<int, 2> fds{};
    if (::pipe2(fds.data(), O_CLOEXEC) != 0) {
        return false;
    }
    p.read_end = UniqueFd(fds[0]);
    p.write_end = UniqueFd(fds[1]);
    return true;
}

void set_nonblocking(int fd) {
    const int flags = ::fcntl(fd, F_GETFL);
    ::fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

Result<Child> spawn_child(const ProcessOptions& options, const Pipe& in, const Pipe& out,
                          const Pipe& err) {
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    redirect_standard_streams(actions, options, in, out, err);
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    isolate_child(attr);

    std::vector<std::string> argv_storage = options.argv;
    std::vector<std::string> env_storage = build_environment(options);
    auto argv = c_strings(argv_storage);
    auto envp = c_strings(env_storage);

    Child child;
    child.started = SteadyClock::now();
    const int rc = ::posix_spawnp(&child.pid, argv[0], &actions, &attr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    if (rc != 0) {
        return fail(ErrorKind::Generic, "cannot run '" + options.argv[0] + "': " + errno_text(rc),
                    rc == ENOENT ? "check the command path and PATH" : "");
    }
    spdlog::debug("started '{}' (pid {})", options.argv[0], child.pid);
    return child;
}

}  // namespace detail
}  // namespace certfleet::core
