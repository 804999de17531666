#include "acme/types.hpp"

namespace certfleet::acme {

using nlohmann::json;

namespace {
std::string str(const json& j, const char* key) {
    auto it = j.find(key);
    return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::optional<Problem> problem_member(const json& j) {
    auto it = j.find("error");
    if (it == j.end() || !it->is_object())
        return std::nullopt;
    return problem_from_json(*it, 0);
}

core::Failure garbage(const std::string& what) {
    return core::fail(core::ErrorKind::Protocol, "the CA sent a malformed " + what,
                      "check acme.directory points at an ACME server");
}
}  // namespace

const Challenge* Authorization::challenge(std::string_view type) const {
    for (const auto& c : challenges)
        if (c.type == type)
            return &c;
    return nullptr;
}

std::optional<Problem> Authorization::first_error() const {
    for (const auto& c : challenges)
        if (c.error)
            return c.error;
    return std::nullopt;
}

core::Result<Directory> parse_directory(const json& j) {
    if (!j.is_object())
        return garbage("directory");
    Directory d;
    d.new_nonce = str(j, "newNonce");
    d.new_account = str(j, "newAccount");
    d.new_order = str(j, "newOrder");
    d.revoke_cert = str(j, "revokeCert");
    d.key_change = str(j, "keyChange");
    d.renewal_info = str(j, "renewalInfo");
    if (d.new_nonce.empty() || d.new_account.empty() || d.new_order.empty())
        return garbage("directory (newNonce, newAccount or newOrder missing)");
    // contains()/at() rather than find() iterators: GCC 12 at -O3 reports a
    // false -Wnull-dereference inside nlohmann's iterators here.
    if (j.contains("meta") && j.at("meta").is_object()) {
        const json& meta = j.at("meta");
        d.terms_of_service = str(meta, "termsOfService");
        if (meta.contains("externalAccountRequired") &&
            meta.at("externalAccountRequired").is_boolean())
            d.external_account_required = meta.at("externalAccountRequired").get<bool>();
        if (meta.contains("profiles") && meta.at("profiles").is_object())
            for (const auto& item : meta.at("profiles").items())
                d.profiles.push_back(item.key());
    }
    return d;
}

Account parse_account(const json& j) {
    Account a;
    if (j.is_object())
        a.status = str(j, "status");
    return a;
}

core::Result<Order> parse_order(const json& j, std::string url) {
    if (!j.is_object() || !j.contains("status"))
        return garbage("order");
    Order o;
    o.url = std::move(url);
    o.status = str(j, "status");
    o.finalize = str(j, "finalize");
    o.certificate = str(j, "certificate");
    o.error = problem_member(j);
    if (auto ids = j.find("identifiers"); ids != j.end() && ids->is_array())
        for (const auto& id : *ids)
            if (id.is_object())
                o.identifiers.push_back({str(id, "type"), str(id, "value")});
    if (auto az = j.find("authorizations"); az != j.end() && az->is_array())
        for (const auto& a : *az)
            if (a.is_string())
                o.authorizations.push_back(a.get<std::string>());
    return o;
}

core::Result<Authorization> parse_authorization(const json& j, std::string url) {
    if (!j.is_object() || !j.contains("status"))
        return garbage("authorization");
    Authorization a;
    a.url = std::move(url);
    a.status = str(j, "status");
    if (auto id = j.find("identifier"); id != j.end() && id->is_object())
        a.identifier = {str(*id, "type"), str(*id, "value")};
    if (auto w = j.find("wildcard"); w != j.end() && w->is_boolean())
        a.wildcard = w->get<bool>();
    if (auto cs = j.find("challenges"); cs != j.end() && cs->is_array()) {
        for (const auto& c : *cs) {
            if (!c.is_object())
                continue;
            a.challenges.push_back({str(c, "type"), str(c, "url"), str(c, "status"),
                                    str(c, "token"), problem_member(c)});
        }
    }
    return a;
}

core::Result<RenewalInfo> parse_renewal_info(const json& j) {
    if (!j.is_object())
        return garbage("renewalInfo (not a JSON object)");
    auto w = j.find("suggestedWindow");
    if (w == j.end() || !w->is_object())
        return garbage("renewalInfo (no suggestedWindow)");
    auto start = core::parse_rfc3339(str(*w, "start"));
    auto end = core::parse_rfc3339(str(*w, "end"));
    if (!start || !end)
        return garbage("renewalInfo (suggestedWindow start or end missing or not RFC 3339)");
    if (*end <= *start)
        return garbage("renewalInfo (suggestedWindow ends at or before its start)");
    RenewalInfo info;
    info.window_start = *start;
    info.window_end = *end;
    info.explanation_url = str(j, "explanationURL");
    return info;
}

}  // namespace certfleet::acme
