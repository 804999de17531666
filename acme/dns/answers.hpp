// What a DNS reply means to certfleet: pure functions from a reply (as
// ldns_wire2pkt decoded it) to an answer, apart from the code that sends and
// receives, so crafted and hostile replies can be tested and fuzzed
// (fuzz/dns_reply_fuzz.cpp). Internal to acme/dns.
#pragma once

#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "acme/dns/ldns_client.hpp"
#include "acme/dns/names.hpp"
#include "core/result.hpp"

namespace certfleet::acme::dns::detail {

// Whether `reply`, decoded from `wire`, carries a valid TSIG of `key` over
// the request whose MAC was `request_mac`. The reply keeps its TSIG record
// and id whatever the outcome (ldns 1.8 loses both when it cannot compute the
// MAC, e.g. for an algorithm it does not know).
bool tsig_verifies(ldns_pkt* reply, const std::uint8_t* wire, std::size_t size, const TsigKey& key,
                   const ldns_rdf* request_mac);

// What one SOA reply says about `name` (both normalized): the apex of the
// zone holding it, else the zone an authoritative server delegates it to
// (NS in the authority section without AA; only without recursion, since
// recursive answers carry NS without AA), else neither (ask for the parent).
struct ZoneAnswer {
    std::string apex;
    std::string referral;
};
ZoneAnswer zone_in_reply(const ldns_pkt* reply, const std::string& name, bool recursion_desired);

// The NS names of `zone` in the answer section, each with the addresses the
// additional section gives for it (none: the caller looks them up).
struct Nameserver {
    std::string name;
    std::vector<std::string> addresses;
};
std::vector<Nameserver> nameservers_in(const ldns_pkt* reply, const std::string& zone);

// Whether a server answering `fqdn` TXT shows every expected value: "" when
// it does, else why not ("NXDOMAIN", "no TXT", "CNAME to x.", "1 of 2 values").
std::string txt_state(const ldns_pkt* reply, const std::string& fqdn,
                      const std::set<std::string>& expected);

// The outcome of an RFC 2136 update of `batch` signed with `tsig_name`: TSIG
// errors (BADTIME, BADSIG, BADKEY), NOTAUTH, REFUSED and other rcodes, and an
// unsigned reply, each with the operator's next step.
core::Status check_update_reply(const Reply& reply, const ZoneBatch& batch,
                                const std::string& tsig_name);

}  // namespace certfleet::acme::dns::detail
