// ACME problem documents (RFC 8555 §6.7, RFC 7807) as typed errors.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "core/result.hpp"

namespace certfleet::acme {

struct Problem {
    std::string type;  // full URN, "urn:ietf:params:acme:error:badNonce"
    std::string detail;
    int status = 0;
    struct Sub {
        std::string type;
        std::string detail;
        std::string identifier;
    };
    std::vector<Sub> subproblems;

    // The part after "urn:ietf:params:acme:error:" ("badNonce"), or the whole type.
    std::string short_type() const;
    bool is(std::string_view short_name) const { return short_type() == short_name; }
};

// Parses an application/problem+json body; tolerant of missing members and
// of members of the wrong type (a CA's answer is never trusted to be right).
Problem parse_problem(std::string_view body, int http_status);
// The same for a problem already parsed, e.g. an order's or a challenge's
// "error" member (re-serializing it would recurse as deep as the CA nested it).
Problem problem_from_json(const nlohmann::json& document, int http_status);

// Turns a problem into a core::Error with a message naming `what` and a hint
// for the operator. rateLimited carries retry_after from the HTTP header.
core::Error problem_to_error(const Problem& p, std::string_view what,
                             std::optional<long> retry_after_seconds);

}  // namespace certfleet::acme
