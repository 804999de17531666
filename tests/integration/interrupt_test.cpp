// Interrupted is never "done" (issue #15, point 2): SIGINT / SIGTERM during
// a rollout against the lab fleet. The host in flight finishes its
// transaction, hosts never started are reported not_started (table and
// JSON), the exit code is 130 / 143, and an interrupted `run` never prints a
// check line saying OK.
#include <algorithm>
#include <chrono>
#include <csignal>
#include <fcntl.h>
#include <filesystem>
#include <poll.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "fleet_support.hpp"

using namespace certfleet;
using namespace certfleet::testing;
using nlohmann::json;

namespace {

struct SignalledRun {
    int exit_code = -1;
    bool signalled = false;  // the signal was sent while it ran
    std::string out;
    std::string err;
};

// Runs certfleet with `args` and sends `signo` once `trigger` exists (a file
// a host's reload command creates), then lets it finish. Bounded.
SignalledRun run_and_signal(const std::vector<std::string>& args, const std::string& trigger,
                            int signo) {
    int out_pipe[2], err_pipe[2];
    REQUIRE(::pipe2(out_pipe, O_CLOEXEC) == 0);
    REQUIRE(::pipe2(err_pipe, O_CLOEXEC) == 0);
    std::vector<std::string> store{CERTFLEET_BINARY};
    store.insert(store.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : store)
        argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        int null_fd = ::open("/dev/null", O_RDONLY);
        ::dup2(null_fd, STDIN_FILENO);
        ::dup2(out_pipe[1], STDOUT_FILENO);
        ::dup2(err_pipe[1], STDERR_FILENO);
        ::execv(argv[0], argv.data());
        ::_exit(127);
    }
    ::close(out_pipe[1]);
    ::close(err_pipe[1]);
    SignalledRun run;
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(120);
    bool out_open = true, err_open = true;
    while ((out_open || err_open) && std::chrono::steady_clock::now() < give_up) {
        if (!run.signalled && std::filesystem::exists(trigger)) {
            ::kill(pid, signo);
            run.signalled = true;
        }
        pollfd fds[2] = {{out_open ? out_pipe[0] : -1, POLLIN, 0},
                         {err_open ? err_pipe[0] : -1, POLLIN, 0}};
        if (::poll(fds, 2, 20) <= 0)
            continue;
        char buf[4096];
        for (int i = 0; i < 2; ++i) {
            if (!(fds[i].revents & (POLLIN | POLLHUP)))
                continue;
            const ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
            if (n <= 0)
                (i == 0 ? out_open : err_open) = false;
            else
                (i == 0 ? run.out : run.err).append(buf, static_cast<size_t>(n));
        }
    }
    if (out_open || err_open)
        ::kill(pid, SIGKILL);  // bounded: a hang fails the test below
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    ::close(out_pipe[0]);
    ::close(err_pipe[0]);
    run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return run;
}

// One host per wave, and each reload announces itself, then takes a second:
// time for the test to interrupt while the canary is in flight.
TestInventory slow_rollout(const std::string& prefix, const std::string& marker_dir) {
    return write_fleet_inventory(prefix, [&](json& inv) {
        inv["groups"]["cdn"]["rollout"] = {{"canary", 1}, {"batch", 1}, {"max_failures", 0}};
        for (auto& [name, host] : inv["hosts"].items())
            host["reload_command"] = "touch '" + marker_dir + "/" + name + "'; sleep 1; " +
                                     host["reload_command"].get<std::string>();
    });
}

}  // namespace

TEST_CASE("SIGTERM / SIGINT during a rollout: in flight finished, the rest not_started, 143/130",
          "[interrupt]") {
    // The rollout takes the group's hosts in name order: canary first.
    auto hosts = Lab::get().hosts();
    REQUIRE(hosts.size() >= 3);
    std::sort(hosts.begin(), hosts.end(),
              [](const LabHost& a, const LabHost& b) { return a.name < b.name; });
    const std::string markers = make_temp_dir("interrupt-markers");
    auto t = slow_rollout("interrupt", markers);
    REQUIRE(run_certfleet(cf_args(t, {"-q", "issue"})).exit_code == 0);

    auto term =
        run_and_signal(cf_args(t, {"--json", "deploy"}), markers + "/" + hosts[0].name, SIGTERM);
    INFO(term.out << term.err);
    REQUIRE(term.signalled);
    CHECK(term.exit_code == 143);
    CHECK_THAT(term.err, Catch::Contains("interrupted (SIGTERM): finishing what is in flight"));
    auto doc = json::parse(term.out);
    CHECK(doc["interrupted"] == "SIGTERM");
    REQUIRE(doc["hosts"].size() == hosts.size());  // every host, none missing
    std::vector<std::string> not_started;
    for (const auto& h : json(doc["hosts"])) {
        if (h["name"] == hosts[0].name) {
            CHECK(h["result"] == "deployed");  // the canary completed its transaction
        } else {
            CHECK(h["result"] == "not_started");
            CHECK_THAT(h["error"].get<std::string>(), Catch::Contains("interrupted"));
            not_started.push_back(h["name"]);
        }
    }
    CHECK(not_started.size() == hosts.size() - 1);
    // Every host serves a complete pair: the canary the new one, the rest theirs.
    auto st = json::parse(run_certfleet(cf_args(t, {"--json", "status"})).out);
    for (const auto& h : json(st["certificates"][0]["hosts"]))
        CHECK(h["state"] != "unknown");

    // SIGINT during renew, in the table this time: exit 130, not_started rows.
    std::filesystem::remove_all(markers);
    std::filesystem::create_directories(markers);
    auto intr = run_and_signal(cf_args(t, {"renew"}), markers + "/" + hosts[1].name, SIGINT);
    INFO(intr.out << intr.err);
    REQUIRE(intr.signalled);
    CHECK(intr.exit_code == 130);
    CHECK_THAT(intr.out, Catch::Contains("not_started"));
    CHECK_THAT(intr.out, !Catch::Contains("the rollout stopped after failures"));

    // run under SIGTERM: never a check line saying OK.
    std::filesystem::remove_all(markers);
    std::filesystem::create_directories(markers);
    auto run = run_and_signal(cf_args(t, {"run", "--jitter", "0"}), markers + "/" + hosts[2].name,
                              SIGTERM);
    INFO(run.out << run.err);
    REQUIRE(run.signalled);
    CHECK(run.exit_code == 143);
    CHECK_THAT(run.out, !Catch::Contains("CERTFLEET OK"));
    CHECK_THAT(run.err, Catch::Contains("the run was interrupted before its check"));

    // Finishing the rollout afterwards brings every host current.
    auto finish = run_certfleet(cf_args(t, {"--json", "deploy"}));
    INFO(finish.err);
    CHECK(finish.exit_code == 0);
    auto after = json::parse(run_certfleet(cf_args(t, {"--json", "status"})).out);
    for (const auto& h : json(after["certificates"][0]["hosts"]))
        CHECK(h["state"] == "current");
}
