// `certfleet deploy` / `rollback`: bring hosts to the store's current version
// of each certificate through the rollout planner, recording every result.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "distribute/deploy.hpp"
#include "operations/issue.hpp"

namespace certfleet::operations {

struct DeployOptions {
    std::vector<std::string> names;   // certificates; empty: all with deploy_to
    std::vector<std::string> hosts;   // only these hosts (empty: all)
    std::vector<std::string> groups;  // only hosts in these groups (empty: all)
    bool force = false;
    bool dry_run = false;
    int concurrency = 32;
    // renew --dry-run: certificates the issue stage would (re)issue, so every
    // host of theirs would get the new version.
    std::vector<std::string> planned_issues;
    // `run --time-limit`: hosts not started by then are not started; hosts
    // in flight stop there (an activation is swapped back). Each host also
    // has its own host_timeout.
    std::optional<distribute::Deadline> time_limit;
};

// One enum and one name mapping for a host's result, from the deployment
// transaction up to the CLI's output (which reaches it through operations).
using HostResult = distribute::DeployResult;
using distribute::deploy_result_name;
using distribute::parse_deploy_result;

struct HostOutcome {
    std::string host;
    std::string certificate;
    HostResult result = HostResult::Failed;
    std::string version;
    std::string served_serial;
    std::string error;
    std::string hint;
    std::string wave;  // "cdn canary", "cdn wave 2/3"
    bool adopted = false;
    // The host acted, but the ledger could not record it (what went wrong and
    // the next step); empty when recorded. Counts as a failure in exit_code.
    std::string ledger_error;
    bool no_such_version = false;  // rollback --to a version the host lacks: nothing done
    bool refused = false;          // rollback to a revoked version without --force: nothing done
    std::string note{};            // what a dry run saw: "has V1; would deploy V2"
};

struct DeployReport {
    std::vector<HostOutcome> hosts;
    // 0 all fine, 1 some failed (or a result the ledger could not record),
    // 2 every attempted host failed.
    int exit_code() const;
};

DeployReport run_deploy(Context& ctx, const DeployOptions& options);

struct RollbackOptions {
    std::string certificate;
    std::string host;
    std::string version;  // empty: the previous one
    bool force = false;   // also to a version the CA revoked
    std::string reason;   // the operator's why, kept in the ledger with the pin
};
HostOutcome run_rollback(Context& ctx, const RollbackOptions& options);

// What `rollback --list` shows: the versions on one host, and its pin.
struct HostVersionListing {
    std::vector<distribute::HostVersion> versions;     // oldest first
    std::optional<state::EventRecord> pin;             // the rollback that pins it
    std::map<std::string, state::Revocation> revoked;  // by version
};
core::Result<HostVersionListing> list_host_versions(Context& ctx, const std::string& certificate,
                                                    const std::string& host);

// `rollback --unpin`: lets the next deploy bring the host current again.
// False when it was not pinned (nothing recorded).
core::Result<bool> unpin(Context& ctx, const std::string& certificate, const std::string& host);

}  // namespace certfleet::operations
