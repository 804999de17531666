// libFuzzer: what a CA sends back. One input is read as each JSON body the
// client parses (directory, account, order, authorization with its
// challenges, renewalInfo, problem document with subproblems) and as a
// Retry-After header value, and as the headers whose bytes end up in signed
// JSON, logs and terminals (Location, Replay-Nonce). Beyond "no crash, leak,
// timeout or exception", the shape guarantees the client relies on must hold.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "acme/http_answers.hpp"
#include "acme/types.hpp"
#include "core/http.hpp"
#include "core/untrusted_text.hpp"

namespace {

using namespace certfleet;

void check_problem(const acme::Problem& p, std::optional<long> retry_after) {
    const core::Error e = acme::problem_to_error(p, "fuzz", retry_after);
    const bool limited = p.is("rateLimited");
    if (limited != (e.kind == core::ErrorKind::RateLimited) || e.acme_type != p.type ||
        e.message.empty() || (!limited && e.retry_after_seconds))
        __builtin_trap();
}

void check_retry_after(std::string_view text) {
    core::HttpResponse r;
    r.headers.emplace_back("retry-after", std::string(text.substr(0, text.find('\n'))));
    const auto now = core::TimePoint(std::chrono::seconds(1'700'000'000));
    if (const auto seconds = r.retry_after(now); seconds && *seconds < 0)
        __builtin_trap();
}

// A header value the client accepts can go into a strict JSON encoder; any
// text made terminal-safe is valid UTF-8 without controls, and stays as it is.
void check_untrusted(std::string_view text) {
    const std::string line(text.substr(0, text.find('\n')));
    if (acme::detail::check_ca_url(line, "fuzz") || acme::detail::valid_nonce(line))
        (void)nlohmann::json{{"url", line}}.dump();  // throws (abort) on invalid UTF-8
    const std::string safe = core::terminal_safe(text);
    if (core::terminal_safe(safe) != safe)
        __builtin_trap();
    (void)nlohmann::json(safe).dump();
    (void)core::json_text(nlohmann::json{{"raw", std::string(text)}}, 2);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    const auto body = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);

    if (const auto d = acme::parse_directory(body))
        if (d->new_nonce.empty() || d->new_account.empty() || d->new_order.empty())
            __builtin_trap();
    (void)acme::parse_account(body);
    if (const auto o = acme::parse_order(body, "https://ca.test/order/1")) {
        if (o->url != "https://ca.test/order/1")
            __builtin_trap();
        if (o->error)
            check_problem(*o->error, std::nullopt);
    }
    if (const auto a = acme::parse_authorization(body, "https://ca.test/authz/1")) {
        (void)a->challenge("dns-01");
        if (const auto error = a->first_error())
            check_problem(*error, std::nullopt);
    }
    if (const auto info = acme::parse_renewal_info(body))
        if (info->window_end <= info->window_start)
            __builtin_trap();

    check_problem(acme::parse_problem(text, 400), 60);
    check_retry_after(text);
    check_untrusted(text);
    return 0;
}
