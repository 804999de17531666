// Inventory hosts as distribute/ sees them: a transport per host, and the
// per-host deployment target of a certificate.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "distribute/deploy.hpp"
#include "distribute/transport.hpp"
#include "inventory/model.hpp"

namespace certfleet::app {

std::unique_ptr<distribute::Transport> make_transport(const inventory::Host& host);

distribute::HostTarget host_target(const inventory::Inventory& inventory,
                                   const inventory::Host& host,
                                   const inventory::CertificateSpec& cert);

// One connection per host for a whole command, opened on first use. A given
// host's transport is only ever used by one thread at a time (the rollout
// runs each host once per wave).
class TransportPool {
public:
    explicit TransportPool(const inventory::Inventory& inventory) : m_inventory(inventory) {}
    distribute::Transport& get(const std::string& host);

private:
    const inventory::Inventory& m_inventory;
    std::mutex m_mutex;
    std::map<std::string, std::unique_ptr<distribute::Transport>> m_transports;
};

}  // namespace certfleet::app
