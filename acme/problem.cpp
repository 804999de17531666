#include "acme/problem.hpp"

#include <nlohmann/json.hpp>

namespace certfleet::acme {

namespace {
constexpr std::string_view kAcmePrefix = "urn:ietf:params:acme:error:";

// nlohmann's value() throws when the member has another type; a CA's
// {"detail": 42} must not turn into an exception.
std::string string_member(const nlohmann::json& j, const char* key, const char* fallback = "") {
    auto it = j.find(key);
    return it != j.end() && it->is_string() ? it->get<std::string>() : std::string(fallback);
}

std::string hint_for(const Problem& p) {
    const std::string t = p.short_type();
    if (t == "rateLimited")
        return "the CA's rate limit was reached; certfleet will not retry before the time it gave";
    if (t == "unauthorized" || t == "incorrectResponse" || t == "dns")
        return "check that the _acme-challenge TXT record is published in the zone the CA queries "
               "(CNAME delegation, challenge_alias, provider credentials)";
    if (t == "externalAccountRequired")
        return "this CA requires External Account Binding: set acme.eab.kid and "
               "acme.eab.hmac_key_file";
    if (t == "userActionRequired")
        return "the CA asks for action: open its terms of service / instance URL";
    if (t == "rejectedIdentifier")
        return "the CA will not issue for this name; remove it from the certificate's domains";
    if (t == "accountDoesNotExist")
        return "no account exists for this key at the CA; set acme.accept_terms to register one";
    if (t == "badCSR")
        return "the CA refused the CSR; check the certificate's key type and domains";
    if (t == "caa")
        return "a CAA record forbids this CA for the domain; update CAA or use another CA";
    if (t == "serverInternal")
        return "the CA had an internal error; certfleet will retry on the next run";
    return {};
}
}  // namespace

std::string Problem::short_type() const {
    if (std::string_view(type).starts_with(kAcmePrefix))
        return type.substr(kAcmePrefix.size());
    return type;
}

Problem parse_problem(std::string_view body, int http_status) {
    const auto j = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
    if (j.is_object())
        return problem_from_json(j, http_status);
    Problem p;
    p.status = http_status;
    p.type = "about:blank";
    std::string snippet(body.substr(0, 200));
    p.detail =
        "HTTP " + std::to_string(http_status) + (snippet.empty() ? std::string() : ": " + snippet);
    return p;
}

Problem problem_from_json(const nlohmann::json& document, int http_status) {
    Problem p;
    p.status = http_status;
    p.type = string_member(document, "type", "about:blank");
    p.detail = string_member(document, "detail");
    if (auto it = document.find("status"); it != document.end() && it->is_number_integer())
        p.status = it->get<int>();
    if (auto it = document.find("subproblems"); it != document.end() && it->is_array()) {
        for (const auto& s : *it) {
            if (!s.is_object())
                continue;
            Problem::Sub sub;
            sub.type = string_member(s, "type");
            sub.detail = string_member(s, "detail");
            if (auto id = s.find("identifier"); id != s.end())
                sub.identifier = string_member(*id, "value");
            p.subproblems.push_back(std::move(sub));
        }
    }
    return p;
}

core::Error problem_to_error(const Problem& p, std::string_view what,
                             std::optional<long> retry_after_seconds) {
    std::string message = std::string(what) + ": the CA answered " + p.short_type();
    if (!p.detail.empty())
        message += ": " + p.detail;
    for (const auto& s : p.subproblems) {
        message += "; ";
        if (!s.identifier.empty())
            message += s.identifier + ": ";
        message += s.detail.empty() ? s.type : s.detail;
    }
    core::Error e =
        core::make_error(p.is("rateLimited") ? core::ErrorKind::RateLimited : core::ErrorKind::Acme,
                         message, hint_for(p));
    e.acme_type = p.type;
    if (p.is("rateLimited"))
        e.retry_after_seconds = retry_after_seconds;
    return e;
}

}  // namespace certfleet::acme
