// `certfleet check` (and the check stage of `run`): expiry of what the store
// holds and, with probing, of what every host really serves, against the
// policy's warn_before / critical_before; renewal and deployment failures the
// ledger remembers. Read-only: never writes, never takes the lock.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/time.hpp"
#include "distribute/tls_probe.hpp"
#include "inventory/model.hpp"
#include "renewal/expiry.hpp"
#include "state/ledger.hpp"
#include "state/store.hpp"

namespace certfleet::operations {

struct CheckOptions {
    core::TimePoint at{};  // evaluate as of this moment (`--at` forecasts)
    bool probe = false;    // TLS handshake to every host's verify address
    int concurrency = 32;  // parallel probes
    core::Seconds probe_timeout{5};
    // How one endpoint is probed: distribute::probe_tls when empty (a seam
    // for tests, which cannot make a real handshake fail in every way).
    std::function<core::Result<distribute::ServedCertificate>(const std::string& address, int port,
                                                              const std::string& server_name,
                                                              core::Seconds timeout)>
        probe_with;
};

// Where an item's certificate was looked at.
enum class CheckSource {
    Store,   // "store": the store's current version (or the ledger's memory of a host)
    Served,  // "served": what a TLS handshake with the host returned
};

// Why an item is what it is (the worst reason when several apply).
enum class CheckKind {
    Expiry,          // "expiry": its validity against warn_before / critical_before
    NotIssued,       // "not_issued": nothing in the store yet
    RenewalFailing,  // "renewal_failing": the ledger remembers failed attempts
    DeployFailed,    // "deploy_failed": the host's last deployment failed or rolled back
    ServedMismatch,  // "served_mismatch": the host serves another serial than the current
    NameMismatch,    // "name_mismatch": what it serves is not valid for its server name
    ProbeFailed,     // "probe_failed": the handshake failed; nothing was seen
    Revoked,         // "revoked": the CA revoked it (the store's, or the one a host serves)
    InvalidEntry,    // "invalid_entry": `run` set its inventory entry aside (quarantined)
};

std::string_view check_source_name(CheckSource source);
std::optional<CheckSource> parse_check_source(std::string_view name);
std::string_view check_kind_name(CheckKind kind);
std::optional<CheckKind> parse_check_kind(std::string_view name);

struct CheckItem {
    std::string certificate;
    std::string host;  // empty for the store's own certificate
    CheckSource source = CheckSource::Store;
    CheckKind kind = CheckKind::Expiry;
    // The failed deployment the ledger remembers for this host, when there is one
    // (Failed, RolledBack or RollbackFailed).
    std::optional<state::EventKind> failed_deployment;
    std::string serial;
    std::optional<core::TimePoint> not_after;
    std::optional<core::TimePoint> not_before;
    long long seconds_left = 0;
    renewal::Severity severity = renewal::Severity::Ok;
    std::string message;   // "expires in 5d 3h (…); renewal failing since …"
    bool current = false;  // served: the store's current serial
};

struct CheckReport {
    std::vector<CheckItem> items;  // store items first (by certificate), then served
    renewal::Severity state() const;
    int exit_code() const;  // Nagios: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN
    // "CERTFLEET WARNING - media: expires in 12d (…) | critical=0 warning=1 …"
    std::string first_line() const;
};

CheckReport run_check(const inventory::Inventory& inv, const state::Store& store,
                      const state::Ledger& ledger, const CheckOptions& options);

}  // namespace certfleet::operations
