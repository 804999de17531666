// certificates: domains, provider and deploy_to references, overlaps.
#include <algorithm>
#include <map>

#include "inventory/inventory_check.hpp"

namespace certfleet::inventory::detail {

namespace {

// The name becomes a directory in the store and under every cert_root.
bool valid_certificate_name(std::string_view name) {
    if (name.empty())
        return false;
    auto ok = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
    if (!ok(name[0]))
        return false;
    return std::all_of(name.begin(), name.end(),
                       [&](char c) { return ok(c) || c == '.' || c == '_' || c == '-'; });
}

std::string normalize_domain(std::string name) {
    std::transform(name.begin(), name.end(), name.begin(), [](char c) {
        return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
    });
    if (name.size() > 1 && name.ends_with('.'))
        name.pop_back();  // FQDN spelling
    return name;
}

struct Occurrence {
    Position at;
    std::string certificate;
    std::string path;
};

using DomainIndex = std::map<std::string, std::vector<Occurrence>>;

void read_domains(ObjectReader& r, CertificateSpec& cert, DomainIndex& index) {
    Checker& checker = r.checker();
    if (!r.get("domains")) {
        r.missing("domains");
        return;
    }
    auto domains = r.strings("domains");
    if (!domains)
        return;
    if (domains->empty())
        checker.error(r.path_of("domains"), "must list at least one domain");
    for (size_t i = 0; i < domains->size(); ++i) {
        std::string path = element_path(r.path_of("domains"), i);
        std::string domain = normalize_domain((*domains)[i]);
        if (std::string e = dns_name_error(domain, true, false); !e.empty()) {
            checker.error(path, quote((*domains)[i]) + " is not a valid domain name: " + e);
            continue;
        }
        auto same = std::find(cert.domains.begin(), cert.domains.end(), domain);
        if (same != cert.domains.end()) {
            checker.error(path, quote(domain) + " is listed twice");
            continue;
        }
        cert.domains.push_back(domain);
        index[domain].push_back(Occurrence{checker.position(path), cert.name, path});
    }
}

void read_provider(ObjectReader& r, const Inventory& inventory, CertificateSpec& cert) {
    const auto& providers = inventory.dns.providers;
    if (!r.get("dns")) {
        // With a single provider there is nothing to choose.
        if (providers.size() == 1)
            cert.dns_provider = providers.begin()->first;
        else
            r.missing("dns", providers.empty() ? "and dns.providers defines none"
                                               : "several DNS providers are defined");
        return;
    }
    auto name = r.non_empty_string("dns");
    if (!name)
        return;
    if (!providers.count(*name)) {
        std::vector<std::string> names;
        names.reserve(providers.size());
        for (const auto& [n, p] : providers)
            names.push_back(n);
        r.checker().error(r.path_of("dns"), "unknown DNS provider " + quote(*name) +
                                                (names.empty() ? " (dns.providers defines none)"
                                                               : did_you_mean(*name, names)));
    }
    cert.dns_provider = *name;
}

void read_deploy_to(ObjectReader& r, const Inventory& inventory, CertificateSpec& cert) {
    auto targets = r.strings("deploy_to");
    if (!targets)
        return;
    for (size_t i = 0; i < targets->size(); ++i) {
        const std::string& target = (*targets)[i];
        std::string path = element_path(r.path_of("deploy_to"), i);
        if (auto group = inventory.groups.find(target); group != inventory.groups.end()) {
            if (group->second.hosts.empty())
                r.checker().warning(path, "group " + quote(target) + " has no hosts");
        } else if (!inventory.hosts.count(target)) {
            // Built for the message only: per certificate, 10,000 certificates
            // on 1,000 hosts made loading quadratic (11 million copies).
            std::vector<std::string> names;
            for (const auto& [n, h] : inventory.hosts)
                names.push_back(n);
            for (const auto& [n, g] : inventory.groups)
                names.push_back(n);
            r.checker().error(
                path, "unknown host or group " + quote(target) + did_you_mean(target, names));
            continue;
        }
        if (std::find(cert.deploy_to.begin(), cert.deploy_to.end(), target) == cert.deploy_to.end())
            cert.deploy_to.push_back(target);
    }
}

void load_certificate(ObjectReader& r, const Inventory& inventory, CertificateSpec& cert,
                      DomainIndex& index) {
    read_domains(r, cert, index);
    read_provider(r, inventory, cert);
    if (auto key = r.key_type("key"))
        cert.key = *key;
    if (auto reuse = r.boolean("reuse_key"))
        cert.reuse_key = *reuse;
    if (auto alias = r.non_empty_string("challenge_alias")) {
        std::string name = normalize_domain(*alias);
        // Delegation targets are record names, so underscores are fine here.
        if (std::string e = dns_name_error(name, false, true); !e.empty())
            r.checker().error(r.path_of("challenge_alias"),
                              quote(*alias) + " is not a valid DNS name: " + e);
        else
            cert.challenge_alias = name;
    }
    read_deploy_to(r, inventory, cert);
    if (auto profile = r.non_empty_string("profile"))
        cert.profile = *profile;
}

}  // namespace

void load_certificates(ObjectReader& top, Inventory& inventory) {
    const Json* value = top.get("certificates");
    if (!value)
        return;
    Checker& checker = top.checker();
    ObjectReader list(checker, *value, "certificates", kAnyKey);
    if (!list.valid())
        return;
    DomainIndex index;
    for (const auto& item : value->items()) {
        std::string path = list.path_of(item.key());
        if (!valid_certificate_name(item.key()))
            checker.error_at_key(path,
                                 "certificate names become directory names: use lowercase "
                                 "letters, digits, '.', '_' and '-', starting with a letter or "
                                 "digit");
        CertificateSpec& cert = inventory.certificates[item.key()];
        cert.name = item.key();
        ObjectReader r(
            checker, item.value(), path,
            {"domains", "dns", "key", "reuse_key", "challenge_alias", "deploy_to", "profile"},
            {{"hosts", "use \"deploy_to\" with host or group names"},
             {"groups", "use \"deploy_to\" with host or group names"}});
        if (r.valid())
            load_certificate(r, inventory, cert, index);
    }
    // Overlaps are legitimate (ECDSA + RSA twins, apex in two certificates),
    // so they are only noted, on every occurrence after the first in the file.
    for (auto& [domain, occurrences] : index) {
        std::stable_sort(
            occurrences.begin(), occurrences.end(), [](const Occurrence& a, const Occurrence& b) {
                return std::tie(a.at.line, a.at.column) < std::tie(b.at.line, b.at.column);
            });
        for (size_t i = 1; i < occurrences.size(); ++i)
            checker.warning(occurrences[i].path, quote(domain) + " is also in certificate " +
                                                     quote(occurrences[0].certificate));
    }
}

}  // namespace certfleet::inventory::detail
