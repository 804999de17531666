// Rollout: which hosts get a change when. Per group a canary wave first,
// then batches; a group stops once its failures exceed max_failures and its
// untouched hosts are reported skipped. Hosts run concurrently (bounded)
// within a wave and one slow or failing host never blocks the others.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

namespace certfleet::distribute {

// Hosts per wave after the canary: a count, or a percentage of the group
// (rounded up); at least one host either way.
struct BatchSize {
    enum class Unit { Hosts, Percent };
    Unit unit = Unit::Percent;
    int value = 100;

    size_t hosts(size_t group_size) const;
};

struct RolloutPolicy {
    int canary = 0;        // hosts in the first wave (0: no canary wave)
    BatchSize batch;       // hosts per later wave
    int max_failures = 0;  // failures tolerated before the group stops
};

struct GroupRollout {
    std::string name;  // group name, or "" for hosts in no rollout group
    RolloutPolicy policy;
    std::vector<std::vector<std::string>> waves;  // host names per wave, in order
};

// Splits `hosts` (deduplicated, order kept) into waves per `policy`.
GroupRollout plan_group(const std::string& name, const std::vector<std::string>& hosts,
                        const RolloutPolicy& policy);

enum class HostRun { Succeeded, Failed, Skipped };

using DeployFn = std::function<bool(const std::string& host)>;
using HostExceptionFn = std::function<void(const std::string& host, const std::string& what)>;

// Runs the plans wave by wave: wave k of every still-running group together,
// at most `concurrency` hosts at once. `deploy` returns true on success and
// is called at most once per host (a host in several groups goes with the
// first). An exception from `deploy` fails that host only; `on_exception`
// (when set) hears which host and why, so the caller can report it.
// Returns every host's fate.
std::map<std::string, HostRun> execute_rollout(const std::vector<GroupRollout>& groups,
                                               int concurrency, const DeployFn& deploy,
                                               const HostExceptionFn& on_exception = {});

}  // namespace certfleet::distribute
