// `certfleet audit`: every host (concurrently) and the manager's store,
// observed (app/audit_scan) and classified (inventory/audit) into findings.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "app/audit_scan.hpp"
#include "inventory/audit.hpp"
#include "inventory/ledger.hpp"
#include "inventory/model.hpp"
#include "inventory/store.hpp"

namespace certfleet::app {

struct AuditOptions {
    std::vector<std::string> hosts;  // empty: every host, and the store
    int concurrency = 16;
    ScanLimits limits;
    core::TimePoint now{};
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
    std::vector<inventory::AuditFinding> findings;  // grouped by host (store last), then path
    std::vector<AuditHostFailure> hosts_failed;
    std::vector<AuditNote> unchecked;
    std::vector<std::string> hosts_audited;
    bool store_audited = false;
};

// Only reads: hosts, store and ledger are left as they are.
AuditReport run_audit(const inventory::Inventory& inventory, const inventory::Store& store,
                      const inventory::Ledger& ledger, const AuditOptions& options);

}  // namespace certfleet::app
