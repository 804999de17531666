#include "acme/dns/ldns_client.hpp"

#include <algorithm>
#include <arpa/inet.h>
#include <cstdlib>
#include <netdb.h>
#include <sys/socket.h>

#include <spdlog/spdlog.h>

#include "acme/dns/answers.hpp"
#include "acme/dns/wire_exchange.hpp"

namespace certfleet::acme::dns::detail {
namespace {

using std::chrono::milliseconds;

// Decodes a reply; nullptr when ldns cannot.
PktPtr decode(const std::vector<uint8_t>& wire) {
    ldns_pkt* parsed = nullptr;
    if (ldns_wire2pkt(&parsed, wire.data(), wire.size()) != LDNS_STATUS_OK) {
        return nullptr;
    }
    return PktPtr(parsed);
}

}  // namespace

core::Result<ServerAddress> resolve_server(ServerAddress server) {
    if (!server.address.empty()) {
        return server;
    }
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_DGRAM;
    addrinfo* found = nullptr;
    const int rc = ::getaddrinfo(server.host.c_str(), nullptr, &hints, &found);
    if (rc != 0 || found == nullptr) {
        return core::fail(
            core::ErrorKind::Dns,
            "cannot resolve DNS server name '" + server.host + "': " + ::gai_strerror(rc),
            "use an IP address for the server, or fix the system resolver");
    }
    char text[INET6_ADDRSTRLEN] = {};
    if (found->ai_family == AF_INET6) {
        const auto* sa = reinterpret_cast<const sockaddr_in6*>(found->ai_addr);
        ::inet_ntop(AF_INET6, &sa->sin6_addr, text, sizeof text);
    } else {
        const auto* sa = reinterpret_cast<const sockaddr_in*>(found->ai_addr);
        ::inet_ntop(AF_INET, &sa->sin_addr, text, sizeof text);
    }
    ::freeaddrinfo(found);
    server.address = text;
    return server;
}

RdfPtr make_dname(const std::string& name) {
    return RdfPtr(ldns_dname_new_frm_str(name.c_str()));
}

core::Result<Reply> exchange(const ServerAddress& server, ldns_pkt* request,
                             const ExchangeOptions& options, const TsigKey* tsig) {
    uint8_t* raw_wire = nullptr;
    size_t wire_size = 0;
    if (ldns_pkt2wire(&raw_wire, request, &wire_size) != LDNS_STATUS_OK) {
        return core::fail(core::ErrorKind::Dns, "cannot encode a DNS message");
    }
    const std::vector<uint8_t> wire(raw_wire, raw_wire + wire_size);
    std::free(raw_wire);
    const std::string where = "DNS server " + server.label();
    const std::string unreadable = where + " sent an unreadable reply";
    WireOutcome last = WireOutcome::Timeout;
    bool mismatched = false;
    std::string last_error;
    for (int attempt = 1; attempt <= std::max(1, options.attempts); ++attempt) {
        const auto now = SteadyClock::now();
        if (now >= options.deadline) {
            break;
        }
        auto per_try = options.timeout;
        if (options.deadline != SteadyClock::time_point::max()) {
            per_try =
                std::min(per_try, std::chrono::duration_cast<milliseconds>(options.deadline - now));
        }
        per_try = std::max(per_try, milliseconds(50));
        std::vector<uint8_t> answer;
        last = udp_round_trip(server, wire, per_try, answer, last_error);
        if (last == WireOutcome::Timeout || last == WireOutcome::Mismatch) {
            spdlog::debug("DNS query to {}: no matching reply (attempt {})", server.label(),
                          attempt);
            mismatched = mismatched || last == WireOutcome::Mismatch;
            continue;  // only silence (or noise) is worth a retry
        }
        if (last != WireOutcome::Answer) {
            break;
        }
        PktPtr reply = decode(answer);
        if (!reply) {
            return core::fail(core::ErrorKind::Protocol, unreadable);
        }
        if (ldns_pkt_tc(reply.get())) {
            // Truncated: the same message over TCP, within the same time.
            last = tcp_round_trip(server, wire, per_try, answer, last_error);
            if (last == WireOutcome::Mismatch) {
                mismatched = true;
                break;
            }
            if (last != WireOutcome::Answer) {
                return core::fail(
                    last == WireOutcome::Timeout ? core::ErrorKind::Timeout
                                                 : core::ErrorKind::Network,
                    where + " sent a truncated reply and did not answer over TCP (is TCP port " +
                        std::to_string(server.port) + " open?): " +
                        (last == WireOutcome::Timeout   ? "no complete reply in time"
                         : last == WireOutcome::Refused ? "connection refused"
                                                        : last_error));
            }
            if (!(reply = decode(answer))) {
                return core::fail(core::ErrorKind::Protocol, unreadable);
            }
        }
        bool signature_ok = true;
        if (const ldns_rr* sig = ldns_pkt_tsig(request); tsig != nullptr && sig != nullptr) {
            signature_ok = tsig_verifies(reply.get(), answer.data(), answer.size(), *tsig,
                                         ldns_rr_rdf(sig, 3));
        }
        return Reply{std::move(reply), signature_ok, server.label()};
    }
    if (mismatched) {
        return core::fail(core::ErrorKind::Protocol,
                          where +
                              " sent only replies that do not match the query (another "
                              "message id or question)",
                          "something else answers at " + server.label() +
                              " (another service, a proxy or firewall rewriting DNS): check "
                              "the server address");
    }
    const std::string detail = last == WireOutcome::Timeout   ? "no reply in time"
                               : last == WireOutcome::Refused ? "connection refused"
                                                              : last_error;
    return core::fail(core::ErrorKind::Network,
                      where + " did not answer (is it running? firewall?): " + detail);
}

core::Result<Reply> query(const ServerAddress& server, const std::string& name, ldns_rr_type type,
                          const ExchangeOptions& options) {
    RdfPtr owner = make_dname(name);
    if (!owner) {
        return core::fail(core::ErrorKind::Dns, "invalid DNS name '" + name + "'");
    }
    const uint16_t flags = options.recursion_desired ? LDNS_RD : 0;
    PktPtr request(ldns_pkt_query_new(owner.release(), type, LDNS_RR_CLASS_IN, flags));
    if (!request) {
        return core::fail(core::ErrorKind::Dns, "cannot build a DNS query for '" + name + "'");
    }
    ldns_pkt_set_random_id(request.get());
    return exchange(server, request.get(), options);
}

core::Result<std::string> find_zone_at(const ServerAddress& server, const std::string& fqdn,
                                       const ExchangeOptions& options) {
    std::string name = normalize_fqdn(fqdn);
    while (!name.empty()) {
        auto reply = query(server, name, LDNS_RR_TYPE_SOA, options);
        if (!reply) {
            return reply.failure();
        }
        const ldns_pkt* pkt = reply->packet.get();
        const auto rcode = ldns_pkt_get_rcode(pkt);
        if (rcode != LDNS_RCODE_NOERROR && rcode != LDNS_RCODE_NXDOMAIN) {
            return core::fail(core::ErrorKind::Dns,
                              "DNS server " + server.label() + " answered " + rcode_name(pkt) +
                                  " for the SOA of " + name,
                              rcode == LDNS_RCODE_REFUSED
                                  ? "the server serves no zone containing " + fqdn +
                                        ": check the server address and the zone configuration"
                                  : "");
        }
        const ZoneAnswer zone = zone_in_reply(pkt, name, options.recursion_desired);
        if (!zone.apex.empty()) {
            return zone.apex;
        }
        if (const std::string& referral = zone.referral; !referral.empty()) {
            return core::fail(core::ErrorKind::Dns,
                              fqdn + " is in zone " + referral + ", which DNS server " +
                                  server.label() + " delegates elsewhere",
                              "point the provider / dns.nameservers at the servers of " + referral);
        }
        name = parent_name(name);
    }
    return core::fail(core::ErrorKind::Dns,
                      "no SOA found for " + fqdn + " at DNS server " + server.label());
}

std::string rcode_name(const ldns_pkt* packet) {
    switch (ldns_pkt_get_rcode(packet)) {
        case LDNS_RCODE_NOERROR:
            return "NOERROR";
        case LDNS_RCODE_FORMERR:
            return "FORMERR";
        case LDNS_RCODE_SERVFAIL:
            return "SERVFAIL";
        case LDNS_RCODE_NXDOMAIN:
            return "NXDOMAIN";
        case LDNS_RCODE_NOTIMPL:
            return "NOTIMP";
        case LDNS_RCODE_REFUSED:
            return "REFUSED";
        case LDNS_RCODE_YXDOMAIN:
            return "YXDOMAIN";
        case LDNS_RCODE_YXRRSET:
            return "YXRRSET";
        case LDNS_RCODE_NXRRSET:
            return "NXRRSET";
        case LDNS_RCODE_NOTAUTH:
            return "NOTAUTH";
        case LDNS_RCODE_NOTZONE:
            return "NOTZONE";
    }
    return "RCODE" + std::to_string(ldns_pkt_get_rcode(packet));
}

std::string rdf_text(const ldns_rdf* rdf) {
    if (rdf == nullptr) {
        return {};
    }
    char* text = ldns_rdf2str(rdf);
    if (text == nullptr) {
        return {};
    }
    std::string out(text);
    std::free(text);
    return out;
}

std::string owner_of(const ldns_rr* rr) {
    return normalize_fqdn(rdf_text(ldns_rr_owner(rr)));
}

std::vector<std::string> txt_values(const ldns_pkt* packet, const std::string& name) {
    std::vector<std::string> values;
    const std::string want = normalize_fqdn(name);
    const ldns_rr_list* answer = ldns_pkt_answer(packet);
    for (size_t i = 0; i < ldns_rr_list_rr_count(answer); ++i) {
        const ldns_rr* rr = ldns_rr_list_rr(answer, i);
        if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_TXT || owner_of(rr) != want) {
            continue;
        }
        std::string value;
        for (size_t j = 0; j < ldns_rr_rd_count(rr); ++j) {
            const ldns_rdf* rdf = ldns_rr_rdf(rr, j);
            const uint8_t* data = ldns_rdf_data(rdf);
            const size_t size = ldns_rdf_size(rdf);
            if (size == 0) {
                continue;
            }
            // Wire form of a character-string: length octet, then the bytes.
            const size_t len = std::min<size_t>(data[0], size - 1);
            value.append(reinterpret_cast<const char*>(data) + 1, len);
        }
        values.push_back(std::move(value));
    }
    return values;
}

std::string cname_target(const ldns_pkt* packet, const std::string& name) {
    const std::string want = normalize_fqdn(name);
    const ldns_rr_list* answer = ldns_pkt_answer(packet);
    for (size_t i = 0; i < ldns_rr_list_rr_count(answer); ++i) {
        const ldns_rr* rr = ldns_rr_list_rr(answer, i);
        if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_CNAME && owner_of(rr) == want) {
            return normalize_fqdn(rdf_text(ldns_rr_rdf(rr, 0)));
        }
    }
    return {};
}

std::vector<std::string> addresses_in(const ldns_rr_list* list, const std::string& name) {
    std::vector<std::string> out;
    const std::string want = normalize_fqdn(name);
    for (size_t i = 0; i < ldns_rr_list_rr_count(list); ++i) {
        const ldns_rr* rr = ldns_rr_list_rr(list, i);
        const auto type = ldns_rr_get_type(rr);
        if ((type == LDNS_RR_TYPE_A || type == LDNS_RR_TYPE_AAAA) && owner_of(rr) == want) {
            out.push_back(rdf_text(ldns_rr_rdf(rr, 0)));
        }
    }
    return out;
}

}  // namespace certfleet::acme::dns::detail
