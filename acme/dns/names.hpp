// Pure helpers for DNS names and server addresses: no I/O, so the CNAME and
// zone-grouping logic can be unit tested without a server.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "acme/dns/provider.hpp"
#include "core/result.hpp"

namespace certfleet::acme::dns {

// "Example.ORG" → "example.org."; "." stays ".".
std::string normalize_fqdn(std::string_view name);

// "a.b.example." → "b.example."; "example." → "."; "." → "".
std::string parent_name(std::string_view fqdn);

bool name_is_subdomain_of(std::string_view name, std::string_view zone);  // both normalized

// "_acme-challenge.<domain>." with "*." stripped, or at the alias when one is
// set ("_acme-challenge.<alias>."). Does not follow CNAMEs.
std::string challenge_name(std::string_view domain, std::string_view challenge_alias = {});

// A DNS server: "127.0.0.1", "127.0.0.1:5300", "[::1]:53", "ns1.example.org:53".
struct ServerAddress {
    std::string host;  // as written (name or IP, no brackets)
    std::uint16_t port = 53;
    std::string address;  // numeric IP once resolved; empty until then

    // "127.0.53.2:8053", "[::1]:53": what messages show.
    std::string label() const;
};

core::Result<ServerAddress> parse_server(std::string_view text, std::uint16_t default_port = 53);

// Follows CNAMEs from `start` with `lookup(name)` returning the CNAME target
// of a name, or "" when there is none. Bounded (max_hops) with loop detection.
using CnameLookup = std::function<core::Result<std::string>(const std::string& name)>;
core::Result<std::string> follow_cname_chain(const std::string& start, const CnameLookup& lookup,
                                             int max_hops = 8);

// Records grouped by the zone that holds them, in first-seen order, with
// exact duplicates (same name and value) dropped.
struct ZoneBatch {
    std::string zone;
    std::vector<ChallengeRecord> records;
};
using ZoneLookup = std::function<core::Result<std::string>(const std::string& fqdn)>;
core::Result<std::vector<ZoneBatch>> group_by_zone(const std::vector<ChallengeRecord>& records,
                                                   const ZoneLookup& zone_of);

// "_acme-challenge.a.example. and 2 more" for compact messages.
std::string names_summary(const std::vector<ChallengeRecord>& records);

}  // namespace certfleet::acme::dns
