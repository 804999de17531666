// `certfleet check` (and the check stage of `run`): expiry of what the store
// holds and, with probing, of what every host really serves, against the
// policy's warn_before / critical_before; renewal and deployment failures the
// ledger remembers. Read-only: never writes, never takes the lock.
#pragma once

#include <functional>
#include <string>
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

struct CheckItem {
    std::string certificate;
    std::string host;    // empty for the store's own certificate
    std::string source;  // "store" | "served"
    // expiry | not_issued | renewal_failing | deploy_failed | served_mismatch |
    // name_mismatch | probe_failed (the worst reason when several apply)
    std::string kind;
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
