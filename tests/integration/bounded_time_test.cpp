// A host that stops answering in the middle of a deployment (issue #16,
// point 1): the sshd process serving certfleet's connection to one lab host
// is stopped (SIGSTOP) the moment that host's upload begins. The host fails
// with "out of time" by its host_timeout, every other host is deployed, the
// command ends (so the state lock is released) and the next deploy finishes
// the frozen host over a new connection.
#include <algorithm>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <future>
#include <poll.h>
#include <sstream>
#include <sys/inotify.h>
#include <thread>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "fleet_support.hpp"

using namespace certfleet::testing;
using nlohmann::json;
namespace stdfs = std::filesystem;

namespace {

// The processes holding established TCP connections to address:port (sshd's
// monitor and session processes), as `ss -tnp` lists them.
std::vector<pid_t> processes_serving(const std::string& address, const std::string& port) {
    auto r = run_command({"ss", "-tnpH", "state", "established", "src", address + ":" + port});
    REQUIRE(r.exit_code == 0);
    std::vector<pid_t> pids;
    for (std::size_t at = r.out.find("pid="); at != std::string::npos;
         at = r.out.find("pid=", at + 4))
        pids.push_back(static_cast<pid_t>(std::stol(r.out.substr(at + 4))));
    return pids;
}

// `pids` and their children (sshd's monitor forks the session process
// after authentication; /proc lists it without spawning anything).
std::vector<pid_t> with_children(const std::vector<pid_t>& pids) {
    std::vector<pid_t> all = pids;
    for (pid_t pid : pids) {
        std::ifstream in("/proc/" + std::to_string(pid) + "/task/" + std::to_string(pid) +
                         "/children");
        for (long child; in >> child;)
            all.push_back(static_cast<pid_t>(child));
    }
    return all;
}

// Stops what serves certfleet's connection to `host` the moment a
// versions/.tmp-* directory appears there (an upload has begun: inotify
// wakes this thread at the mkdir). Returns the stopped processes (empty:
// no upload started in time).
std::vector<pid_t> freeze_when_uploading(const LabHost& host, const std::string& ssh_port) {
    const std::string versions = host.cert_root + "/media/versions";
    stdfs::create_directories(versions);
    const int fd = ::inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
    REQUIRE(fd >= 0);
    REQUIRE(::inotify_add_watch(fd, versions.c_str(), IN_CREATE) >= 0);
    std::vector<pid_t> serving;  // found while the deployment connects, before the upload
    std::vector<pid_t> stopped;
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (stopped.empty() && std::chrono::steady_clock::now() < give_up) {
        if (serving.empty())
            serving = processes_serving(host.address, ssh_port);
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, serving.empty() ? 2 : 50) <= 0)
            continue;
        alignas(inotify_event) char buf[4096];
        const ssize_t n = ::read(fd, buf, sizeof buf);
        for (ssize_t at = 0; n > 0 && at < n;) {
            const auto* event = reinterpret_cast<const inotify_event*>(buf + at);
            at += static_cast<ssize_t>(sizeof(inotify_event) + event->len);
            if (event->len == 0 || !std::string(event->name).starts_with(".tmp-"))
                continue;
            if (serving.empty())
                serving = processes_serving(host.address, ssh_port);
            stopped = with_children(serving);
            for (pid_t pid : stopped)
                ::kill(pid, SIGSTOP);
            break;
        }
    }
    ::close(fd);
    return stopped;
}

}  // namespace

TEST_CASE("a host frozen mid-upload fails by its host_timeout; the rest is deployed",
          "[deploy][failure][frozen]") {
    const Lab& lab = Lab::get();
    const auto hosts = lab.hosts();
    REQUIRE(hosts.size() >= 2);
    const LabHost& frozen = hosts[1];
    auto t = write_fleet_inventory("frozen-host", [&](json& inv) {
        // Every host at once, and a failure does not stop the others.
        inv["groups"]["cdn"]["rollout"] = {{"canary", 0}, {"batch", "100%"}, {"max_failures", 1}};
        auto& h = inv["hosts"][frozen.name];
        h["host_timeout"] = "5s";
        // Keeps the host busy after its upload: the freeze always lands mid-deployment.
        h["test_command"] = "sleep 2; " + frozen.test_command;
    });
    REQUIRE(run_certfleet(cf_args(t, {"-q", "issue"})).exit_code == 0);

    const auto started = std::chrono::steady_clock::now();
    auto deploy = std::async(std::launch::async, [&] {
        return run_certfleet(cf_args(t, {"--json", "deploy"}));
    });
    const auto stopped = freeze_when_uploading(frozen, lab.ssh_port);
    const CommandResult r = deploy.get();
    const auto took = std::chrono::steady_clock::now() - started;
    for (pid_t pid : stopped) {
        ::kill(pid, SIGCONT);
        ::kill(pid, SIGTERM);  // its client is gone
    }
    INFO(r.err);
    REQUIRE_FALSE(stopped.empty());
    // host_timeout (5 s) plus what swapping back may take, far below the
    // 30 s an SSH operation may take, or the hours a frozen host once cost.
    CHECK(took < std::chrono::seconds(40));
    CHECK(r.exit_code == 1);
    const json doc = json::parse(r.out);  // alive for the loop: ["hosts"] refers into it
    for (const auto& h : doc["hosts"]) {
        INFO(h.dump());
        if (h["name"] == frozen.name) {
            CHECK(h["result"] == "failed");
            CHECK_THAT(h["error"].get<std::string>(),
                       Catch::Contains("out of time: the host_timeout of 5s passed"));
        } else {
            CHECK(h["result"] == "deployed");
        }
    }
    // The lock went with the command: the next one runs, and a new
    // connection finishes the host that froze.
    auto again = run_certfleet(cf_args(t, {"--json", "deploy"}));
    INFO(again.err);
    CHECK(again.exit_code == 0);
    const json again_doc = json::parse(again.out);
    for (const auto& h : again_doc["hosts"])
        if (h["name"] == frozen.name)
            CHECK(h["result"] == "deployed");
}

TEST_CASE("run --time-limit: the host in flight is swapped back, the rest not started",
          "[run][frozen]") {
    const auto hosts = Lab::get().hosts();
    REQUIRE(hosts.size() >= 2);
    // The rollout takes hosts in name order: the first name is the canary.
    const LabHost& canary = *std::min_element(
        hosts.begin(), hosts.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
    auto t = write_fleet_inventory("time-limit", [&](json& inv) {
        // One host at a time, the canary first: its config test hangs.
        inv["groups"]["cdn"]["rollout"] = {{"canary", 1}, {"batch", 1}, {"max_failures", 4}};
        inv["hosts"][canary.name]["test_command"] = "sleep 60; " + canary.test_command;
    });
    REQUIRE(run_certfleet(cf_args(t, {"-q", "issue"})).exit_code == 0);
    const std::string before =
        served_serial(canary.address, Lab::get().nginx_port, "media.example.test");

    const auto started = std::chrono::steady_clock::now();
    auto r = run_certfleet(cf_args(t, {"--json", "run", "--jitter", "0", "--time-limit", "6s"}));
    const auto took = std::chrono::steady_clock::now() - started;
    INFO(r.err);
    CHECK(took < std::chrono::seconds(45));
    CHECK(r.exit_code == 2);  // nothing deployed
    const auto doc = json::parse(r.out);
    for (const auto& h : doc["hosts"]) {
        INFO(h.dump());
        if (h["name"] == canary.name) {
            CHECK(h["result"] == "failed");
            CHECK_THAT(h["error"].get<std::string>(),
                       Catch::Contains("out of time: the run's --time-limit of 6s passed") &&
                           Catch::Contains("swapped back"));
        } else {
            CHECK(h["result"] == "not_started");
            CHECK_THAT(h["error"].get<std::string>(),
                       Catch::Contains("the run's --time-limit of 6s passed before this host"));
        }
    }
    // The audit came after the limit: no host was audited, and it says why.
    CHECK(doc["audit"]["hosts_audited"].empty());
    for (const auto& f : doc["audit"]["hosts_failed_detail"])
        CHECK_THAT(f["error"].get<std::string>(), Catch::Contains("out of time"));
    CHECK(served_serial(canary.address, Lab::get().nginx_port, "media.example.test") == before);
}
