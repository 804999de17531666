// What each host has deployed and really serves, for `status` (and later
// `check --probe` and `audit`). One connection per host, hosts in parallel.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "inventory/model.hpp"
#include "state/ledger.hpp"
#include "state/store.hpp"

namespace certfleet::operations {

// What one host has of one certificate, from what was looked at.
enum class HostState {
    Current,  // "current": it serves (or, unprobed, has deployed) the store's current serial
    Stale,    // "stale": it has an older version
    Missing,  // "missing": the host has no certificate file for it (detail: where)
    Failed,   // "failed": not current, and its last deployment failed or rolled back
    Unknown,  // "unknown": the host could not be read (detail: why)
    Revoked,  // "revoked": it serves (or, unprobed, has deployed) a serial the CA revoked
    Pinned,   // "pinned": an operator's rollback holds it on its version (detail: when, why)
};

std::string_view host_state_name(HostState state);
std::optional<HostState> parse_host_state(std::string_view name);

struct HostCertStatus {
    std::string host;
    std::string deployed_version;
    std::string deployed_serial;
    std::string served_serial;
    HostState state = HostState::Unknown;
    std::string detail;
};

// "revoked at 2026-12-07T10:00:00Z (reason keyCompromise)"
std::string describe_revocation(const state::Revocation& revocation);

// Keyed by certificate name; only certificates in `names` (all when empty).
std::map<std::string, std::vector<HostCertStatus>> collect_host_status(
    const inventory::Inventory& inv, const state::Store& store, const state::Ledger& ledger,
    const std::vector<std::string>& names, int concurrency);

}  // namespace certfleet::operations
