// Inventory hosts as distribute/ sees them: a transport per host, and the
// per-host deployment target of a certificate.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>

#include "distribute/deploy.hpp"
#include "distribute/rollout.hpp"
#include "distribute/transport.hpp"
#include "inventory/model.hpp"

namespace certfleet::fleet {

std::unique_ptr<distribute::Transport> make_transport(const inventory::Host& host);

distribute::HostTarget host_target(const inventory::Inventory& inventory,
                                   const inventory::Host& host,
                                   const inventory::CertificateSpec& cert);

distribute::RolloutPolicy rollout_policy(const inventory::RolloutSettings& rollout);

// When work on `host` that starts now must end: its host_timeout from now,
// or the run's limit when that comes first.
distribute::Deadline host_deadline(const inventory::Host& host,
                                   const std::optional<distribute::Deadline>& run_limit);

// The run's limit as a deadline: `limit` from now, named for messages.
distribute::Deadline run_limit_deadline(core::Seconds limit);

// Connections for a whole command, opened on first use. A given host's
// transport is only ever used by one thread at a time (the rollout runs each
// host once per wave). After each use the caller says whether the host has
// more work in this command: if not, its connection is closed at once; if so,
// it stays open while at most `max_idle` are kept idle (else it is closed and
// reopened later). Open connections -- file descriptors and libssh2 sessions
// -- are so bounded by the hosts in use plus `max_idle`, not by fleet size.
class TransportPool {
public:
    TransportPool(const inventory::Inventory& inventory, size_t max_idle)
        : m_inventory(inventory), m_max_idle(max_idle) {}
    distribute::Transport& get(const std::string& host);
    void release(const std::string& host, bool more_work);
    size_t open_count() const;  // transports created and not closed

private:
    const inventory::Inventory& m_inventory;
    const size_t m_max_idle;
    mutable std::mutex m_mutex;
    std::map<std::string, std::unique_ptr<distribute::Transport>> m_transports;
    std::set<std::string> m_idle;  // released with more work to come, still open
};

}  // namespace certfleet::fleet
