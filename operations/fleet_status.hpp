// What each host has deployed and really serves, for `status` (and later
// `check --probe` and `audit`). One connection per host, hosts in parallel.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "inventory/model.hpp"
#include "state/ledger.hpp"
#include "state/store.hpp"

namespace certfleet::operations {

struct HostCertStatus {
    std::string host;
    std::string deployed_version;
    std::string deployed_serial;
    std::string served_serial;
    std::string state;  // current | stale | missing | failed | unknown
    std::string detail;
};

// Keyed by certificate name; only certificates in `names` (all when empty).
std::map<std::string, std::vector<HostCertStatus>> collect_host_status(
    const inventory::Inventory& inv, const state::Store& store, const state::Ledger& ledger,
    const std::vector<std::string>& names, int concurrency);

}  // namespace certfleet::operations
