#include "acme/dns/resolver.hpp"

#include <fstream>
#include <sstream>

#include <spdlog/spdlog.h>

#include "acme/dns/answers.hpp"

namespace certfleet::acme::dns {
namespace {

using detail::SteadyClock;

detail::ExchangeOptions lookup_options(const ResolverConfig& config, bool recursion) {
    detail::ExchangeOptions o;
    o.recursion_desired = recursion;
    o.timeout = config.query_timeout;
    o.attempts = 2;
    o.deadline = SteadyClock::now() + 3 * config.query_timeout;
    return o;
}

// Asks the servers in order; the next one only when one does not answer.
core::Result<detail::Reply> lookup(const std::vector<ServerAddress>& servers,
                                   const std::string& name, ldns_rr_type type,
                                   const detail::ExchangeOptions& options) {
    std::optional<core::Error> last;
    for (const auto& server : servers) {
        auto reply = detail::query(server, name, type, options);
        if (reply) {
            return reply;
        }
        last = reply.error();
    }
    if (!last) {
        return core::fail(core::ErrorKind::Config, "no DNS servers to ask for " + name);
    }
    return core::fail(*last);
}

}  // namespace

std::vector<ServerAddress> parse_resolv_conf(std::string_view text) {
    std::vector<ServerAddress> out;
    std::istringstream in{std::string(text)};
    std::string line;
    while (std::getline(in, line)) {
        std::istringstream words(line);
        std::string keyword, address;
        if (!(words >> keyword >> address) || keyword != "nameserver") {
            continue;
        }
        if (const auto scope = address.find('%'); scope != std::string::npos) {
            address.erase(scope);  // fe80::1%eth0: ldns takes no scope id
        }
        out.push_back(ServerAddress{address, 53, address});
    }
    if (out.empty()) {
        out.push_back(ServerAddress{"127.0.0.1", 53, "127.0.0.1"});
    }
    return out;
}

core::Result<Resolver> Resolver::create(ResolverConfig config) {
    std::vector<ServerAddress> servers;
    const bool explicit_servers = !config.nameservers.empty();
    if (explicit_servers) {
        for (const auto& text : config.nameservers) {
            auto parsed = parse_server(text);
            if (!parsed) {
                auto e = parsed.error();
                e.message = "dns.nameservers: " + e.message;
                return core::fail(e);
            }
            auto resolved = detail::resolve_server(*parsed);
            if (!resolved) {
                return resolved.failure();
            }
            servers.push_back(std::move(*resolved));
        }
    } else {
        std::ifstream file(config.resolv_conf);
        std::stringstream text;
        text << file.rdbuf();
        servers = parse_resolv_conf(text.str());
    }
    if (config.poll_interval.count() <= 0) {
        config.poll_interval = std::chrono::seconds(5);
    }
    if (config.query_timeout.count() <= 0) {
        config.query_timeout = std::chrono::seconds(3);
    }
    return Resolver(std::move(config), std::move(servers), explicit_servers);
}

core::Result<std::string> Resolver::resolve_challenge_fqdn(std::string_view domain,
                                                           std::string_view challenge_alias) const {
    const std::string start = challenge_name(domain, challenge_alias);
    if (!challenge_alias.empty()) {
        return start;
    }
    // Explicit nameservers are authoritative: ask them without recursion.
    const auto options = lookup_options(m_config, !m_explicit);
    int hop = 0;
    auto result =
        follow_cname_chain(start, [&](const std::string& name) -> core::Result<std::string> {
            auto reply = lookup(m_servers, name, LDNS_RR_TYPE_CNAME, options);
            if (!reply) {
                return reply.failure();
            }
            const ldns_pkt* pkt = reply->packet.get();
            const auto rcode = ldns_pkt_get_rcode(pkt);
            if (rcode != LDNS_RCODE_NOERROR && rcode != LDNS_RCODE_NXDOMAIN) {
                // Past the first hop the target may live on servers we do not
                // ask; what we know (the target name) is then the answer.
                if (hop++ > 0) {
                    spdlog::debug("CNAME lookup of {} answered {}; stopping there", name,
                                  detail::rcode_name(pkt));
                    return std::string();
                }
                return core::fail(core::ErrorKind::Dns,
                                  "DNS server " + reply->from + " answered " +
                                      detail::rcode_name(pkt) + " for " + name + " CNAME",
                                  m_explicit ? "dns.nameservers must be authoritative for " + name
                                             : "check the system resolver");
            }
            ++hop;
            return detail::cname_target(pkt, name);
        });
    if (result && *result != start) {
        spdlog::debug("{} is a CNAME; the challenge record goes to {}", start, *result);
    }
    return result;
}

core::Result<std::string> Resolver::find_zone(std::string_view fqdn) const {
    const auto options = lookup_options(m_config, !m_explicit);
    std::optional<core::Error> last;
    for (const auto& server : m_servers) {
        auto zone = detail::find_zone_at(server, std::string(fqdn), options);
        // A server that is silent or answers garbage says nothing: ask the next.
        if (zone || (zone.error().kind != core::ErrorKind::Network &&
                     zone.error().kind != core::ErrorKind::Protocol)) {
            return zone;
        }
        last = zone.error();
    }
    if (!last) {
        return core::fail(core::ErrorKind::Config,
                          "no DNS servers to ask for the zone of " + std::string(fqdn));
    }
    return core::fail(*last);
}

core::Result<std::vector<ServerAddress>> Resolver::authoritative_servers(
    std::string_view zone_name) const {
    if (m_explicit) {
        return m_servers;
    }
    const std::string zone = normalize_fqdn(zone_name);
    const auto options = lookup_options(m_config, true);
    auto reply = lookup(m_servers, zone, LDNS_RR_TYPE_NS, options);
    if (!reply) {
        return reply.failure();
    }
    const ldns_pkt* pkt = reply->packet.get();
    std::vector<ServerAddress> out;
    for (auto& [ns, addresses] : detail::nameservers_in(pkt, zone)) {
        for (ldns_rr_type type : {LDNS_RR_TYPE_A, LDNS_RR_TYPE_AAAA}) {
            if (!addresses.empty()) {
                break;
            }
            auto found = lookup(m_servers, ns, type, options);
            if (found) {
                addresses = detail::addresses_in(ldns_pkt_answer(found->packet.get()), ns);
            }
        }
        if (addresses.empty()) {
            spdlog::warn("nameserver {} of zone {} has no address; not checked", ns, zone);
            continue;
        }
        out.push_back(ServerAddress{ns, 53, addresses.front()});
    }
    if (out.empty()) {
        return core::fail(
            core::ErrorKind::Dns,
            "found no usable NS records for zone " + zone + " (" + detail::rcode_name(pkt) + ")",
            "set dns.nameservers to the authoritative servers to check");
    }
    return out;
}

}  // namespace certfleet::acme::dns
