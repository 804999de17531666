// `certfleet run`, the scheduled job: (after the caller took the state lock)
// sleep the jitter, renew what is due, deploy what is stale, check the store
// and what every host serves, notify, write the metrics textfile.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "inventory/quarantine.hpp"
#include "operations/audit.hpp"
#include "operations/check.hpp"
#include "operations/deploy.hpp"
#include "operations/issue.hpp"
#include "operations/notices.hpp"

namespace certfleet::operations {

struct RunOptions {
    core::Seconds jitter{0};  // sleep a uniformly random 0..jitter first
    int issue_concurrency = 8;
    int deploy_concurrency = 32;
    std::string manager_host;  // shown in notifications
    bool audit = true;         // audit every host and the store after the check
    // Entries of an inventory whose other parts are valid, set aside: each is
    // a CRITICAL item (and a notice); the rest of the fleet runs.
    std::vector<inventory::QuarantinedEntry> quarantined;
    // From the end of the jitter: no host starts a deployment or an audit
    // after it, and hosts in flight stop there (swapped back). Below the
    // timer's period, so a stuck run never keeps the lock from the next.
    core::Seconds time_limit{50 * 60};
};

struct RunReport {
    bool cancelled = false;       // SIGINT / SIGTERM during the jitter or the work
    bool inventory_valid = true;  // false: nothing ran (alarm_invalid_inventory)
    int quarantined_entries = 0;  // invalid inventory entries left out of this run
    IssueReport issued;
    DeployReport deployed;
    CheckReport check;
    std::optional<AuditReport> audit;
    std::vector<ChannelResult> notifications;
    std::vector<std::string> metrics_errors;  // textfiles that could not be written
    double duration_seconds = 0;
    // 0 all fine; 1 something failed or needs attention (warning, a channel
    // or textfile failed); 2 everything attempted failed or something is
    // critical (expiring, expired, wrong name served). Audit findings and
    // hosts that could not be audited count as "needs attention".
    int exit_code() const;
};

RunReport run_scheduled(Context& ctx, const RunOptions& options);

// `run` when the inventory cannot be trusted at all (an error outside its
// certificate and host entries): nothing is renewed or deployed, but the
// operator hears of it. `ctx.inventory` holds only the alarm sections
// (inventory::parse_alarm_sections). Sends one CRITICAL invalid_inventory
// notice (de-duplicated like every notice; "resolved" once a run loads the
// inventory again) and writes the metrics: inventory not valid, last run
// failed, each stored certificate's expiry still exported.
RunReport alarm_invalid_inventory(Context& ctx, const RunOptions& options,
                                  const std::vector<std::string>& errors);

}  // namespace certfleet::operations
