#include "acme/dns/powerdns.hpp"

#include <algorithm>
#include <chrono>
#include <map>
#include <mutex>
#include <set>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "acme/dns/http_api.hpp"
#include "acme/dns/names.hpp"

namespace certfleet::acme::dns {
namespace {

using core::ErrorKind;
using core::fail;
using Clock = ApiClock;
using Json = nlohmann::json;

// A zone as the API lists it: `id` goes into URLs, `name` is matched.
struct Zone {
    std::string id;
    std::string name;  // normalized, "example.org."
};

// TXT record content as PowerDNS stores it: the value in double quotes.
std::string quoted(const std::string& value) {
    return "\"" + value + "\"";
}

// The API's own words for a failed request: {"error": "..."} or the body.
std::string api_error_text(const core::HttpResponse& response) {
    auto json = Json::parse(response.body, nullptr, false);
    std::string text = json.is_object() && json.contains("error") && json["error"].is_string()
                           ? json["error"].get<std::string>()
                           : response.body;
    return excerpt(text);
}

class PowerDnsProvider final : public DnsProvider {
public:
    PowerDnsProvider(PowerDnsConfig config, std::shared_ptr<core::HttpClient> http)
        : m_config(std::move(config)), m_http(std::move(http)) {}

    core::Status present(const std::vector<ChallengeRecord>& records) override {
        return change(records, true);
    }
    core::Status cleanup(const std::vector<ChallengeRecord>& records) override {
        return change(records, false);
    }
    core::Seconds timeout() const override { return m_config.timeout; }
    std::string describe() const override {
        return "powerdns " + m_config.name + " (" + m_config.api_url + ")";
    }
    core::Result<AccessCheck> check_access(const std::vector<ChallengeRecord>& records) override;

private:
    core::Status change(const std::vector<ChallengeRecord>& records, bool add);
    core::Result<std::vector<Zone>> list_zones(Clock::time_point deadline);
    core::Result<std::map<std::string, std::set<std::string>>> txt_values(
        const Zone& zone, Clock::time_point deadline);
    core::Status patch_zone(const Zone& zone,
                            const std::map<std::string, std::set<std::string>>& want,
                            Clock::time_point deadline);
    core::Result<core::HttpResponse> request(const std::string& method, const std::string& path,
                                             const std::string& body, const std::string& what,
                                             Clock::time_point deadline);
    core::Failure http_failure(const core::HttpResponse& response, const std::string& what) const;

    PowerDnsConfig m_config;
    std::shared_ptr<core::HttpClient> m_http;
    // present/cleanup read a name's values and write them back: one at a time.
    std::mutex m_mutex;
};

// The zone holding `fqdn`: the longest listed zone it is inside of.
const Zone* zone_of(const std::vector<Zone>& zones, const std::string& fqdn) {
    const Zone* best = nullptr;
    for (const auto& z : zones)
        if (name_is_subdomain_of(fqdn, z.name) && (!best || z.name.size() > best->name.size()))
            best = &z;
    return best;
}

std::string zone_names(const std::vector<Zone>& zones) {
    std::string out;
    for (const auto& z : zones)
        out += (out.empty() ? "" : ", ") + z.name;
    return out.empty() ? "none" : out;
}

core::Status PowerDnsProvider::change(const std::vector<ChallengeRecord>& records, bool add) {
    std::lock_guard lock(m_mutex);
    const auto deadline = Clock::now() + m_config.timeout;
    auto zones = list_zones(deadline);
    if (!zones)
        return zones.failure();
    std::map<const Zone*, std::map<std::string, std::set<std::string>>>
        ours;  // zone → name → values
    for (const auto& r : records) {
        const std::string fqdn = normalize_fqdn(r.fqdn);
        const Zone* zone = zone_of(*zones, fqdn);
        if (!zone)
            return fail(ErrorKind::Dns,
                        describe() + ": no zone on server '" + m_config.server_id + "' holds " +
                            fqdn + " (zones: " + zone_names(*zones) + ")",
                        "create the zone in PowerDNS, or check server_id and the domain's "
                        "challenge_alias / CNAME");
        ours[zone][fqdn].insert(r.value);
    }
    for (const auto& [zone, names] : ours) {
        auto current = txt_values(*zone, deadline);
        if (!current)
            return current.failure();
        std::map<std::string, std::set<std::string>> want;
        for (const auto& [fqdn, values] : names) {
            std::set<std::string> keep = (*current)[fqdn];
            for (const auto& v : values)
                add ? (void)keep.insert(v) : (void)keep.erase(v);
            if (keep != (*current)[fqdn])
                want[fqdn] = std::move(keep);
        }
        if (want.empty())
            continue;  // already as wanted (a cleanup after a crash, a repeated present)
        if (auto st = patch_zone(*zone, want, deadline); !st)
            return st;
        spdlog::info("{}: {} the TXT records at {} name(s) in zone {}", describe(),
                     add ? "added" : "removed", want.size(), zone->name);
    }
    return {};
}

// One GET of the zone list: the key works, and each name has its zone.
core::Result<AccessCheck> PowerDnsProvider::check_access(
    const std::vector<ChallengeRecord>& records) {
    auto zones = list_zones(Clock::now() + m_config.timeout);
    if (!zones)
        return zones.failure();
    AccessCheck check;
    for (const auto& r : records) {
        const std::string fqdn = normalize_fqdn(r.fqdn);
        if (const Zone* zone = zone_of(*zones, fqdn))
            check.notes.push_back("zone " + zone->name + " holds " + fqdn);
        else
            check.problems.push_back("no zone on server '" + m_config.server_id + "' holds " +
                                     fqdn + " (zones: " + zone_names(*zones) + ")");
    }
    return check;
}

core::Result<std::vector<Zone>> PowerDnsProvider::list_zones(Clock::time_point deadline) {
    auto response = request("GET", "/zones", "", "list zones", deadline);
    if (!response)
        return response.failure();
    auto json = Json::parse(response->body, nullptr, false);
    if (!json.is_array())
        return fail(ErrorKind::Protocol, describe() + ": list zones: the answer is not a JSON list",
                    "check api_url: it must point at the PowerDNS API (without /api/v1)");
    std::vector<Zone> zones;
    for (const auto& z : json)
        if (z.is_object() && z.contains("id") && z["id"].is_string() && z.contains("name") &&
            z["name"].is_string())
            zones.push_back(
                {z["id"].get<std::string>(), normalize_fqdn(z["name"].get<std::string>())});
    return zones;
}

// Every TXT value at every name of the zone, unquoted.
core::Result<std::map<std::string, std::set<std::string>>> PowerDnsProvider::txt_values(
    const Zone& zone, Clock::time_point deadline) {
    auto response = request("GET", "/zones/" + zone.id, "", "read zone " + zone.name, deadline);
    if (!response)
        return response.failure();
    auto json = Json::parse(response->body, nullptr, false);
    if (!json.is_object() || !json.contains("rrsets") || !json["rrsets"].is_array())
        return fail(ErrorKind::Protocol,
                    describe() + ": read zone " + zone.name + ": no rrsets in the answer");
    std::map<std::string, std::set<std::string>> out;
    for (const auto& rrset : json["rrsets"]) {
        if (!rrset.is_object() || rrset.value("type", "") != "TXT" || !rrset.contains("records"))
            continue;
        auto& values = out[normalize_fqdn(rrset.value("name", ""))];
        for (const auto& rec : rrset["records"]) {
            std::string content = rec.is_object() ? rec.value("content", "") : "";
            if (content.size() >= 2 && content.front() == '"' && content.back() == '"')
                content = content.substr(1, content.size() - 2);
            values.insert(content);
        }
    }
    return out;
}

core::Status PowerDnsProvider::patch_zone(const Zone& zone,
                                          const std::map<std::string, std::set<std::string>>& want,
                                          Clock::time_point deadline) {
    Json rrsets = Json::array();
    for (const auto& [fqdn, values] : want) {
        Json rrset{{"name", fqdn}, {"type", "TXT"}};
        if (values.empty()) {
            rrset["changetype"] = "DELETE";
        } else {
            rrset["changetype"] = "REPLACE";
            rrset["ttl"] = m_config.ttl;
            Json recs = Json::array();
            for (const auto& v : values)
                recs.push_back({{"content", quoted(v)}, {"disabled", false}});
            rrset["records"] = recs;
        }
        rrsets.push_back(rrset);
    }
    auto response = request("PATCH", "/zones/" + zone.id, Json{{"rrsets", rrsets}}.dump(),
                            "update zone " + zone.name, deadline);
    if (!response)
        return response.failure();
    return {};
}

core::Failure PowerDnsProvider::http_failure(const core::HttpResponse& response,
                                             const std::string& what) const {
    const std::string text = describe() + ": " + what + ": HTTP " +
                             std::to_string(response.status) + ": " + api_error_text(response);
    if (response.status == 401 || response.status == 403)
        return fail(ErrorKind::Config, text,
                    "check api_key_file: the key must match the server's api-key setting (PowerDNS "
                    "keys are not scoped: use a server of its own or a proxy to limit one)");
    if (response.status == 404)
        return fail(ErrorKind::Dns, text, "check api_url and server_id (usually \"localhost\")");
    if (response.status == 429)
        return rate_limited(response, text);
    return fail(ErrorKind::Dns, text);
}

// One API request with X-API-Key, tried again as send_with_retries does; a
// final answer other than 2xx is this provider's failure.
core::Result<core::HttpResponse> PowerDnsProvider::request(const std::string& method,
                                                           const std::string& path,
                                                           const std::string& body,
                                                           const std::string& what,
                                                           Clock::time_point deadline) {
    core::HttpRequest req;
    req.method = method;
    req.url = m_config.api_url + "/api/v1/servers/" + m_config.server_id + path;
    req.headers = {"X-API-Key: " + m_config.api_key, "Accept: application/json"};
    if (!body.empty())
        req.headers.push_back("Content-Type: application/json");
    req.body = body;
    auto response = send_with_retries(*m_http, req, describe() + ": " + what, deadline);
    if (response && !is_success(*response))
        return http_failure(*response, what);
    return response;
}

}  // namespace

core::Result<std::unique_ptr<DnsProvider>> make_powerdns_provider(
    PowerDnsConfig config, std::shared_ptr<core::HttpClient> http) {
    const std::string who = "powerdns provider '" + config.name + "'";
    if (!config.api_url.starts_with("http://") && !config.api_url.starts_with("https://"))
        return fail(ErrorKind::Config, who + ": api_url must start with http:// or https://");
    while (config.api_url.ends_with("/"))
        config.api_url.pop_back();
    if (config.api_key.empty())
        return fail(ErrorKind::Config, who + ": the API key is empty", "check api_key_file");
    if (config.server_id.empty() || config.server_id.find('/') != std::string::npos)
        return fail(ErrorKind::Config, who + ": server_id must be a name like \"localhost\"");
    if (!http)
        http = make_api_client(config.ca_bundle, config.timeout);
    return std::unique_ptr<DnsProvider>(
        std::make_unique<PowerDnsProvider>(std::move(config), std::move(http)));
}

}  // namespace certfleet::acme::dns
