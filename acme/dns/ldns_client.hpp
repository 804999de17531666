// Thin, bounded wrappers over ldns shared by the rfc2136 provider and the
// resolver: RAII for ldns objects, one query / one exchange with a deadline,
// and reading the few things we need out of a reply. Internal to acme/dns.
#pragma once

// ldns/common.h #defines true/false/bool unless stdbool.h came first.
#include <chrono>
#include <memory>
#include <stdbool.h>  // NOLINT(modernize-deprecated-headers)
#include <string>
#include <vector>

#include <ldns/ldns.h>

#include "acme/dns/names.hpp"
#include "core/result.hpp"

namespace certfleet::acme::dns::detail {

struct LdnsFree {
    void operator()(ldns_pkt* p) const { ldns_pkt_free(p); }
    void operator()(ldns_rdf* p) const { ldns_rdf_deep_free(p); }
    void operator()(ldns_rr* p) const { ldns_rr_free(p); }
    void operator()(ldns_rr_list* p) const { ldns_rr_list_deep_free(p); }
    void operator()(ldns_resolver* p) const { ldns_resolver_deep_free(p); }
};
using PktPtr = std::unique_ptr<ldns_pkt, LdnsFree>;
using RdfPtr = std::unique_ptr<ldns_rdf, LdnsFree>;
using RrPtr = std::unique_ptr<ldns_rr, LdnsFree>;
using RrListPtr = std::unique_ptr<ldns_rr_list, LdnsFree>;
using ResolverPtr = std::unique_ptr<ldns_resolver, LdnsFree>;

using SteadyClock = std::chrono::steady_clock;

struct TsigKey {
    std::string name;       // "certfleet-key."
    std::string algorithm;  // ldns spelling: "hmac-sha256."
    std::string secret;     // base64
};

struct ExchangeOptions {
    bool recursion_desired = false;
    std::chrono::milliseconds timeout{std::chrono::seconds(3)};  // one attempt
    int attempts = 2;                                            // only timeouts are retried
    SteadyClock::time_point deadline = SteadyClock::time_point::max();
};

// Fills `address` from `host` (numeric, or looked up with getaddrinfo).
core::Result<ServerAddress> resolve_server(ServerAddress server);

RdfPtr make_dname(const std::string& name);

// Sends `request` (a query or a signed update) and returns the reply,
// whatever its rcode. Fails only when no usable reply came back in time.
// With `tsig`, reply_signature_ok tells whether the reply's TSIG verified.
struct Reply {
    PktPtr packet;
    bool signature_ok = true;
    std::string from;  // label of the server that answered
};
core::Result<Reply> exchange(const ServerAddress& server, ldns_pkt* request,
                             const ExchangeOptions& options, const TsigKey* tsig = nullptr);

// A plain query: `name`/`type`/class IN, RD as in options.
core::Result<Reply> query(const ServerAddress& server, const std::string& name, ldns_rr_type type,
                          const ExchangeOptions& options);

// The zone apex holding `fqdn` according to `server`: SOA in the answer or
// authority section, walking up labels when neither has one.
core::Result<std::string> find_zone_at(const ServerAddress& server, const std::string& fqdn,
                                       const ExchangeOptions& options);

std::string rcode_name(const ldns_pkt* packet);
std::string rdf_text(const ldns_rdf* rdf);  // presentation form
std::string owner_of(const ldns_rr* rr);    // normalized

// TXT strings at `name` in the answer section (multi-string RRs joined).
std::vector<std::string> txt_values(const ldns_pkt* packet, const std::string& name);
// CNAME target of `name` in the answer section, "" if none.
std::string cname_target(const ldns_pkt* packet, const std::string& name);
// Addresses of A/AAAA records at `name` in `list` (answer or additional).
std::vector<std::string> addresses_in(const ldns_rr_list* list, const std::string& name);

}  // namespace certfleet::acme::dns::detail
