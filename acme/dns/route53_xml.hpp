// Route 53's XML (REST API 2013-04-01): readers of what the API answers and
// the change batch writer. They read what the network sent: the fuzzer
// (fuzz/route53_xml_fuzz.cpp) runs them on anything.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"

namespace certfleet::acme::dns::route53_xml {

inline constexpr const char* kHostedZonePrefix = "/hostedzone/";

// Route 53's ids (zones, changes) go into URL paths as they are: letters and
// digits only, at most 64.
bool is_route53_id(std::string_view text);

struct HostedZone {
    std::string id;    // "Z123": the API's "/hostedzone/Z123" without its prefix
    std::string name;  // normalized: "example.org."
    bool private_zone = false;
};

// One page of ListHostedZones.
struct HostedZonePage {
    std::vector<HostedZone> zones;
    std::string next_marker;  // empty: the last page
};

struct RecordSet {
    std::string name;  // normalized, Route 53's \ooo escapes decoded
    std::string type;
    std::uint32_t ttl = 0;  // 0 for alias sets, which have none
    // As Route 53 holds them, quotes included ("\"v\""), so values that are
    // not ours go back exactly as they came.
    std::vector<std::string> values;
};

// A change batch's state (ChangeResourceRecordSets, GetChange).
struct ChangeInfo {
    std::string id;      // "C123": "/change/C123" without its prefix
    std::string status;  // "PENDING" | "INSYNC"
};

// An error answer: <ErrorResponse><Error><Code/><Message/></Error>, or the
// <InvalidChangeBatch><Messages><Message/>… document Route 53 sends for a
// refused change batch.
struct ApiError {
    std::string code;  // "Throttling", "InvalidChangeBatch", …; empty: not an error document
    std::string message;
};

enum class Action { Upsert, Delete };

struct Change {
    Action action = Action::Upsert;
    RecordSet set;
};

// Failures are ErrorKind::Protocol with a short reason ("no <ChangeInfo>").
// Ids that could not go into a URL path as they are (anything but letters
// and digits) are refused.
core::Result<HostedZonePage> parse_hosted_zones(std::string_view xml);
core::Result<std::vector<RecordSet>> parse_record_sets(std::string_view xml);
core::Result<ChangeInfo> parse_change_info(std::string_view xml);
ApiError parse_error(std::string_view xml);

// The ChangeResourceRecordSetsRequest document, every text escaped.
std::string change_batch_xml(const std::vector<Change>& changes);

}  // namespace certfleet::acme::dns::route53_xml
