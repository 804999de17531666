// Maps the inventory's DNS settings onto acme/dns providers and the
// propagation checker (acme/ knows nothing of the inventory).
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "acme/issuer.hpp"
#include "inventory/model.hpp"

namespace certfleet::operations {

class DnsWiring {
public:
    DnsWiring(const inventory::Inventory& inventory, const std::atomic<bool>* cancel);
    ~DnsWiring();

    // The solver for one certificate: its provider, challenge_alias / CNAME
    // following, and propagation checks at the zone's authoritative servers.
    core::Result<acme::DnsSolver> solver_for(const inventory::CertificateSpec& spec);
    // The provider the inventory's dns.providers calls `name` (made once).
    core::Result<acme::dns::DnsProvider*> provider_named(const std::string& name);

private:
    core::Result<acme::dns::DnsProvider*> provider(const std::string& name);

    const inventory::Inventory& m_inventory;
    const std::atomic<bool>* m_cancel;
    std::mutex m_mutex;
    std::map<std::string, std::unique_ptr<acme::dns::DnsProvider>> m_providers;
    struct Checker;
    std::unique_ptr<Checker> m_checker;
};

}  // namespace certfleet::operations
