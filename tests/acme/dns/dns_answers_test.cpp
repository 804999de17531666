// What certfleet reads in DNS replies (acme/dns/answers.cpp), on packets
// built here: zone discovery, nameservers with glue, the propagation check's
// TXT reading, update outcomes and the reply's TSIG.
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "acme/dns/answers.hpp"

using namespace certfleet::acme::dns;
using namespace certfleet::acme::dns::detail;

namespace {

constexpr const char* kSecret = "c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0";
constexpr const char* kSoa =
    " 3600 IN SOA ns1.example.test. hostmaster.example.test. 1 3600 600 86400 60";

// An answer to `qname`/`type` with `rcode`, authoritative when `aa`.
PktPtr reply_to(const char* qname, ldns_rr_type type, ldns_pkt_rcode rcode, bool aa = true) {
    PktPtr p(ldns_pkt_query_new(ldns_dname_new_frm_str(qname), type, LDNS_RR_CLASS_IN, 0));
    REQUIRE(p);
    ldns_pkt_set_qr(p.get(), true);
    ldns_pkt_set_aa(p.get(), aa);
    ldns_pkt_set_rcode(p.get(), rcode);
    ldns_pkt_set_id(p.get(), 4242);
    return p;
}

void add(const PktPtr& p, ldns_pkt_section section, const std::string& text) {
    ldns_rr* rr = nullptr;
    REQUIRE(ldns_rr_new_frm_str(&rr, text.c_str(), 3600, nullptr, nullptr) == LDNS_STATUS_OK);
    REQUIRE(ldns_pkt_push_rr(p.get(), section, rr));
}

Reply as_reply(PktPtr packet, bool signature_ok = true) {
    return Reply{
        .packet = std::move(packet), .signature_ok = signature_ok, .from = "192.0.2.53:53"};
}

ZoneBatch example_batch() {
    return ZoneBatch{.zone = "example.test.",
                     .records = {ChallengeRecord{.fqdn = "_acme-challenge.example.test.",
                                                 .value = "v1",
                                                 .domain = "example.test",
                                                 .token = {},
                                                 .key_authorization = {}}}};
}

// Replaces rdata field `index` of `rr`.
void set_rdf(ldns_rr* rr, ldns_rdf* value, size_t index) {
    REQUIRE(value);
    ldns_rdf_deep_free(ldns_rr_set_rdf(rr, value, index));
}

}  // namespace

TEST_CASE("zone discovery: SOA apex, referral only from an authoritative server", "[dns]") {
    const std::string name = "_acme-challenge.www.example.test.";
    auto soa = reply_to(name.c_str(), LDNS_RR_TYPE_SOA, LDNS_RCODE_NOERROR);
    add(soa, LDNS_SECTION_AUTHORITY, std::string("example.test.") + kSoa);
    CHECK(zone_in_reply(soa.get(), name, false).apex == "example.test.");

    // An SOA of another zone (a CNAME target's) says nothing about `name`.
    auto other = reply_to(name.c_str(), LDNS_RR_TYPE_SOA, LDNS_RCODE_NOERROR);
    add(other, LDNS_SECTION_AUTHORITY, std::string("other.test.") + kSoa);
    const ZoneAnswer none = zone_in_reply(other.get(), name, false);
    CHECK(none.apex.empty());
    CHECK(none.referral.empty());

    auto referral = reply_to(name.c_str(), LDNS_RR_TYPE_SOA, LDNS_RCODE_NOERROR, false);
    add(referral, LDNS_SECTION_AUTHORITY, "www.example.test. 3600 IN NS ns.elsewhere.test.");
    CHECK(zone_in_reply(referral.get(), name, false).referral == "www.example.test.");
    // A recursive server's NS without AA is no referral.
    CHECK(zone_in_reply(referral.get(), name, true).referral.empty());
}

TEST_CASE("nameservers come with the addresses of their glue", "[dns]") {
    auto p = reply_to("example.test.", LDNS_RR_TYPE_NS, LDNS_RCODE_NOERROR, false);
    add(p, LDNS_SECTION_ANSWER, "example.test. 3600 IN NS NS1.example.test.");
    add(p, LDNS_SECTION_ANSWER, "example.test. 3600 IN NS ns2.example.test.");
    add(p, LDNS_SECTION_ANSWER, "sub.example.test. 3600 IN NS ns3.example.test.");
    add(p, LDNS_SECTION_ADDITIONAL, "ns1.example.test. 3600 IN A 192.0.2.1");
    add(p, LDNS_SECTION_ADDITIONAL, "ns1.example.test. 3600 IN AAAA 2001:db8::1");
    const auto found = nameservers_in(p.get(), "example.test.");
    REQUIRE(found.size() == 2);
    CHECK(found[0].name == "ns1.example.test.");
    CHECK(found[0].addresses == std::vector<std::string>{"192.0.2.1", "2001:db8::1"});
    CHECK(found[1].name == "ns2.example.test.");
    CHECK(found[1].addresses.empty());
}

TEST_CASE("propagation: a server shows all values, some, none or a CNAME", "[dns]") {
    const std::string name = "_acme-challenge.example.test.";
    auto p = reply_to(name.c_str(), LDNS_RR_TYPE_TXT, LDNS_RCODE_NOERROR);
    add(p, LDNS_SECTION_ANSWER, name + " 60 IN TXT \"v1\"");
    add(p, LDNS_SECTION_ANSWER, name + " 60 IN TXT \"v\" \"2\"");  // strings are joined
    CHECK(txt_state(p.get(), name, {"v1", "v2"}).empty());
    CHECK(txt_state(p.get(), name, {"v1", "v3"}) == "1 of 2 values");

    auto cname = reply_to(name.c_str(), LDNS_RR_TYPE_TXT, LDNS_RCODE_NOERROR);
    add(cname, LDNS_SECTION_ANSWER, name + " 60 IN CNAME x.acme-delegate.test.");
    CHECK(txt_state(cname.get(), name, {"v1"}) == "CNAME to x.acme-delegate.test.");
    auto empty = reply_to(name.c_str(), LDNS_RR_TYPE_TXT, LDNS_RCODE_NOERROR);
    CHECK(txt_state(empty.get(), name, {"v1"}) == "no TXT");
    auto missing = reply_to(name.c_str(), LDNS_RR_TYPE_TXT, LDNS_RCODE_NXDOMAIN);
    CHECK(txt_state(missing.get(), name, {"v1"}) == "NXDOMAIN");
}

TEST_CASE("update outcomes: refused, unsigned, accepted", "[dns]") {
    auto refused = check_update_reply(
        as_reply(reply_to("example.test.", LDNS_RR_TYPE_SOA, LDNS_RCODE_REFUSED)), example_batch(),
        "certfleet-key");
    REQUIRE_FALSE(refused);
    CHECK_THAT(refused.error().message, Catch::Contains("(REFUSED)"));
    CHECK_THAT(refused.error().hint, Catch::Contains("grant certfleet-key zonesub TXT"));

    auto unsigned_reply = check_update_reply(
        as_reply(reply_to("example.test.", LDNS_RR_TYPE_SOA, LDNS_RCODE_NOERROR), false),
        example_batch(), "certfleet-key");
    REQUIRE_FALSE(unsigned_reply);
    CHECK_THAT(unsigned_reply.error().message, Catch::Contains("is not signed"));

    CHECK(check_update_reply(
        as_reply(reply_to("example.test.", LDNS_RR_TYPE_SOA, LDNS_RCODE_NOERROR)), example_batch(),
        "certfleet-key"));
}

TEST_CASE("a reply whose TSIG cannot be checked keeps its TSIG record and id", "[dns]") {
    // Found by fuzz/dns_reply_fuzz.cpp: for an algorithm ldns does not know,
    // ldns_pkt_tsig_verify left the TSIG record out of the packet (leaked) and
    // the original id in, so the BADKEY below read as a plain NOTAUTH.
    auto answer = reply_to("example.test.", LDNS_RR_TYPE_SOA, LDNS_RCODE_NOTAUTH, false);
    ldns_pkt_set_opcode(answer.get(), LDNS_PACKET_UPDATE);
    REQUIRE(ldns_pkt_tsig_sign(answer.get(), "certfleet-key.", kSecret, 300, "hmac-sha256.",
                               nullptr) == LDNS_STATUS_OK);
    ldns_rr* tsig = ldns_pkt_tsig(answer.get());
    set_rdf(tsig, ldns_dname_new_frm_str("hmac-unknown."), 0);
    set_rdf(tsig, ldns_native2rdf_int16(LDNS_RDF_TYPE_INT16, 1111), 4);  // original id
    set_rdf(tsig, ldns_native2rdf_int16(LDNS_RDF_TYPE_INT16, 17), 5);    // BADKEY
    uint8_t* raw = nullptr;
    size_t size = 0;
    REQUIRE(ldns_pkt2wire(&raw, answer.get(), &size) == LDNS_STATUS_OK);
    const std::unique_ptr<uint8_t, decltype(&std::free)> wire(raw, &std::free);
    ldns_pkt* parsed = nullptr;
    REQUIRE(ldns_wire2pkt(&parsed, wire.get(), size) == LDNS_STATUS_OK);
    Reply reply = as_reply(PktPtr(parsed));

    const TsigKey key{.name = "certfleet-key.", .algorithm = "hmac-sha256.", .secret = kSecret};
    const RdfPtr request_mac(ldns_rdf_new_frm_str(LDNS_RDF_TYPE_B64, "AAAAAAAAAAA="));
    reply.signature_ok =
        tsig_verifies(reply.packet.get(), wire.get(), size, key, request_mac.get());
    CHECK_FALSE(reply.signature_ok);
    CHECK(ldns_pkt_tsig(reply.packet.get()) != nullptr);
    CHECK(ldns_pkt_id(reply.packet.get()) == 4242);
    auto status = check_update_reply(reply, example_batch(), "certfleet-key");
    REQUIRE_FALSE(status);
    CHECK_THAT(status.error().message,
               Catch::Contains("rejected TSIG key 'certfleet-key' (BADKEY)"));
}
