// The resolver (zone discovery, CNAME lookup) and the propagation check
// against nameservers on 127.0.0.1 that answer wrongly: each is reported by
// name with what it did, within the configured timeouts, and nothing a wrong
// answer says is believed.
#include "acme/dns/resolver.hpp"
#include "support/hostile_dns_support.hpp"

using namespace certfleet;
using namespace certfleet::test::hostile;
using namespace certfleet::test::hostile::dns;

namespace {

using Replies = std::vector<std::string>;
const std::string kName = "_acme-challenge.example.org.";

// A nameserver whose every answer is `make(query, wire)`.
UdpPeer::Handler answering(std::function<Replies(const ldns_pkt*, const std::string&)> make) {
    return [make](const std::string& datagram) -> Replies {
        PktPtr query = parse(datagram);
        return query ? make(query.get(), datagram) : Replies{};
    };
}

Replies with_rcode(const ldns_pkt* query, ldns_pkt_rcode rcode) {
    return {to_wire(reply_to(query, rcode).get())};
}

// The expected TXT value, in a reply whose question is another name.
Replies other_question(const ldns_pkt* query) {
    PktPtr reply(ldns_pkt_new());
    ldns_pkt_set_id(reply.get(), ldns_pkt_id(query));
    ldns_pkt_set_qr(reply.get(), true);
    ldns_pkt_set_aa(reply.get(), true);
    add(reply.get(), LDNS_SECTION_QUESTION, "elsewhere.example.net. IN TXT");
    add(reply.get(), LDNS_SECTION_ANSWER, kName + " 60 IN TXT \"value-1\"");
    return {to_wire(reply.get())};
}

acme::dns::Resolver resolver_for(const std::vector<const UdpPeer*>& servers,
                                 core::Seconds propagation_timeout = core::Seconds(1)) {
    acme::dns::ResolverConfig c;
    for (const UdpPeer* s : servers) {
        c.nameservers.push_back(s->address());
    }
    c.propagation_timeout = propagation_timeout;
    c.query_timeout = milliseconds(300);
    auto r = acme::dns::Resolver::create(c);
    REQUIRE(r.ok());
    return std::move(*r);
}

}  // namespace

TEST_CASE("propagation: each wrong nameserver is listed with what it did, bounded",
          "[hostile][dns]") {
    UdpPeer wrong_id(answering([](const ldns_pkt* q, const std::string&) {
        PktPtr reply = reply_to(q, LDNS_RCODE_NOERROR);
        ldns_pkt_set_id(reply.get(), static_cast<std::uint16_t>(ldns_pkt_id(q) + 7));
        add(reply.get(), LDNS_SECTION_ANSWER, kName + " 60 IN TXT \"value-1\"");
        return Replies{to_wire(reply.get())};
    }));
    UdpPeer elsewhere(
        answering([](const ldns_pkt* q, const std::string&) { return other_question(q); }));
    UdpPeer garbage(answering([](const ldns_pkt*, const std::string& wire) {
        return Replies{wire.substr(0, 2) + std::string(40, '\xff')};
    }));
    UdpPeer servfail(answering(
        [](const ldns_pkt* q, const std::string&) { return with_rcode(q, LDNS_RCODE_SERVFAIL); }));
    UdpPeer truncated(answering([](const ldns_pkt* q, const std::string&) {
        PktPtr reply = reply_to(q, LDNS_RCODE_NOERROR);
        ldns_pkt_set_tc(reply.get(), true);
        return Replies{to_wire(reply.get())};
    }));
    UdpPeer silent(answering([](const ldns_pkt*, const std::string&) { return Replies{}; }));

    auto resolver = resolver_for({&wrong_id, &elsewhere, &garbage, &servfail, &truncated, &silent});
    const auto start = SteadyClock::now();
    auto status = resolver.wait_for_propagation(
        {acme::dns::ChallengeRecord{kName, "value-1", "example.org", "tok", "tok.thumb"}});
    const double took = seconds_since(start);
    REQUIRE_FALSE(status.ok());
    const std::string& message = status.error().message;
    INFO(message);
    CHECK(status.error().kind == core::ErrorKind::Timeout);
    CHECK(message.starts_with("DNS records not visible at every authoritative server: "));
    for (const auto& [server, state] :
         std::vector<std::pair<const UdpPeer*, std::string>>{{&wrong_id, "unusable reply"},
                                                             {&elsewhere, "unusable reply"},
                                                             {&garbage, "unusable reply"},
                                                             {&servfail, "SERVFAIL"},
                                                             {&truncated, "no answer"},
                                                             {&silent, "no answer"}}) {
        CHECK(contains(message, kName + " not yet at " + server->address() + " (" + state + ")"));
    }
    CHECK(took < 2);  // propagation_timeout 1 s, one query (300 ms) in flight at the end
}

TEST_CASE("resolver: a wrong nameserver fails the lookup clearly, the next one is asked",
          "[hostile][dns]") {
    UdpPeer servfail(answering(
        [](const ldns_pkt* q, const std::string&) { return with_rcode(q, LDNS_RCODE_SERVFAIL); }));
    UdpPeer refused(answering(
        [](const ldns_pkt* q, const std::string&) { return with_rcode(q, LDNS_RCODE_REFUSED); }));
    UdpPeer garbage(answering([](const ldns_pkt*, const std::string& wire) {
        return Replies{wire.substr(0, 2) + std::string(40, '\xff')};
    }));
    UdpPeer good(answering([](const ldns_pkt* q, const std::string&) {
        if (auto soa = soa_answer(q)) {
            return Replies{*soa};
        }
        return with_rcode(q, LDNS_RCODE_NXDOMAIN);
    }));
    const auto start = SteadyClock::now();

    auto zone = resolver_for({&servfail}).find_zone(kName);
    REQUIRE_FALSE(zone.ok());
    CHECK(zone.error().message ==
          "DNS server " + servfail.address() + " answered SERVFAIL for the SOA of " + kName);

    auto cname = resolver_for({&refused}).resolve_challenge_fqdn("example.org");
    REQUIRE_FALSE(cname.ok());
    CHECK(cname.error().message ==
          "DNS server " + refused.address() + " answered REFUSED for " + kName + " CNAME");
    CHECK(cname.error().hint == "dns.nameservers must be authoritative for " + kName);

    // Garbage is no answer: the next nameserver is asked, as after silence.
    auto found = resolver_for({&garbage, &good}).find_zone(kName);
    INFO((found.ok() ? *found : found.error().message));
    REQUIRE(found.ok());
    CHECK(*found == "example.org.");
    CHECK(seconds_since(start) < 2);  // the garbage server costs two 300 ms attempts
}
