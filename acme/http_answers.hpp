// What the ACME client makes of HTTP answers ACME never gives: a redirect, a
// body that is not JSON, a transfer that failed. Each message names the URL
// and what came back, since that is all an operator has to find the fault
// (a proxy, a wrong acme.directory, a broken CA). Internal to acme/.
#pragma once

#include <optional>
#include <string>

#include "core/http.hpp"
#include "core/result.hpp"

namespace certfleet::acme::detail {

// Set when `response` is a redirect (3xx). The HTTP client never follows one
// (a loop, or a CA that sends certfleet elsewhere), so it is an error naming
// both URLs.
std::optional<core::Error> redirect_error(const core::HttpRequest& request,
                                          const core::HttpResponse& response,
                                          const std::string& what);

// A body that does not parse as JSON: status, Content-Type and how it starts.
core::Error not_json_error(const core::HttpResponse& response, const std::string& what);

// Whether a request that got no answer is worth repeating: network faults
// and timeouts are; an answer refused as hostile (too large) is not.
bool worth_retrying(const core::Error& error);

}  // namespace certfleet::acme::detail
