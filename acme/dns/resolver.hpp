// Where challenge records go (CNAME following, challenge_alias), which zone
// and servers are authoritative for them, and whether every one of those
// servers already answers with the new values (propagation check). Kept apart
// from the providers, as in lego: any provider is checked the same way.
#pragma once

#include <atomic>
#include <string>
#include <string_view>
#include <vector>

#include "acme/dns/config.hpp"
#include "acme/dns/names.hpp"
#include "acme/dns/provider.hpp"
#include "core/result.hpp"

namespace certfleet::acme::dns {

class Resolver {
public:
    // Parses config.nameservers, or reads config.resolv_conf when empty.
    static core::Result<Resolver> create(ResolverConfig config);

    // "_acme-challenge.<domain>." ("*." stripped), or "_acme-challenge.<alias>."
    // when challenge_alias is set; otherwise an existing CNAME chain at that
    // name is followed (at most 8 hops, loops rejected) to its final target.
    core::Result<std::string> resolve_challenge_fqdn(std::string_view domain,
                                                     std::string_view challenge_alias = {}) const;

    // The apex of the zone holding `fqdn` ("example.org."), from an SOA in the
    // answer or authority section.
    core::Result<std::string> find_zone(std::string_view fqdn) const;

    // The configured nameservers when set; else the zone's NS, each resolved
    // to an address (A preferred, else AAAA), port 53.
    core::Result<std::vector<ServerAddress>> authoritative_servers(std::string_view zone) const;

    // Polls TXT at every authoritative server (recursion off) until each
    // returns all expected values for each name: first check at once, then
    // after 100 ms, doubling up to poll_interval. Fails after
    // propagation_timeout naming each lagging server and name, or with
    // ErrorKind::Cancelled once *cancel becomes true.
    core::Status wait_for_propagation(const std::vector<ChallengeRecord>& records,
                                      const std::atomic<bool>* cancel = nullptr) const;

    bool uses_explicit_nameservers() const { return m_explicit; }
    const std::vector<ServerAddress>& servers() const { return m_servers; }
    const ResolverConfig& config() const { return m_config; }

private:
    Resolver(ResolverConfig config, std::vector<ServerAddress> servers, bool explicit_servers)
        : m_config(std::move(config)),
          m_servers(std::move(servers)),
          m_explicit(explicit_servers) {}

    ResolverConfig m_config;
    std::vector<ServerAddress> m_servers;  // explicit, or the system's recursive resolvers
    bool m_explicit = false;
};

// Nameservers of a resolv.conf text ("nameserver 10.0.0.1"); 127.0.0.1 when
// none is listed, as glibc does.
std::vector<ServerAddress> parse_resolv_conf(std::string_view text);

}  // namespace certfleet::acme::dns
