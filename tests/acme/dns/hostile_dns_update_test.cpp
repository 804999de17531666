// The RFC 2136 provider against a zone primary on 127.0.0.1 that answers the
// signed UPDATE wrongly: every outcome is a clear error (or, for a correctly
// signed NOERROR only, success) within the provider's 1 s timeout. The cases
// run side by side, each against its own server.
#include <future>
#include <map>

#include "acme/dns/factory.hpp"
#include "support/hostile_dns_support.hpp"

using namespace certfleet;
using namespace certfleet::test::hostile;
using namespace certfleet::test::hostile::dns;

namespace {

using Replies = std::vector<std::string>;
// What the primary sends back to one UPDATE (SOA queries are answered well).
using OnUpdate = std::function<Replies(const ldns_pkt* update, const std::string& wire)>;

UdpPeer::Handler primary(OnUpdate on_update) {
    return [on_update](const std::string& datagram) -> Replies {
        PktPtr query = parse(datagram);
        if (!query) {
            return {};
        }
        if (auto soa = soa_answer(query.get())) {
            return {*soa};
        }
        return on_update(query.get(), datagram);
    };
}

Replies answer(const ldns_pkt* update, ldns_pkt_rcode rcode, const char* secret = kSecret) {
    PktPtr reply = reply_to(update, rcode);
    if (secret != nullptr) {
        sign(reply.get(), update, secret);
    }
    return {to_wire(reply.get())};
}

struct Outcome {
    core::Status status;
    double seconds = 0;
};

Outcome present_at(const std::string& server) {
    acme::dns::Rfc2136Config c;
    c.server = server;
    c.tsig_name = "certfleet-key";
    c.tsig_secret = kSecret;
    c.timeout = core::Seconds(1);
    auto provider = acme::dns::make_provider(c);
    if (!provider) {
        return {provider.failure(), 0};
    }
    const auto start = SteadyClock::now();
    auto status = provider.value()->present({acme::dns::ChallengeRecord{
        "_acme-challenge.example.org.", "value-1", "example.org", "tok", "tok.thumb"}});
    return {status, seconds_since(start)};
}

}  // namespace

TEST_CASE("rfc2136: wrong answers to a signed update are clear errors, bounded", "[hostile][dns]") {
    const std::map<std::string, OnUpdate> servers = {
        {"signed NOERROR", [](auto* u, auto&) { return answer(u, LDNS_RCODE_NOERROR); }},
        {"unsigned NOERROR", [](auto* u, auto&) { return answer(u, LDNS_RCODE_NOERROR, nullptr); }},
        {"NOERROR signed with another secret",
         [](auto* u, auto&) { return answer(u, LDNS_RCODE_NOERROR, kWrongSecret); }},
        {"BADKEY",
         [](auto* u, auto&) {
             PktPtr reply = reply_to(u, LDNS_RCODE_NOTAUTH);
             tsig_error(reply.get(), u, kBadKey);
             return Replies{to_wire(reply.get())};
         }},
        {"BADSIG",
         [](auto* u, auto&) {
             PktPtr reply = reply_to(u, LDNS_RCODE_NOTAUTH);
             tsig_error(reply.get(), u, kBadSig);
             return Replies{to_wire(reply.get())};
         }},
        {"bare NOTAUTH", [](auto* u, auto&) { return answer(u, LDNS_RCODE_NOTAUTH, nullptr); }},
        {"REFUSED", [](auto* u, auto&) { return answer(u, LDNS_RCODE_REFUSED, nullptr); }},
        {"SERVFAIL", [](auto* u, auto&) { return answer(u, LDNS_RCODE_SERVFAIL); }},
        // RFC 2136 §3.8: a response may leave out every section.
        {"signed NOERROR without sections",
         [](auto* u, auto&) {
             PktPtr reply = reply_to(u, LDNS_RCODE_NOERROR);
             ldns_rr_list_deep_free(ldns_pkt_question(reply.get()));
             ldns_pkt_set_question(reply.get(), ldns_rr_list_new());
             ldns_pkt_set_qdcount(reply.get(), 0);
             sign(reply.get(), u, kSecret);
             return Replies{to_wire(reply.get())};
         }},
        // Not hostile, only slow: well within the provider's timeout.
        {"slow signed NOERROR",
         [](auto* u, auto&) {
             std::this_thread::sleep_for(milliseconds(300));
             return answer(u, LDNS_RCODE_NOERROR);
         }},
        {"silence", [](auto*, auto&) { return Replies{}; }},
        {"wrong id",
         [](auto* u, auto&) {
             PktPtr reply = reply_to(u, LDNS_RCODE_NOERROR);
             ldns_pkt_set_id(reply.get(), static_cast<std::uint16_t>(ldns_pkt_id(u) + 1));
             return Replies{to_wire(reply.get())};
         }},
        {"another question",
         [](auto* u, auto&) {
             PktPtr reply = reply_to(u, LDNS_RCODE_NOERROR);
             ldns_rr_list_deep_free(ldns_pkt_question(reply.get()));
             ldns_pkt_set_question(reply.get(), ldns_rr_list_new());
             ldns_pkt_set_qdcount(reply.get(), 0);
             add(reply.get(), LDNS_SECTION_QUESTION, "example.net. IN SOA");
             sign(reply.get(), u, kSecret);
             return Replies{to_wire(reply.get())};
         }},
        {"garbage",
         [](auto*, const std::string& wire) {
             // The query's id, then bytes that are no DNS message.
             return Replies{wire.substr(0, 2) + "\x81\x80 this is not DNS at all"};
         }},
        {"cut short",
         [](auto* u, auto&) {
             PktPtr reply = reply_to(u, LDNS_RCODE_NOERROR);
             add(reply.get(), LDNS_SECTION_ANSWER, "example.org. 60 IN TXT \"abcdefgh\"");
             const std::string wire = to_wire(reply.get());
             return Replies{wire.substr(0, wire.size() - 6)};
         }},
    };
    std::vector<std::unique_ptr<UdpPeer>> peers;
    std::vector<std::pair<std::string, std::future<Outcome>>> outcomes;
    for (const auto& [name, on_update] : servers) {
        peers.push_back(std::make_unique<UdpPeer>(primary(on_update)));
        outcomes.emplace_back(name,
                              std::async(std::launch::async, present_at, peers.back()->address()));
    }
    std::map<std::string, std::pair<core::Status, std::string>> seen;
    for (std::size_t i = 0; i < outcomes.size(); ++i) {
        Outcome o = outcomes[i].second.get();
        INFO(outcomes[i].first);
        CHECK(o.seconds < 2);  // the provider's timeout is 1 s
        seen.emplace(outcomes[i].first, std::pair{o.status, peers[i]->address()});
    }
    auto error_of = [&](const std::string& name) {
        const auto& [status, address] = seen.at(name);
        INFO(name);
        REQUIRE_FALSE(status.ok());
        return status.error();
    };
    auto server = [&](const std::string& name) { return "DNS server " + seen.at(name).second; };

    CHECK(seen.at("signed NOERROR").first.ok());
    CHECK(seen.at("slow signed NOERROR").first.ok());
    CHECK(seen.at("signed NOERROR without sections").first.ok());
    for (const char* name : {"unsigned NOERROR", "NOERROR signed with another secret"}) {
        CHECK(error_of(name).message == "the reply of " + server(name) +
                                            " to the update of zone example.org. is not signed "
                                            "with TSIG key 'certfleet-key'");
    }
    for (const char* code : {"BADKEY", "BADSIG"}) {
        CHECK(error_of(code).message == "the " + server(code) +
                                            " rejected TSIG key 'certfleet-key' (" + code +
                                            "): check tsig_name, tsig_algorithm and the "
                                            "secret file");
    }
    // No TSIG record in the answer: not the primary, or a server that answers
    // a key it does not know without saying so.
    CHECK(error_of("bare NOTAUTH").message ==
          server("bare NOTAUTH") + " is not authoritative for zone example.org. (NOTAUTH)");
    CHECK(contains(error_of("bare NOTAUTH").hint, "check tsig_name and the secret file"));
    CHECK(error_of("REFUSED").message ==
          server("REFUSED") + " refused the update of zone example.org. (REFUSED)");
    CHECK(contains(error_of("REFUSED").hint, "update-policy"));
    CHECK(error_of("SERVFAIL").message ==
          server("SERVFAIL") + " answered SERVFAIL to the update of zone example.org.");
    CHECK(error_of("silence").message ==
          server("silence") + " did not answer (is it running? firewall?): no reply in time");
    for (const char* name : {"wrong id", "another question", "garbage"}) {
        CHECK(error_of(name).kind == core::ErrorKind::Protocol);
        CHECK(error_of(name).message ==
              server(name) + " sent only replies that do not match the query (another message " +
                  "id or question)");
    }
    CHECK(error_of("cut short").message == server("cut short") + " sent an unreadable reply");
}

TEST_CASE("rfc2136: a truncated reply falls back to TCP, bounded by the same deadline",
          "[hostile][dns]") {
    auto truncated = [](auto* u, auto&) {
        PktPtr reply = reply_to(u, LDNS_RCODE_NOERROR);
        ldns_pkt_set_tc(reply.get(), true);
        return Replies{to_wire(reply.get())};
    };
    // Nothing listens on TCP at this UDP server's port: refused.
    UdpPeer no_tcp(primary(truncated));
    UdpPeer good_udp(primary(truncated));
    TcpPeer good_tcp(
        [](Connection& c) {
            PktPtr update = parse(read_tcp_message(c));
            if (update) {
                c.send(tcp_frame(answer(update.get(), LDNS_RCODE_NOERROR).front()));
            }
        },
        good_udp.port());
    UdpPeer wrong_id_udp(primary(truncated));
    TcpPeer wrong_id_tcp(
        [](Connection& c) {
            PktPtr update = parse(read_tcp_message(c));
            if (update) {
                PktPtr reply = reply_to(update.get(), LDNS_RCODE_NOERROR);
                ldns_pkt_set_id(reply.get(),
                                static_cast<std::uint16_t>(ldns_pkt_id(update.get()) ^ 1));
                sign(reply.get(), update.get(), kSecret);
                c.send(tcp_frame(to_wire(reply.get())));
            }
        },
        wrong_id_udp.port());
    // Announces a full-size message, then a byte every 300 ms (bounded, so
    // that even a client without a deadline ends, after ~10 s).
    UdpPeer trickle_udp(primary(truncated));
    TcpPeer trickle_tcp(
        [](Connection& c) {
            read_tcp_message(c);
            c.send(std::string("\xff\xff", 2));
            for (int i = 0; i < 32 && c.send("x"); ++i) {
                c.pause(milliseconds(300));
            }
        },
        trickle_udp.port());

    auto refused = std::async(std::launch::async, present_at, no_tcp.address());
    auto good = std::async(std::launch::async, present_at, good_udp.address());
    auto wrong_id = std::async(std::launch::async, present_at, wrong_id_udp.address());
    auto trickled = std::async(std::launch::async, present_at, trickle_udp.address());

    const Outcome r = refused.get();
    REQUIRE_FALSE(r.status.ok());
    CHECK(r.status.error().message ==
          "DNS server " + no_tcp.address() +
              " sent a truncated reply and did not answer over TCP (is TCP port " +
              std::to_string(no_tcp.port()) + " open?): connection refused");
    CHECK(r.seconds < 2);

    const Outcome g = good.get();
    INFO((g.status.ok() ? std::string() : g.status.error().message));
    CHECK(g.status.ok());
    CHECK(g.seconds < 2);

    const Outcome w = wrong_id.get();
    REQUIRE_FALSE(w.status.ok());
    CHECK(w.status.error().message ==
          "DNS server " + wrong_id_udp.address() +
              " sent only replies that do not match the query (another message id or question)");
    CHECK(w.seconds < 2);

    const Outcome t = trickled.get();
    REQUIRE_FALSE(t.status.ok());
    CHECK(t.status.error().kind == core::ErrorKind::Timeout);
    CHECK(t.status.error().message ==
          "DNS server " + trickle_udp.address() +
              " sent a truncated reply and did not answer over TCP (is TCP port " +
              std::to_string(trickle_udp.port()) + " open?): no complete reply in time");
    CHECK(t.seconds < 2);
}
