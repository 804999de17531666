#include "acme/dns/http_api.hpp"

#include <algorithm>
#include <thread>

namespace certfleet::acme::dns {

using core::ErrorKind;
using core::fail;
using std::chrono::milliseconds;

namespace {
constexpr std::size_t kMaxErrorText = 300;
}  // namespace

std::shared_ptr<core::HttpClient> make_api_client(const std::string& ca_bundle,
                                                  core::Seconds request_limit) {
    core::HttpOptions options;
    options.ca_bundle = ca_bundle;
    options.total_timeout = request_limit;
    options.connect_timeout = std::min(request_limit, core::Seconds(10));
    options.stall_timeout = std::min(request_limit, core::Seconds(10));
    return std::make_shared<core::CurlHttpClient>(options);
}

bool is_success(const core::HttpResponse& response) {
    return response.status >= 200 && response.status < 300;
}

core::Result<core::HttpResponse> send_with_retries(core::HttpClient& http,
                                                   core::HttpRequest request,
                                                   const std::string& context,
                                                   ApiClock::time_point deadline,
                                                   const RetryPolicy& policy) {
    milliseconds pause = policy.first_pause;
    for (int attempt = 1;; ++attempt) {
        // Callers that go on past failures (a clean-up) still end in time.
        if (ApiClock::now() >= deadline)
            return fail(ErrorKind::Timeout, context + ": no time left (the provider's timeout)");
        if (policy.before_attempt)
            policy.before_attempt(request);
        auto response = http.send(request);
        const bool transient = !response || response->status >= 500 || response->status == 429 ||
                               (policy.also_transient && policy.also_transient(*response));
        if (response && !transient)
            return response;
        if (response) {
            if (auto after = response->retry_after(core::SystemClock().now()))
                pause = std::max(pause, milliseconds(*after * 1000));
        }
        const bool out_of_time = ApiClock::now() + pause >= deadline;
        if (attempt >= policy.max_attempts || out_of_time) {
            if (response)
                return response;
            return fail(out_of_time ? ErrorKind::Timeout : response.error().kind,
                        context + ": " + response.error().message, response.error().hint);
        }
        std::this_thread::sleep_for(pause);
        pause *= 2;
    }
}

std::string excerpt(std::string text) {
    if (text.size() > kMaxErrorText)
        text = text.substr(0, kMaxErrorText) + "…";
    return text;
}

core::Failure rate_limited(const core::HttpResponse& response, const std::string& message,
                           std::optional<long> fallback_seconds) {
    auto failure = fail(ErrorKind::RateLimited, message, "the next run tries again");
    const auto after = response.retry_after(core::SystemClock().now());
    failure.error.retry_after_seconds = after ? after : fallback_seconds;
    return failure;
}

}  // namespace certfleet::acme::dns
