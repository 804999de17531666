// What the HTTP-API DNS providers (powerdns, cloudflare, route53, acme-dns)
// share, so each is only its API: the client they build unless a test gives
// one, one way of trying a request again, and the rate-limit failure.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "core/http.hpp"
#include "core/result.hpp"
#include "core/time.hpp"

namespace certfleet::acme::dns {

using ApiClock = std::chrono::steady_clock;

// libcurl with `ca_bundle` trusted on top of the system store; one request
// takes at most `request_limit` (connect and stall: 10 s at most).
std::shared_ptr<core::HttpClient> make_api_client(const std::string& ca_bundle,
                                                  core::Seconds request_limit);

struct RetryPolicy {
    int max_attempts = 3;
    std::chrono::milliseconds first_pause{500};
    // Answers to try again besides 5xx and 429 (Route 53's 400 Throttling).
    std::function<bool(const core::HttpResponse&)> also_transient;
    // Runs before every attempt (Route 53 signs each attempt anew: the
    // signature covers the time).
    std::function<void(core::HttpRequest&)> before_attempt;
};

// One API request, tried again after a network error, a 5xx or a 429 (and
// what policy.also_transient picks): at most max_attempts, pausing
// first_pause and then twice as long each time, never less than the answer's
// Retry-After, never past `deadline`. The last HTTP answer is returned,
// whatever its status, for the caller to judge; a failure only when no answer
// came (the transport's error; ErrorKind::Timeout when the deadline cut the
// tries short). `context` begins its message ("cloudflare cf (…): list zones").
core::Result<core::HttpResponse> send_with_retries(core::HttpClient& http,
                                                   core::HttpRequest request,
                                                   const std::string& context,
                                                   ApiClock::time_point deadline,
                                                   const RetryPolicy& policy = {});

bool is_success(const core::HttpResponse& response);

// An API's own words, cut to fit a one-line message.
std::string excerpt(std::string text);

// ErrorKind::RateLimited with the answer's Retry-After (else `fallback`), so
// the next run waits at least that long.
core::Failure rate_limited(const core::HttpResponse& response, const std::string& message,
                           std::optional<long> fallback_seconds = std::nullopt);

}  // namespace certfleet::acme::dns
