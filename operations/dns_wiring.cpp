#include "operations/dns_wiring.hpp"

#include <set>

#include "acme/dns/aws_credentials.hpp"
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

core::Result<dns::ProviderConfig> cloudflare_config(const inventory::DnsProviderConfig& p) {
    dns::CloudflareConfig c;
    c.name = p.name;
    c.api_url = p.api_url;
    c.ttl = p.ttl;
    c.timeout = p.timeout;
    c.ca_bundle = p.ca_bundle;
    auto token = provider_secret(p, p.api_token_file, "api_token_file");
    if (!token)
        return token.failure();
    c.api_token = *token;
    return dns::ProviderConfig(c);
}

// The key files when the inventory names them; else the standard AWS chain
// (environment, then the shared credentials file and profile).
core::Status route53_credentials(const inventory::DnsProviderConfig& p, dns::Route53Config& c) {
    if (p.access_key_id_file.empty()) {
        auto chain = dns::resolve_aws_credentials(dns::aws_sources_from_environment(p.aws_profile));
        if (!chain)
            return core::fail(core::ErrorKind::Config,
                              "DNS provider '" + p.name + "': " + chain.error().message,
                              "set access_key_id_file and secret_access_key_file, or the AWS "
                              "environment variables, or a shared credentials profile");
        c.access_key_id = chain->access_key_id;
        c.secret_access_key = chain->secret_access_key;
        c.session_token = chain->session_token;
        return {};
    }
    auto key_id = provider_secret(p, p.access_key_id_file, "access_key_id_file");
    if (!key_id)
        return key_id.failure();
    auto secret = provider_secret(p, p.secret_access_key_file, "secret_access_key_file");
    if (!secret)
        return secret.failure();
    c.access_key_id = *key_id;
    c.secret_access_key = *secret;
    return {};
}

core::Result<dns::ProviderConfig> route53_config(const inventory::DnsProviderConfig& p) {
    dns::Route53Config c;
    c.name = p.name;
    c.endpoint = p.api_url;
    c.region = p.region;
    c.hosted_zone_id = p.hosted_zone_id;
    c.ttl = p.ttl;
    c.timeout = p.timeout;
    c.ca_bundle = p.ca_bundle;
    if (auto st = route53_credentials(p, c); !st)
        return st.failure();
    return dns::ProviderConfig(c);
}

// Registrations live with the rest of certfleet's state, one folder per
// provider (two acme-dns servers never share a registration).
core::Result<dns::ProviderConfig> acme_dns_config(const inventory::DnsProviderConfig& p,
                                                  const std::string& state_dir) {
    dns::AcmeDnsConfig c;
    c.name = p.name;
    c.api_url = p.api_url;
    c.storage_dir = state_dir + "/acme-dns/" + p.name;
    c.allow_from = p.allow_from;
    c.timeout = p.timeout;
    c.ca_bundle = p.ca_bundle;
    return dns::ProviderConfig(c);
}

core::Result<dns::ProviderConfig> exec_config(const inventory::DnsProviderConfig& p) {
    dns::ExecConfig c;
    c.name = p.name;
    c.command = p.command;
    c.mode = p.mode == "raw" ? dns::ExecConfig::Mode::Raw : dns::ExecConfig::Mode::Default;
    c.timeout = p.timeout;
    return dns::ProviderConfig(c);
}

core::Result<dns::ProviderConfig> rfc2136_config(const inventory::DnsProviderConfig& p) {
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

core::Result<dns::ProviderConfig> provider_config(const inventory::DnsProviderConfig& p,
                                                  const std::string& state_dir) {
    using Type = inventory::DnsProviderType;
    switch (p.type) {
        case Type::Rfc2136:
            return rfc2136_config(p);
        case Type::Exec:
            return exec_config(p);
        case Type::PowerDns:
            return powerdns_config(p);
        case Type::Lexicon:
            return lexicon_config(p);
        case Type::Cloudflare:
            return cloudflare_config(p);
        case Type::Route53:
            return route53_config(p);
        case Type::AcmeDns:
            return acme_dns_config(p, state_dir);
    }
    return core::fail(core::ErrorKind::Config, "DNS provider '" + p.name + "': unknown type");
}
}  // namespace

core::Result<dns::DnsProvider*> DnsWiring::provider(const std::string& name) {
    if (auto it = m_providers.find(name); it != m_providers.end())
        return it->second.get();
    auto cfg_it = m_inventory.dns.providers.find(name);
    if (cfg_it == m_inventory.dns.providers.end())
        return core::fail(core::ErrorKind::Config, "no DNS provider named '" + name + "'");
    auto cfg = provider_config(cfg_it->second, m_inventory.state_dir);
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

core::Status DnsWiring::ensure_checker() {
    if (m_checker)
        return {};
    dns::ResolverConfig rc;
    rc.nameservers = m_inventory.dns.nameservers;
    rc.propagation_timeout = m_inventory.dns.propagation_timeout;
    rc.poll_interval =
        std::chrono::duration_cast<std::chrono::milliseconds>(m_inventory.dns.poll_interval);
    auto resolver = dns::Resolver::create(rc);
    if (!resolver)
        return resolver.failure();
    m_checker = std::make_unique<Checker>(Checker{std::move(*resolver)});
    return {};
}

// Where each domain of each certificate using `provider` would get its TXT
// (CNAMEs followed, as an issuance would); the value is left empty.
std::vector<dns::ChallengeRecord> DnsWiring::challenge_names(const std::string& provider_name) {
    std::vector<dns::ChallengeRecord> records;
    std::set<std::string> seen;
    for (const auto& [certificate, spec] : m_inventory.certificates) {
        if (spec.dns_provider != provider_name)
            continue;
        for (const auto& domain : spec.domains) {
            const std::string base = domain.starts_with("*.") ? domain.substr(2) : domain;
            auto fqdn = m_checker->resolver.resolve_challenge_fqdn(base, spec.challenge_alias);
            const std::string name = fqdn ? *fqdn : "_acme-challenge." + base + ".";
            if (seen.insert(base + " " + name).second)
                records.push_back({name, "", base, "", ""});
        }
    }
    return records;
}

std::vector<std::pair<std::string, core::Error>> DnsWiring::settings_errors() {
    std::lock_guard lock(m_mutex);
    std::vector<std::pair<std::string, core::Error>> errors;
    for (const auto& [name, settings] : m_inventory.dns.providers)
        if (auto made = provider(name); !made)
            errors.emplace_back(name, made.error());
    return errors;
}

std::vector<ProviderAccess> DnsWiring::check_access() {
    std::lock_guard lock(m_mutex);
    std::vector<ProviderAccess> out;
    const auto resolver_ready = ensure_checker();
    for (const auto& [name, settings] : m_inventory.dns.providers) {
        ProviderAccess access;
        access.provider = name;
        access.type = std::string(
            core::enum_name(inventory::kDnsProviderTypeNames, settings.type, "unknown"));
        auto prov = provider(name);
        if (!prov) {
            access.error = prov.error();
        } else if (!resolver_ready) {
            access.error = resolver_ready.error();
        } else if (auto check = (*prov)->check_access(challenge_names(name)); !check) {
            access.error = check.error();
        } else {
            access.check = std::move(*check);
        }
        out.push_back(std::move(access));
    }
    return out;
}

core::Result<acme::DnsSolver> DnsWiring::solver_for(const inventory::CertificateSpec& spec) {
    std::lock_guard lock(m_mutex);
    if (auto st = ensure_checker(); !st)
        return st.failure();
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
