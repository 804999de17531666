// DNS messages for the hostile DNS servers of hostile_dns_*_test.cpp, crafted
// with ldns: replies to a query (right or wrong), TSIG signatures with the
// right or a wrong secret, TSIG error records, DNS over TCP framing. These
// run on the servers' threads, where Catch2's macros must not: a helper that
// cannot do its part leaves the message short, and the client's checks fail.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>

#include "acme/dns/ldns_client.hpp"
#include "support/hostile_peer.hpp"

namespace certfleet::test::hostile::dns {

using acme::dns::detail::PktPtr;
using acme::dns::detail::RrPtr;

inline constexpr const char* kKeyName = "certfleet-key.";
inline constexpr const char* kSecret = "c2VjcmV0LXNlY3JldC1zZWNyZXQ=";
inline constexpr const char* kWrongSecret = "d3Jvbmctd3Jvbmctd3Jvbmc=";
inline constexpr std::uint16_t kBadSig = 16;
inline constexpr std::uint16_t kBadKey = 17;

// nullptr for bytes ldns cannot decode.
inline PktPtr parse(const std::string& wire) {
    ldns_pkt* p = nullptr;
    if (ldns_wire2pkt(&p, reinterpret_cast<const std::uint8_t*>(wire.data()), wire.size()) !=
        LDNS_STATUS_OK) {
        return nullptr;
    }
    return PktPtr(p);
}

inline std::string to_wire(const ldns_pkt* p) {
    std::uint8_t* data = nullptr;
    std::size_t size = 0;
    if (ldns_pkt2wire(&data, p, &size) != LDNS_STATUS_OK) {
        return {};
    }
    std::string out(reinterpret_cast<const char*>(data), size);
    std::free(data);
    return out;
}

inline RrPtr rr(const std::string& text, bool question = false) {
    ldns_rr* r = nullptr;
    const ldns_status s = question
                              ? ldns_rr_new_question_frm_str(&r, text.c_str(), nullptr, nullptr)
                              : ldns_rr_new_frm_str(&r, text.c_str(), 60, nullptr, nullptr);
    return RrPtr(s == LDNS_STATUS_OK ? r : nullptr);
}

// A reply to `query`: its id, opcode and question (zone section of an
// UPDATE), QR and AA set, `rcode`.
inline PktPtr reply_to(const ldns_pkt* query, ldns_pkt_rcode rcode) {
    PktPtr p(ldns_pkt_new());
    ldns_pkt_set_id(p.get(), ldns_pkt_id(query));
    ldns_pkt_set_qr(p.get(), true);
    ldns_pkt_set_aa(p.get(), true);
    ldns_pkt_set_opcode(p.get(), ldns_pkt_get_opcode(query));
    ldns_pkt_set_rcode(p.get(), static_cast<std::uint8_t>(rcode));
    const ldns_rr_list* question = ldns_pkt_question(query);
    for (std::size_t i = 0; i < ldns_rr_list_rr_count(question); ++i) {
        ldns_pkt_push_rr(p.get(), LDNS_SECTION_QUESTION,
                         ldns_rr_clone(ldns_rr_list_rr(question, i)));
    }
    return p;
}

inline void add(ldns_pkt* p, ldns_pkt_section section, const std::string& text) {
    if (RrPtr record = rr(text, section == LDNS_SECTION_QUESTION)) {
        ldns_pkt_push_rr(p, section, record.release());
    }
}

// Signs `reply` with kKeyName and `secret` over the query's MAC, as a server
// holding that secret would.
inline void sign(ldns_pkt* reply, const ldns_pkt* query, const char* secret) {
    if (const ldns_rr* query_tsig = ldns_pkt_tsig(query)) {
        ldns_pkt_tsig_sign(reply, kKeyName, secret, 300, "hmac-sha256.",
                           ldns_rr_rdf(query_tsig, 3));
    }
}

// RFC 8945 §5.2: a server that cannot verify the request answers with a TSIG
// record carrying the error and no MAC.
inline void tsig_error(ldns_pkt* reply, const ldns_pkt* query, std::uint16_t error) {
    if (ldns_pkt_tsig(query) == nullptr) {
        return;
    }
    RrPtr tsig(ldns_rr_clone(ldns_pkt_tsig(query)));
    const std::uint8_t no_mac[2] = {0, 0};
    ldns_rdf_deep_free(
        ldns_rr_set_rdf(tsig.get(), ldns_rdf_new_frm_data(LDNS_RDF_TYPE_INT16_DATA, 2, no_mac), 3));
    ldns_rdf_deep_free(
        ldns_rr_set_rdf(tsig.get(), ldns_native2rdf_int16(LDNS_RDF_TYPE_INT16, error), 5));
    ldns_pkt_set_tsig(reply, tsig.release());
}

// The answer of a good authoritative server of example.org. to an SOA query,
// nullopt for anything else (an UPDATE, another type).
inline std::optional<std::string> soa_answer(const ldns_pkt* query) {
    const ldns_rr_list* question = ldns_pkt_question(query);
    if (ldns_pkt_get_opcode(query) != LDNS_PACKET_QUERY || ldns_rr_list_rr_count(question) != 1 ||
        ldns_rr_get_type(ldns_rr_list_rr(question, 0)) != LDNS_RR_TYPE_SOA) {
        return std::nullopt;
    }
    PktPtr reply = reply_to(query, LDNS_RCODE_NOERROR);
    add(reply.get(), LDNS_SECTION_AUTHORITY,
        "example.org. 60 IN SOA ns.example.org. admin.example.org. 1 60 60 60 60");
    return to_wire(reply.get());
}

// DNS over TCP (RFC 1035 §4.2.2): a two-byte length, then the message.
inline std::string tcp_frame(const std::string& message) {
    std::string out(2, '\0');
    out[0] = static_cast<char>(message.size() >> 8);
    out[1] = static_cast<char>(message.size() & 0xff);
    return out + message;
}

inline std::string read_tcp_message(Connection& c) {
    const std::string length = c.read_exact(2);
    if (length.size() != 2) {
        return {};
    }
    const auto size = static_cast<std::size_t>(static_cast<unsigned char>(length[0]) << 8 |
                                               static_cast<unsigned char>(length[1]));
    return c.read_exact(size);
}

}  // namespace certfleet::test::hostile::dns
