#include "acme/dns/ldns_client.hpp"

#include <algorithm>
#include <arpa/inet.h>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

namespace certfleet::acme::dns::detail {
namespace {

using std::chrono::milliseconds;

ResolverPtr make_resolver(const ServerAddress& server, milliseconds timeout, const TsigKey* tsig) {
    ResolverPtr res(ldns_resolver_new());
    const bool v6 = server.address.find(':') != std::string::npos;
    RdfPtr ns(
        ldns_rdf_new_frm_str(v6 ? LDNS_RDF_TYPE_AAAA : LDNS_RDF_TYPE_A, server.address.c_str()));
    if (!res || !ns || ldns_resolver_push_nameserver(res.get(), ns.get()) != LDNS_STATUS_OK) {
        return nullptr;
    }
    ldns_resolver_set_port(res.get(), server.port);
    timeval tv{};
    tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
    tv.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
    ldns_resolver_set_timeout(res.get(), tv);
    // Our own loop retries (only timeouts, within the deadline); ldns must
    // not add retries or sleeps of its own.
    ldns_resolver_set_retry(res.get(), 1);
    ldns_resolver_set_retrans(res.get(), 0);
    ldns_resolver_set_fallback(res.get(), true);
    if (tsig != nullptr) {
        ldns_resolver_set_tsig_keyname(res.get(), tsig->name.c_str());
        ldns_resolver_set_tsig_algorithm(res.get(), tsig->algorithm.c_str());
        ldns_resolver_set_tsig_keydata(res.get(), tsig->secret.c_str());
    }
    return res;
}

struct SocketCloser {
    explicit SocketCloser(int descriptor) : fd(descriptor) {}
    int fd;
    SocketCloser(const SocketCloser&) = delete;
    SocketCloser& operator=(const SocketCloser&) = delete;
    ~SocketCloser() {
        if (fd >= 0) {
            ::close(fd);
        }
    }
};

enum class UdpOutcome { Answer, Timeout, Refused, Error };

// One UDP round trip on a connected socket: unlike ldns's unconnected one, it
// sees ICMP port-unreachable, so a stopped server fails at once instead of
// after the whole timeout. Datagrams with another message id are ignored.
UdpOutcome udp_exchange(const ServerAddress& server, const uint8_t* wire, size_t size, uint16_t id,
                        milliseconds timeout, std::vector<uint8_t>& answer, std::string& error) {
    addrinfo hints{};
    hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
    hints.ai_socktype = SOCK_DGRAM;
    addrinfo* found = nullptr;
    if (::getaddrinfo(server.address.c_str(), std::to_string(server.port).c_str(), &hints,
                      &found) != 0 ||
        found == nullptr) {
        error = "invalid address";
        return UdpOutcome::Error;
    }
    const int fd = ::socket(found->ai_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    const bool connected = fd >= 0 && ::connect(fd, found->ai_addr, found->ai_addrlen) == 0;
    ::freeaddrinfo(found);
    const SocketCloser closer{fd};
    if (!connected || ::send(fd, wire, size, 0) < 0) {
        error = std::strerror(errno);
        return errno == ECONNREFUSED ? UdpOutcome::Refused : UdpOutcome::Error;
    }
    const auto deadline = SteadyClock::now() + timeout;
    answer.resize(65535);
    while (true) {
        const auto left =
            std::chrono::duration_cast<milliseconds>(deadline - SteadyClock::now()).count();
        if (left <= 0) {
            return UdpOutcome::Timeout;
        }
        pollfd p{fd, POLLIN, 0};
        const int ready = ::poll(&p, 1, static_cast<int>(left));
        if (ready < 0 && errno == EINTR) {
            continue;
        }
        if (ready <= 0) {
            return UdpOutcome::Timeout;
        }
        const ssize_t n = ::recv(fd, answer.data(), answer.size(), 0);
        if (n < 0) {
            if (errno == EINTR || errno == EAGAIN) {
                continue;
            }
            error = std::strerror(errno);
            return errno == ECONNREFUSED ? UdpOutcome::Refused : UdpOutcome::Error;
        }
        if (n >= LDNS_HEADER_SIZE && ldns_read_uint16(answer.data()) == id) {
            answer.resize(static_cast<size_t>(n));
            return UdpOutcome::Answer;
        }
    }
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
    const std::unique_ptr<uint8_t, decltype(&std::free)> wire(raw_wire, &std::free);
    UdpOutcome last = UdpOutcome::Timeout;
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
        last = udp_exchange(server, wire.get(), wire_size, ldns_pkt_id(request), per_try, answer,
                            last_error);
        if (last == UdpOutcome::Timeout) {
            spdlog::debug("DNS query to {} timed out (attempt {})", server.label(), attempt);
            continue;  // only silence is worth a retry
        }
        if (last != UdpOutcome::Answer) {
            break;
        }
        ldns_pkt* parsed = nullptr;
        if (ldns_wire2pkt(&parsed, answer.data(), answer.size()) != LDNS_STATUS_OK) {
            return core::fail(core::ErrorKind::Protocol,
                              "DNS server " + server.label() + " sent an unreadable reply");
        }
        PktPtr reply(parsed);
        if (ldns_pkt_tc(reply.get())) {
            // Truncated: ldns repeats the exchange over TCP (and checks TSIG).
            ResolverPtr res = make_resolver(server, per_try, tsig);
            if (!res) {
                return core::fail(core::ErrorKind::Dns,
                                  "invalid DNS server address '" + server.label() + "'");
            }
            ldns_resolver_set_usevc(res.get(), true);
            parsed = nullptr;
            const ldns_status status = ldns_send(&parsed, res.get(), request);
            reply.reset(parsed);
            if (reply && (status == LDNS_STATUS_OK || status == LDNS_STATUS_CRYPTO_TSIG_BOGUS)) {
                return Reply{std::move(reply), status == LDNS_STATUS_OK, server.label()};
            }
            return core::fail(
                core::ErrorKind::Network,
                "DNS server " + server.label() + " did not answer over TCP (is TCP port " +
                    std::to_string(server.port) + " open?): " + ldns_get_errorstr_by_id(status));
        }
        bool signature_ok = true;
        if (const ldns_rr* sig = ldns_pkt_tsig(request); tsig != nullptr && sig != nullptr) {
            signature_ok =
                ldns_pkt_tsig_verify(reply.get(), answer.data(), answer.size(), tsig->name.c_str(),
                                     tsig->secret.c_str(), ldns_rr_rdf(sig, 3));
        }
        return Reply{std::move(reply), signature_ok, server.label()};
    }
    const std::string detail = last == UdpOutcome::Timeout   ? "no reply in time"
                               : last == UdpOutcome::Refused ? "connection refused"
                                                             : last_error;
    return core::fail(
        core::ErrorKind::Network,
        "DNS server " + server.label() + " did not answer (is it running? firewall?): " + detail);
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
        std::string referral;
        for (const ldns_rr_list* section : {ldns_pkt_answer(pkt), ldns_pkt_authority(pkt)}) {
            for (size_t i = 0; i < ldns_rr_list_rr_count(section); ++i) {
                const ldns_rr* rr = ldns_rr_list_rr(section, i);
                const std::string owner = owner_of(rr);
                // An SOA of a CNAME target's zone says nothing about `name`.
                if (!name_is_subdomain_of(name, owner)) {
                    continue;
                }
                if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_SOA) {
                    return owner;
                }
                // Recursive answers carry NS without AA; only an authoritative
                // server's referral means "not here".
                if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_NS && !ldns_pkt_aa(pkt) &&
                    !options.recursion_desired && section == ldns_pkt_authority(pkt)) {
                    referral = owner;
                }
            }
        }
        if (!referral.empty()) {
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
