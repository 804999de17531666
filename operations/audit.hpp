// `certfleet audit`: every host (concurrently) and the manager's store,
// observed (app/audit_scan) and classified (inventory/audit) into findings.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "audit/classify.hpp"
#include "audit/scan.hpp"
#include "inventory/model.hpp"
#include "state/ledger.hpp"
#include "state/store.hpp"

namespace certfleet::operations {

// The finding kinds' names, for the CLI (which reaches audit through here).
using audit::finding_kind_name;

struct AuditOptions {
    std::vector<std::string> hosts;  // empty: every host, and the store
    int concurrency = 16;
    audit::ScanLimits limits;
    core::TimePoint now{};
    // `run --time-limit`; each host's audit also ends by its host_timeout.
    std::optional<distribute::Deadline> time_limit;
    std::function<void(const std::string& host, const std::string& step)> progress;
};

struct AuditHostFailure {
    std::string host;
    std::string error;
    std::string hint;
};

struct AuditNote {
    std::string host;
    std::string note;  // something that could not be checked
};

struct AuditReport {
    std::vector<audit::AuditFinding> findings;  // grouped by host (store last), then path
    std::vector<AuditHostFailure> hosts_failed;
    std::vector<AuditNote> unchecked;
    std::vector<std::string> hosts_audited;
    bool store_audited = false;
};

// Only reads: hosts, store and ledger are left as they are.
AuditReport run_audit(const inventory::Inventory& inventory, const state::Store& store,
                      const state::Ledger& ledger, const AuditOptions& options);

}  // namespace certfleet::operations
