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

struct RolloutPolicy {
    int canary = 0;              // hosts in the first wave (0: no canary wave)
    std::string batch = "100%";  // hosts per later wave: "5" or "25%" (of the group)
    int max_failures = 0;        // failures tolerated before the group stops
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

// Runs the plans wave by wave: wave k of every still-running group together,
// at most `concurrency` hosts at once. `deploy` returns true on success and
// is called at most once per host (a host in several groups goes with the
// first). Returns every host's fate.
std::map<std::string, HostRun> execute_rollout(
    const std::vector<GroupRollout>& groups, int concurrency,
    const std::function<bool(const std::string&)>& deploy);

}  // namespace certfleet::distribute
