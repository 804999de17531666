// libFuzzer: DNS replies as a server (or anyone spoofing it) could send them.
// The bytes are matched to the query sent (answers_query), decoded as
// exchange() decodes every answer (ldns_wire2pkt) and their TSIG checked as
// for an update's answer (tsig_verifies); then each reading certfleet makes
// of a reply runs on them: SOA / referral (zone discovery), NS with glue
// (authoritative servers), TXT and CNAME (propagation check), A / AAAA, rcode
// and TSIG error (update outcome). The names asked about are the question's,
// the first answer's owner and a fixed challenge name, so the matching paths
// are reached. Beyond "no crash, leak, timeout or UB", the answers must agree
// with what was asked.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <set>
#include <string>
#include <vector>

#include "acme/dns/answers.hpp"
#include "acme/dns/wire_exchange.hpp"

namespace {

using namespace certfleet::acme::dns;
using namespace certfleet::acme::dns::detail;

void check_name(const ldns_pkt* pkt, const std::string& name) {
    for (bool recursion : {false, true}) {
        const ZoneAnswer zone = zone_in_reply(pkt, name, recursion);
        if ((!zone.apex.empty() && !name_is_subdomain_of(name, zone.apex)) ||
            (!zone.referral.empty() && !name_is_subdomain_of(name, zone.referral)) ||
            (recursion && !zone.referral.empty()))
            __builtin_trap();
    }
    for (const auto& ns : nameservers_in(pkt, name))
        if (!ns.name.ends_with('.'))
            __builtin_trap();
    const std::set<std::string> expected = {"fuzz-value", ""};
    const auto values = txt_values(pkt, name);
    const bool all = values.end() != std::find(values.begin(), values.end(), "fuzz-value") &&
                     values.end() != std::find(values.begin(), values.end(), "");
    const bool noerror = ldns_pkt_get_rcode(pkt) == LDNS_RCODE_NOERROR;
    if (txt_state(pkt, name, expected).empty() != (noerror && all))
        __builtin_trap();
    (void)cname_target(pkt, name);
    (void)addresses_in(ldns_pkt_answer(pkt), name);
    (void)addresses_in(ldns_pkt_additional(pkt), name);
}

// As udp_round_trip() / tcp_round_trip() tell a reply to the query sent from
// anything else; the query gets the input's id, so the question is compared.
void check_matching(const std::uint8_t* data, std::size_t size) {
    static const std::vector<std::uint8_t> base = [] {
        PktPtr query(ldns_pkt_query_new(ldns_dname_new_frm_str("_acme-challenge.example.test."),
                                        LDNS_RR_TYPE_TXT, LDNS_RR_CLASS_IN, 0));
        std::uint8_t* wire = nullptr;
        std::size_t wire_size = 0;
        if (!query || ldns_pkt2wire(&wire, query.get(), &wire_size) != LDNS_STATUS_OK)
            __builtin_trap();
        std::vector<std::uint8_t> out(wire, wire + wire_size);
        std::free(wire);
        return out;
    }();
    std::vector<std::uint8_t> query = base;
    std::copy(data, data + std::min<std::size_t>(size, 2), query.begin());
    const std::vector<std::uint8_t> answer(data, data + size);
    if (answers_query(query, answer) && (size < LDNS_HEADER_SIZE || answer[0] != query[0] ||
                                         answer[1] != query[1] || (answer[2] & 0x80) == 0))
        __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    check_matching(data, size);
    ldns_pkt* parsed = nullptr;
    if (ldns_wire2pkt(&parsed, data, size) != LDNS_STATUS_OK)
        return 0;
    Reply reply{.packet = PktPtr(parsed), .signature_ok = true, .from = "192.0.2.53:53"};
    const ldns_pkt* pkt = reply.packet.get();

    // As exchange() checks the answer to a signed update.
    static const RdfPtr request_mac(ldns_rdf_new_frm_str(LDNS_RDF_TYPE_B64, "AAAAAAAAAAA="));
    static const TsigKey key{.name = "certfleet-key.",
                             .algorithm = "hmac-sha256.",
                             .secret = "c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0"};
    const ldns_rr* tsig = ldns_pkt_tsig(pkt);
    const std::uint16_t id = ldns_pkt_id(pkt);
    reply.signature_ok = tsig_verifies(reply.packet.get(), data, size, key, request_mac.get());
    if (ldns_pkt_tsig(pkt) != tsig || ldns_pkt_id(pkt) != id)
        __builtin_trap();

    std::vector<std::string> names = {"_acme-challenge.example.test."};
    if (const ldns_rr_list* question = ldns_pkt_question(pkt); ldns_rr_list_rr_count(question) > 0)
        names.push_back(owner_of(ldns_rr_list_rr(question, 0)));
    if (const ldns_rr_list* answer = ldns_pkt_answer(pkt); ldns_rr_list_rr_count(answer) > 0)
        names.push_back(owner_of(ldns_rr_list_rr(answer, 0)));
    for (const auto& name : names)
        check_name(pkt, name);

    const ZoneBatch batch{.zone = "example.test.",
                          .records = {ChallengeRecord{.fqdn = "_acme-challenge.example.test.",
                                                      .value = "fuzz-value",
                                                      .domain = "example.test",
                                                      .token = {},
                                                      .key_authorization = {}}}};
    const auto status = check_update_reply(reply, batch, "certfleet-key");
    if (status && (ldns_pkt_get_rcode(pkt) != LDNS_RCODE_NOERROR || !reply.signature_ok))
        __builtin_trap();
    (void)rcode_name(pkt);
    return 0;
}
