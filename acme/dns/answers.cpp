#include "acme/dns/answers.hpp"

#include <algorithm>

namespace certfleet::acme::dns::detail {
namespace {

// TSIG error codes (RFC 8945 §5.3.2) in the reply's TSIG record.
constexpr uint16_t kBadSig = 16;
constexpr uint16_t kBadKey = 17;
constexpr uint16_t kBadTime = 18;

std::string tsig_error_name(uint16_t code) {
    switch (code) {
        case kBadSig:
            return "BADSIG";
        case kBadKey:
            return "BADKEY";
        case kBadTime:
            return "BADTIME";
        case 0:
            return "NOTAUTH";
        default:
            return "TSIG error " + std::to_string(code);
    }
}

}  // namespace

bool tsig_verifies(ldns_pkt* reply, const std::uint8_t* wire, std::size_t size, const TsigKey& key,
                   const ldns_rdf* request_mac) {
    // ldns_pkt_tsig_verify takes the TSIG record out of the packet and sets
    // the original id while it computes the MAC; when that fails it returns
    // without putting either back, so the record would leak (one per reply)
    // and its error code (BADKEY, BADTIME) would be lost to check_update_reply.
    ldns_rr* tsig = ldns_pkt_tsig(reply);
    const std::uint16_t id = ldns_pkt_id(reply);
    const bool ok =
        ldns_pkt_tsig_verify(reply, wire, size, key.name.c_str(), key.secret.c_str(), request_mac);
    if (ldns_pkt_tsig(reply) == nullptr) {
        ldns_pkt_set_tsig(reply, tsig);
    }
    ldns_pkt_set_id(reply, id);
    return ok;
}

ZoneAnswer zone_in_reply(const ldns_pkt* reply, const std::string& name, bool recursion_desired) {
    ZoneAnswer out;
    for (const ldns_rr_list* section : {ldns_pkt_answer(reply), ldns_pkt_authority(reply)}) {
        for (size_t i = 0; i < ldns_rr_list_rr_count(section); ++i) {
            const ldns_rr* rr = ldns_rr_list_rr(section, i);
            const std::string owner = owner_of(rr);
            // An SOA of a CNAME target's zone says nothing about `name`.
            if (!name_is_subdomain_of(name, owner)) {
                continue;
            }
            if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_SOA) {
                return ZoneAnswer{.apex = owner, .referral = {}};
            }
            if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_NS && !ldns_pkt_aa(reply) &&
                !recursion_desired && section == ldns_pkt_authority(reply)) {
                out.referral = owner;
            }
        }
    }
    return out;
}

std::vector<Nameserver> nameservers_in(const ldns_pkt* reply, const std::string& zone) {
    std::vector<Nameserver> out;
    const ldns_rr_list* answer = ldns_pkt_answer(reply);
    for (size_t i = 0; i < ldns_rr_list_rr_count(answer); ++i) {
        const ldns_rr* rr = ldns_rr_list_rr(answer, i);
        if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_NS || owner_of(rr) != zone) {
            continue;
        }
        std::string ns = normalize_fqdn(rdf_text(ldns_rr_rdf(rr, 0)));
        auto addresses = addresses_in(ldns_pkt_additional(reply), ns);
        out.push_back(Nameserver{.name = std::move(ns), .addresses = std::move(addresses)});
    }
    return out;
}

std::string txt_state(const ldns_pkt* reply, const std::string& fqdn,
                      const std::set<std::string>& expected) {
    if (ldns_pkt_get_rcode(reply) != LDNS_RCODE_NOERROR) {
        return rcode_name(reply);
    }
    const auto values = txt_values(reply, fqdn);
    const auto present = static_cast<std::size_t>(
        std::count_if(expected.begin(), expected.end(), [&](const std::string& v) {
            return std::find(values.begin(), values.end(), v) != values.end();
        }));
    if (present == expected.size()) {
        return {};
    }
    if (values.empty()) {
        const std::string target = cname_target(reply, fqdn);
        return target.empty() ? "no TXT" : "CNAME to " + target;
    }
    return std::to_string(present) + " of " + std::to_string(expected.size()) + " values";
}

core::Status check_update_reply(const Reply& reply, const ZoneBatch& batch,
                                const std::string& tsig_name) {
    const ldns_pkt* pkt = reply.packet.get();
    const auto rcode = ldns_pkt_get_rcode(pkt);
    uint16_t tsig_error = 0;
    if (const ldns_rr* tsig = ldns_pkt_tsig(pkt); tsig && ldns_rr_rd_count(tsig) > 5) {
        tsig_error = ldns_rdf2native_int16(ldns_rr_rdf(tsig, 5));
    }
    const std::string where = "DNS server " + reply.from;
    if (tsig_error == kBadTime) {
        return core::fail(core::ErrorKind::Dns,
                          where + " rejected the time of the TSIG signature (BADTIME)",
                          "check the clocks of this machine and of the server (NTP)");
    }
    if (tsig_error != 0 || (rcode == LDNS_RCODE_NOTAUTH && ldns_pkt_tsig(pkt) != nullptr)) {
        return core::fail(core::ErrorKind::Dns,
                          "the DNS server " + reply.from + " rejected TSIG key '" + tsig_name +
                              "' (" + tsig_error_name(tsig_error) +
                              "): check tsig_name, tsig_algorithm and the secret file");
    }
    if (rcode == LDNS_RCODE_NOTAUTH) {
        return core::fail(core::ErrorKind::Dns,
                          where + " is not authoritative for zone " + batch.zone + " (NOTAUTH)",
                          "send updates to the primary server of the zone; if it is the "
                          "primary, check tsig_name and the secret file (some servers answer "
                          "a key they do not know with a bare NOTAUTH)");
    }
    if (rcode == LDNS_RCODE_REFUSED) {
        return core::fail(core::ErrorKind::Dns,
                          where + " refused the update of zone " + batch.zone + " (REFUSED)",
                          "its update policy does not let key '" + tsig_name +
                              "' change TXT records at " + names_summary(batch.records) +
                              ": check allow-update / update-policy (e.g. grant " + tsig_name +
                              " zonesub TXT;)");
    }
    if (rcode != LDNS_RCODE_NOERROR) {
        return core::fail(core::ErrorKind::Dns, where + " answered " + rcode_name(pkt) +
                                                    " to the update of zone " + batch.zone);
    }
    if (!reply.signature_ok) {
        return core::fail(core::ErrorKind::Dns,
                          "the reply of " + where + " to the update of zone " + batch.zone +
                              " is not signed with TSIG key '" + tsig_name + "'",
                          "the update may or may not have been applied; check the key");
    }
    return {};
}

}  // namespace certfleet::acme::dns::detail
