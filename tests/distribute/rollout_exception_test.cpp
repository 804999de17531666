// An exception from one host's task fails that host only, with its reason
// handed to the caller; the rest of the wave and the next waves still run.
#include <mutex>
#include <stdexcept>

#include <catch2/catch.hpp>

#include "distribute/rollout.hpp"

using namespace certfleet::distribute;

TEST_CASE("rollout: a host whose task throws fails, the others still deploy", "[rollout]") {
    RolloutPolicy policy;
    policy.batch = {BatchSize::Unit::Hosts, 2};
    policy.max_failures = 5;
    auto group = plan_group("cdn", {"a", "b", "c", "d", "e"}, policy);
    std::mutex mutex;
    std::map<std::string, std::string> reasons;
    auto fates = execute_rollout(
        {group}, 4,
        [](const std::string& host) -> bool {
            if (host == "b")
                throw std::runtime_error("bug on b");
            if (host == "d")
                throw 7;  // not a std::exception either
            return true;
        },
        [&](const std::string& host, const std::string& what) {
            std::lock_guard lock(mutex);
            reasons[host] = what;
        });
    CHECK(fates.at("a") == HostRun::Succeeded);
    CHECK(fates.at("b") == HostRun::Failed);
    CHECK(fates.at("c") == HostRun::Succeeded);
    CHECK(fates.at("d") == HostRun::Failed);
    CHECK(fates.at("e") == HostRun::Succeeded);
    CHECK(reasons ==
          std::map<std::string, std::string>{{"b", "bug on b"}, {"d", "unknown exception"}});
}
