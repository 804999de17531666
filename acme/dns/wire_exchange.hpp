// One DNS round trip at the socket level, bounded by one timeout as a whole so
// that a server trickling bytes cannot stretch it: UDP on a connected socket
// (an ICMP port-unreachable fails it at once), TCP for a truncated reply
// (RFC 7766: length-prefixed messages). Only a reply to the message sent
// counts: same id and same question (RFC 5452 §9.1). Over UDP anything else
// is ignored (it may be stray); over TCP it fails the exchange. Internal to
// acme/dns, used by ldns_client.cpp.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "acme/dns/names.hpp"

namespace certfleet::acme::dns::detail {

enum class WireOutcome {
    Answer,    // `answer` holds the reply
    Timeout,   // nothing (complete) in time
    Refused,   // connection refused / ICMP port unreachable
    Mismatch,  // only replies to another query (id or question) came
    Error,     // `error` says what
};

// `query` is a message certfleet built: one question, its name uncompressed.
WireOutcome udp_round_trip(const ServerAddress& server, const std::vector<std::uint8_t>& query,
                           std::chrono::milliseconds timeout, std::vector<std::uint8_t>& answer,
                           std::string& error);
WireOutcome tcp_round_trip(const ServerAddress& server, const std::vector<std::uint8_t>& query,
                           std::chrono::milliseconds timeout, std::vector<std::uint8_t>& answer,
                           std::string& error);

// Whether `answer` is a reply (QR set) to `query`: the same id, and the same
// question (the name compared without regard to case) or none at all (an
// UPDATE response may omit its sections, RFC 2136 §3.8; an error may too).
bool answers_query(const std::vector<std::uint8_t>& query, const std::vector<std::uint8_t>& answer);

}  // namespace certfleet::acme::dns::detail
