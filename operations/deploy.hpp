// `certfleet deploy` / `rollback`: bring hosts to the store's current version
// of each certificate through the rollout planner, recording every result.
#pragma once

#include <string>
#include <vector>

#include "operations/issue.hpp"

namespace certfleet::operations {

struct DeployOptions {
    std::vector<std::string> names;   // certificates; empty: all with deploy_to
    std::vector<std::string> hosts;   // only these hosts (empty: all)
    std::vector<std::string> groups;  // only hosts in these groups (empty: all)
    bool force = false;
    bool dry_run = false;
    int concurrency = 32;
};

struct HostOutcome {
    std::string host;
    std::string certificate;
    std::string result;  // deployed | unchanged | rolled_back | failed | skipped | planned
    std::string version;
    std::string served_serial;
    std::string error;
    std::string hint;
    std::string wave;  // "cdn canary", "cdn wave 2/3"
    bool adopted = false;
};

struct DeployReport {
    std::vector<HostOutcome> hosts;
    int exit_code() const;  // 0 all fine, 1 some failed, 2 every attempted host failed
};

DeployReport run_deploy(Context& ctx, const DeployOptions& options);

struct RollbackOptions {
    std::string certificate;
    std::string host;
    std::string version;  // empty: the previous one
};
HostOutcome run_rollback(Context& ctx, const RollbackOptions& options);

}  // namespace certfleet::operations
