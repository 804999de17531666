// What the ACME client makes of HTTP answers ACME never gives: a redirect, a
// body that is not JSON, a transfer that failed. Each message names the URL
// and what came back, since that is all an operator has to find the fault
// (a proxy, a wrong acme.directory, a broken CA). Internal to acme/.
#pragma once

#include <optional>
#include <string>
#include <string_view>

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

// A URL the CA handed out (directory entries, Location headers) before it is
// used: printable ASCII only (it goes into a signed JSON header and into
// logs), and https — or http to an explicit loopback IP (127.0.0.0/8,
// [::1]), which only a CA on the manager itself can be. Protocol error
// naming `what` otherwise; the URL itself is shown only when printable.
core::Status check_ca_url(const std::string& url, const std::string& what);

// RFC 8555 §6.5.1: a Replay-Nonce is a non-empty base64url string.
bool valid_nonce(std::string_view nonce);

}  // namespace certfleet::acme::detail
