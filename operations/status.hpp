// `status`: every certificate in the inventory with what the store holds
// (serial, validity, renewal time) and, unless asked not to, what each of its
// hosts has deployed and really serves. Read-only: never asks the CA.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/time.hpp"
#include "inventory/model.hpp"
#include "operations/fleet_status.hpp"
#include "state/ledger.hpp"
#include "state/store.hpp"

namespace certfleet::operations {

enum class CertificateState { Ok, Due, Expired, Missing, Revoked };
// "ok", "due", "expired", "missing", "revoked" (docs/json.md, status).
std::string_view certificate_state_name(CertificateState state);
std::optional<CertificateState> parse_certificate_state(std::string_view name);

// The store's current version, as status shows it.
struct CurrentVersion {
    std::string version;
    std::string serial;  // upper-case hex
    core::TimePoint not_before{};
    core::TimePoint not_after{};
    core::TimePoint renew_at{};
    std::optional<state::Revocation> revoked;  // the CA revoked it (the ledger's record)
};

struct CertificateStatus {
    std::string name;
    std::vector<std::string> domains;
    std::optional<CurrentVersion> current;  // nullopt: never issued
    CertificateState state = CertificateState::Missing;
    std::string reason;  // why it is (not) due, for humans
    // Failed attempts since the last success: shown until one succeeds (run
    // retries them under the backoff even when the certificate is not due).
    std::optional<state::FailureState> failure;
    std::vector<HostCertStatus> hosts;
};

struct StatusReport {
    std::vector<CertificateStatus> certificates;  // inventory order (by name)
};

struct StatusOptions {
    std::vector<std::string> names;  // empty: every certificate
    core::TimePoint now{};           // evaluate as of this moment (--at)
    bool probe_hosts = true;         // false: the store only (--no-hosts)
    int concurrency = 32;            // hosts looked at in parallel
};

StatusReport collect_status(const inventory::Inventory& inv, const state::Store& store,
                            const state::Ledger& ledger, const StatusOptions& options);

}  // namespace certfleet::operations
