#include "operations/dns_wiring.hpp"

#include "acme/dns/factory.hpp"
#include "acme/dns/resolver.hpp"
#include "inventory/load.hpp"

namespace certfleet::operations {

namespace dns = acme::dns;

struct DnsWiring::Checker {
    dns::Resolver resolver;
};

DnsWiring::DnsWiring(const inventory::Inventory& inventory, const std::atomic<bool>* cancel)
    : m_inventory(inventory), m_cancel(cancel) {}

DnsWiring::~DnsWiring() = default;

namespace {

// Paths were resolved against the inventory's directory at load time.
core::Result<std::string> provider_secret(const inventory::DnsProviderConfig& p,
                                          const std::string& reference, const char* key) {
    auto secret = inventory::read_secret(reference, "");
    if (!secret)
        return core::fail(core::ErrorKind::Config,
                          "DNS provider '" + p.name + "': " + secret.error().message,
                          std::string("check ") + key);
    return secret;
}

core::Result<dns::ProviderConfig> powerdns_config(const inventory::DnsProviderConfig& p) {
    dns::PowerDnsConfig c;
    c.name = p.name;
    c.api_url = p.api_url;
    c.server_id = p.server_id;
    c.ttl = p.ttl;
    c.timeout = p.timeout;
    c.ca_bundle = p.ca_bundle;
    auto key = provider_secret(p, p.api_key_file, "api_key_file");
    if (!key)
        return key.failure();
    c.api_key = *key;
    return dns::ProviderConfig(c);
}

core::Result<dns::ProviderConfig> lexicon_config(const inventory::DnsProviderConfig& p) {
    dns::LexiconConfig c;
    c.name = p.name;
    c.provider = p.lexicon_provider;
    c.options = p.options;
    c.zone = p.zone;
    c.program = p.program;
    c.ttl = p.ttl;
    c.timeout = p.timeout;
    for (const auto& [name, reference] : p.credentials) {
        auto value = provider_secret(p, reference, "credentials");
        if (!value)
            return value.failure();
        c.credentials.emplace_back(name, *value);
    }
    return dns::ProviderConfig(c);
}

core::Result<dns::ProviderConfig> provider_config(const inventory::DnsProviderConfig& p) {
    if (p.type == "powerdns")
        return powerdns_config(p);
    if (p.type == "lexicon")
        return lexicon_config(p);
    if (p.type == "exec") {
        dns::ExecConfig c;
        c.name = p.name;
        c.command = p.command;
        c.mode = p.mode == "raw" ? dns::ExecConfig::Mode::Raw : dns::ExecConfig::Mode::Default;
        c.timeout = p.timeout;
        return dns::ProviderConfig(c);
    }
    dns::Rfc2136Config c;
    c.name = p.name;
    c.server = p.server;
    c.tsig_name = p.tsig_name;
    c.tsig_algorithm = p.tsig_algorithm;
    c.ttl = p.ttl;
    if (!p.tsig_secret_file.empty()) {
        auto secret = provider_secret(p, p.tsig_secret_file, "tsig_secret_file");
        if (!secret)
            return secret.failure();
        c.tsig_secret = *secret;
    }
    return dns::ProviderConfig(c);
}
}  // namespace

core::Result<dns::DnsProvider*> DnsWiring::provider(const std::string& name) {
    if (auto it = m_providers.find(name); it != m_providers.end())
        return it->second.get();
    auto cfg_it = m_inventory.dns.providers.find(name);
    if (cfg_it == m_inventory.dns.providers.end())
        return core::fail(core::ErrorKind::Config, "no DNS provider named '" + name + "'");
    auto cfg = provider_config(cfg_it->second);
    if (!cfg)
        return cfg.failure();
    auto made = dns::make_provider(*cfg);
    if (!made)
        return made.failure();
    auto* raw = made->get();
    m_providers.emplace(name, std::move(*made));
    return raw;
}

core::Result<dns::DnsProvider*> DnsWiring::provider_named(const std::string& name) {
    std::lock_guard lock(m_mutex);
    return provider(name);
}

core::Result<acme::DnsSolver> DnsWiring::solver_for(const inventory::CertificateSpec& spec) {
    std::lock_guard lock(m_mutex);
    if (!m_checker) {
        dns::ResolverConfig rc;
        rc.nameservers = m_inventory.dns.nameservers;
        rc.propagation_timeout = m_inventory.dns.propagation_timeout;
        rc.poll_interval =
            std::chrono::duration_cast<std::chrono::milliseconds>(m_inventory.dns.poll_interval);
        auto resolver = dns::Resolver::create(rc);
        if (!resolver)
            return resolver.failure();
        m_checker = std::make_unique<Checker>(Checker{std::move(*resolver)});
    }
    auto prov = provider(spec.dns_provider);
    if (!prov)
        return prov.failure();

    const dns::Resolver* resolver = &m_checker->resolver;
    const std::atomic<bool>* cancel = m_cancel;
    std::string alias = spec.challenge_alias;
    acme::DnsSolver solver;
    solver.provider = *prov;
    solver.record_name = [resolver, alias](const std::string& domain) {
        return resolver->resolve_challenge_fqdn(domain, alias);
    };
    solver.wait_propagation = [resolver, cancel](const std::vector<dns::ChallengeRecord>& records) {
        return resolver->wait_for_propagation(records, cancel);
    };
    return solver;
}

}  // namespace certfleet::operations
