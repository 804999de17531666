#include "distribute/rollout.hpp"

#include <atomic>
#include <mutex>
#include <set>
#include <thread>

#include <catch2/catch.hpp>

using namespace certfleet::distribute;

namespace {
BatchSize percent(int value) {
    return {BatchSize::Unit::Percent, value};
}
BatchSize count(int value) {
    return {BatchSize::Unit::Hosts, value};
}

std::vector<std::string> hosts(int n, const std::string& prefix = "cdn-") {
    std::vector<std::string> v;
    for (int i = 1; i <= n; ++i)
        v.push_back(prefix + std::to_string(i));
    return v;
}
}  // namespace

TEST_CASE("a canary wave, then batches by count or percentage", "[rollout]") {
    auto g = plan_group("cdn", hosts(10), {1, percent(25), 0});
    REQUIRE(g.waves.size() == 4);  // 1, then ceil(2.5)=3, 3, 3
    CHECK(g.waves[0] == std::vector<std::string>{"cdn-1"});
    CHECK(g.waves[1].size() == 3);
    CHECK(g.waves[3].size() == 3);

    auto by_count = plan_group("cdn", hosts(5), {0, count(2), 0});
    REQUIRE(by_count.waves.size() == 3);
    CHECK(by_count.waves[2] == std::vector<std::string>{"cdn-5"});

    auto all = plan_group("", hosts(3), {});
    REQUIRE(all.waves.size() == 1);
    CHECK(all.waves[0].size() == 3);
    CHECK(plan_group("x", {}, {1, percent(50), 0}).waves.empty());
}

TEST_CASE("a batch size is a host count or a share of the group, rounded up", "[rollout]") {
    CHECK(count(3).hosts(10) == 3);
    CHECK(count(30).hosts(10) == 30);  // more than the group: one wave
    CHECK(percent(25).hosts(10) == 3);
    CHECK(percent(100).hosts(7) == 7);
    CHECK(percent(1).hosts(10) == 1);  // never a wave of no host
    CHECK(percent(50).hosts(0) == 1);
    CHECK(BatchSize{}.hosts(12) == 12);  // the default: everything at once
}

TEST_CASE("a failing canary stops its group; untouched hosts are skipped", "[rollout]") {
    auto g = plan_group("cdn", hosts(6), {1, percent(50), 0});
    std::atomic<int> calls{0};
    auto results = execute_rollout({g}, 8, [&](const std::string&) {
        ++calls;
        return false;
    });
    CHECK(calls == 1);
    CHECK(results["cdn-1"] == HostRun::Failed);
    for (int i = 2; i <= 6; ++i)
        CHECK(results["cdn-" + std::to_string(i)] == HostRun::Skipped);
}

TEST_CASE("max_failures tolerates failures, and a stopped group does not stop another",
          "[rollout]") {
    auto cdn = plan_group("cdn", hosts(6), {0, count(2), 1});
    auto web = plan_group("web", hosts(4, "web-"), {0, count(1), 0});
    auto results = execute_rollout({cdn, web}, 4, [&](const std::string& h) {
        return h != "cdn-1" && h != "cdn-3";  // two failures in cdn: 2nd exceeds max 1
    });
    CHECK(results["cdn-1"] == HostRun::Failed);
    CHECK(results["cdn-2"] == HostRun::Succeeded);
    CHECK(results["cdn-3"] == HostRun::Failed);
    CHECK(results["cdn-4"] == HostRun::Succeeded);  // same wave as cdn-3: it still ran
    CHECK(results["cdn-5"] == HostRun::Skipped);
    CHECK(results["cdn-6"] == HostRun::Skipped);
    for (int i = 1; i <= 4; ++i)
        CHECK(results["web-" + std::to_string(i)] == HostRun::Succeeded);
}

TEST_CASE("a host in several groups is deployed once", "[rollout]") {
    auto a = plan_group("a", {"h1", "h2"}, {});
    auto b = plan_group("b", {"h2", "h3"}, {});
    std::mutex m;
    std::multiset<std::string> seen;
    auto results = execute_rollout({a, b}, 4, [&](const std::string& h) {
        std::lock_guard lock(m);
        seen.insert(h);
        return true;
    });
    CHECK(seen.count("h2") == 1);
    CHECK(results.size() == 3);
}

TEST_CASE("hosts in a wave run concurrently, bounded", "[rollout]") {
    auto g = plan_group("cdn", hosts(12), {});
    std::atomic<int> running{0}, peak{0};
    execute_rollout({g}, 4, [&](const std::string&) {
        int now = ++running;
        int p = peak.load();
        while (now > p && !peak.compare_exchange_weak(p, now)) {
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        --running;
        return true;
    });
    CHECK(peak <= 4);
    CHECK(peak >= 2);
}
