// Maps the inventory's DNS settings onto acme/dns providers and the
// propagation checker (acme/ knows nothing of the inventory).
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "acme/dns/provider.hpp"
#include "acme/issuer.hpp"
#include "inventory/model.hpp"

namespace certfleet::operations {

// What `validate --online` learned about one DNS provider.
struct ProviderAccess {
    std::string provider;              // the inventory's name for it
    std::string type;                  // "cloudflare"
    std::optional<core::Error> error;  // credentials refused, API down, settings unusable
    acme::dns::AccessCheck check;      // when no error: per-name notes and problems
};

class DnsWiring {
public:
    DnsWiring(const inventory::Inventory& inventory, const std::atomic<bool>* cancel);
    ~DnsWiring();

    // The solver for one certificate: its provider, challenge_alias / CNAME
    // following, and propagation checks at the zone's authoritative servers.
    core::Result<acme::DnsSolver> solver_for(const inventory::CertificateSpec& spec);
    // The provider the inventory's dns.providers calls `name` (made once).
    core::Result<acme::dns::DnsProvider*> provider_named(const std::string& name);
    // One read-only call per provider (validate --online) for the challenge
    // names of the certificates that use it.
    std::vector<ProviderAccess> check_access();
    // Builds every provider from its settings (secrets read, each type's own
    // checks) without any network traffic: what `validate` checks offline.
    // Provider name → why it cannot be built.
    std::vector<std::pair<std::string, core::Error>> settings_errors();

private:
    core::Result<acme::dns::DnsProvider*> provider(const std::string& name);
    core::Status ensure_checker();
    std::vector<acme::dns::ChallengeRecord> challenge_names(const std::string& provider_name);

    const inventory::Inventory& m_inventory;
    const std::atomic<bool>* m_cancel;
    std::mutex m_mutex;
    std::map<std::string, std::unique_ptr<acme::dns::DnsProvider>> m_providers;
    struct Checker;
    std::unique_ptr<Checker> m_checker;
};

}  // namespace certfleet::operations
