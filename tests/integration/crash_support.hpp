// Helpers for the crash test: run certfleet and SIGKILL it at a chosen moment
// (the first line of its -vv log that matches, or a time offset), count the
// orders pebble created, and save / restore the lab hosts' certificate
// directories so the other tests find the lab as they expect it.
#pragma once

#include <cerrno>
#include <chrono>
#include <fcntl.h>
#include <filesystem>
#include <poll.h>
#include <regex>
#include <signal.h>
#include <string>
#include <sys/stat.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

#include <catch2/catch.hpp>

#include "lab.hpp"

namespace certfleet::testing {

// Where to kill a run: at the `occurrence`-th stderr line matching `line`
// (an ECMAScript regex), or, with `line` empty, after `at_fraction` of the
// time a whole run takes (measured, so it scales with the machine and ASan).
struct KillPoint {
    std::string name{};
    std::string line{};
    int occurrence = 1;
    double at_fraction = 0;
    // Put the lab's hand-made "www" files back on every host first, so the
    // run has something to adopt.
    bool hand_managed_www = false;
    // A line (regex) the repair run must log: the clean-up this kill needs.
    std::string repair_log{};
};

struct KilledRun {
    bool killed = false;  // SIGKILL arrived while it ran (else it ended on its own)
    int exit_code = -1;   // 128+9 when killed
    std::string err;      // its log up to the kill
    std::string trigger;  // the line that triggered the kill
};

// Runs CERTFLEET_BINARY with `args` (stdout to /dev/null, stderr read line by
// line) and SIGKILLs the process (not its group: as the OOM killer or a power
// cut would, with no chance to clean up) at `point`, a time point after
// `after_ms`. Bounded by `limit`.
inline KilledRun run_and_kill(const std::vector<std::string>& args, const KillPoint& point,
                              long after_ms = 0,
                              std::chrono::seconds limit = std::chrono::seconds(120)) {
    int fds[2];
    REQUIRE(::pipe2(fds, O_CLOEXEC) == 0);
    std::vector<std::string> store{CERTFLEET_BINARY};
    store.insert(store.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : store)
        argv.push_back(a.data());
    argv.push_back(nullptr);
    const auto started = std::chrono::steady_clock::now();
    pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        ::setpgid(0, 0);
        int null_fd = ::open("/dev/null", O_RDWR);
        ::dup2(null_fd, STDIN_FILENO);
        ::dup2(null_fd, STDOUT_FILENO);
        ::dup2(fds[1], STDERR_FILENO);
        ::execv(argv[0], argv.data());
        ::_exit(127);
    }
    ::close(fds[1]);

    KilledRun run;
    const std::regex pattern(point.line.empty() ? std::string("$^") : point.line);
    const auto kill_at = started + std::chrono::milliseconds(after_ms);
    const auto give_up = started + limit;
    std::string pending;  // a line not yet complete
    int matches = 0;
    bool open = true;
    auto kill_now = [&](const std::string& why) {
        if (run.killed)
            return;
        ::kill(pid, SIGKILL);
        run.killed = true;
        run.trigger = why.substr(0, why.find_last_not_of("\n") + 1);
    };
    while (open && !run.killed) {
        const auto now = std::chrono::steady_clock::now();
        if (now >= give_up) {
            kill_now("(time limit)");
            break;
        }
        if (point.line.empty() && now >= kill_at) {
            kill_now("(after " + std::to_string(after_ms) + " ms)");
            break;
        }
        pollfd p{fds[0], POLLIN, 0};
        const int r = ::poll(&p, 1, 10);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            continue;
        char buf[4096];
        const ssize_t n = ::read(fds[0], buf, sizeof buf);
        if (n <= 0) {
            open = false;  // it ended (or closed stderr) before the kill point
            break;
        }
        pending.append(buf, static_cast<size_t>(n));
        for (size_t nl = pending.find('\n'); nl != std::string::npos; nl = pending.find('\n')) {
            const std::string line = pending.substr(0, nl + 1);
            pending.erase(0, nl + 1);
            run.err += line;
            if (!point.line.empty() && std::regex_search(line, pattern) &&
                ++matches == point.occurrence) {
                kill_now(line);
                break;
            }
        }
    }
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    ::close(fds[0]);
    run.err += pending;
    if (WIFEXITED(status))
        run.exit_code = WEXITSTATUS(status);
    else if (WIFSIGNALED(status))
        run.exit_code = 128 + WTERMSIG(status);
    // A kill that arrived after the process had already exited did not kill it.
    run.killed = run.killed && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
    return run;
}

// The number of orders pebble added after byte `offset` of its log (one line
// "Added order ..." per order it created; a POST rejected for its nonce
// creates none).
inline int orders_in_pebble_log(const std::string& log, std::uintmax_t offset) {
    const std::string text = read_file(log);
    int orders = 0;
    for (size_t p = text.find("Added order", offset); p != std::string::npos;
         p = text.find("Added order", p + 1))
        ++orders;
    return orders;
}

inline std::uintmax_t file_size(const std::string& path) {
    return std::filesystem::file_size(path);
}

// What a host serves once its reload took effect: a reloading nginx lets old
// workers answer with the old certificate for a moment, so ask again
// (bounded, ~5 s) until it is `expected`; returns the last answer.
inline std::string settled_serial(const LabHost& h, const std::string& sni,
                                  const std::string& expected) {
    std::string last;
    for (int i = 0; i < 25; ++i) {
        last = served_serial(h.address, Lab::get().nginx_port, sni);
        if (last == expected)
            break;
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    return last;
}

// Copies of the hosts' live/<cert> directories, put back when the test ends
// (the other tests expect the lab's hand-managed "www", see lab_test.cpp).
class SavedHostCerts {
public:
    explicit SavedHostCerts(std::vector<std::string> certs)
        : m_certs(std::move(certs)), m_dir(make_temp_dir("crash-saved")) {
        for (const auto& h : Lab::get().hosts())
            for (const auto& c : m_certs)
                REQUIRE(run_command({"cp", "-a", h.cert_root + "/" + c, copy(h, c)}).exit_code ==
                        0);
    }
    ~SavedHostCerts() {
        for (const auto& c : m_certs)
            restore(c);
    }
    SavedHostCerts(const SavedHostCerts&) = delete;
    SavedHostCerts& operator=(const SavedHostCerts&) = delete;

    // Puts the saved files of `cert` back on every host and reloads nginx.
    void restore(const std::string& cert) const {
        for (const auto& h : Lab::get().hosts()) {
            std::filesystem::remove_all(h.cert_root + "/" + cert);
            run_command({"cp", "-a", copy(h, cert), h.cert_root + "/" + cert});
            run_command({"sh", "-c", h.reload_command});
        }
    }

private:
    std::string copy(const LabHost& h, const std::string& cert) const {
        return m_dir + "/" + h.name + "-" + cert;
    }
    std::vector<std::string> m_certs;
    std::string m_dir;
};

}  // namespace certfleet::testing
