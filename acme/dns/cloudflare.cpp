// The Cloudflare API v4 with an API token. Cloudflare has no batch and no
// whole-RRset replace: each TXT value is its own record with an id, so
// present() lists a name's TXT records and POSTs only the values missing, and
// cleanup() DELETEs, by id, only the records holding one of our values. Zones
// are found in the token's zone list (the longest zone holding the name), read
// once per call and checked for every record before anything is written.
//
// Every request goes through send_with_retries (http_api.hpp), bounded by the
// call's deadline. The token goes only into the Authorization header and is
// cut out of any text the API sends back.
#include "acme/dns/cloudflare.hpp"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <map>
#include <set>
#include <string>
#include <vector>

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

// A listing longer than this is not an account we can make sense of: 5000
// zones, or 10000 TXT records at one name.
constexpr int kMaxPages = 100;
constexpr int kZonesPerPage = 50;
constexpr int kRecordsPerPage = 100;
constexpr int kIdenticalRecordExists = 81058;  // POST of a value already there

constexpr const char* kPermissionHint =
    "the API token needs Zone → DNS → Edit (and Zone → Zone → Read) on this zone only: "
    "create it at dash.cloudflare.com → My Profile → API Tokens";

struct Zone {
    std::string id;    // goes into URLs
    std::string name;  // normalized, "example.org."
};

struct TxtRecord {
    std::string id;
    std::string value;  // without the surrounding quotes Cloudflare may add
};

// Our records at one name, and the zone that holds the name.
struct NameRecords {
    const Zone* zone = nullptr;
    std::set<std::string> values;
};

std::string string_field(const Json& object, const char* key) {
    if (!object.is_object() || !object.contains(key) || !object[key].is_string())
        return "";
    return object[key].get<std::string>();
}

// Cloudflare answers TXT content as sent or wrapped in double quotes.
std::string unquoted(const std::string& content) {
    if (content.size() >= 2 && content.front() == '"' && content.back() == '"')
        return content.substr(1, content.size() - 2);
    return content;
}

// "_acme-challenge.example.org." → "_acme-challenge.example.org", as the API
// names records and zones.
std::string api_name(const std::string& fqdn) {
    return fqdn.ends_with('.') ? fqdn.substr(0, fqdn.size() - 1) : fqdn;
}

// RFC 3986 unreserved characters pass; everything else is %XX.
std::string query_escape(const std::string& text) {
    static constexpr const char* kHex = "0123456789ABCDEF";
    std::string out;
    for (const char ch : text) {
        const auto byte = static_cast<unsigned char>(ch);
        if (std::isalnum(byte) || ch == '-' || ch == '.' || ch == '_' || ch == '~') {
            out += ch;
        } else {
            out += '%';
            out += kHex[byte >> 4];
            out += kHex[byte & 0x0F];
        }
    }
    return out;
}

// The codes of a Cloudflare error body: {"errors":[{"code":N,"message":"..."}]}.
std::vector<int> error_codes(const Json& body) {
    std::vector<int> codes;
    if (body.is_object() && body.contains("errors") && body["errors"].is_array())
        for (const auto& e : body["errors"])
            if (e.is_object() && e.contains("code") && e["code"].is_number_integer())
                codes.push_back(e["code"].get<int>());
    return codes;
}

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

class CloudflareProvider final : public DnsProvider {
public:
    CloudflareProvider(CloudflareConfig config, std::shared_ptr<core::HttpClient> http)
        : m_config(std::move(config)), m_http(std::move(http)) {}

    // No lock: each value is its own record, so concurrent calls never
    // overwrite each other's values (a racing POST of one value is 81058).
    core::Status present(const std::vector<ChallengeRecord>& records) override;
    core::Status cleanup(const std::vector<ChallengeRecord>& records) override;
    core::Result<AccessCheck> check_access(const std::vector<ChallengeRecord>& records) override;
    core::Seconds timeout() const override { return m_config.timeout; }
    std::string describe() const override {
        return "cloudflare " + m_config.name + " (" + m_config.api_url + ")";
    }

private:
    core::Result<std::map<std::string, NameRecords>> group_by_name(
        const std::vector<ChallengeRecord>& records, const std::vector<Zone>& zones) const;
    core::Result<std::vector<Zone>> list_zones(Clock::time_point deadline);
    core::Result<std::vector<TxtRecord>> list_txt(const Zone& zone, const std::string& fqdn,
                                                  Clock::time_point deadline);
    core::Status add_txt(const Zone& zone, const std::string& fqdn, const std::string& value,
                         Clock::time_point deadline);
    core::Status delete_txt(const Zone& zone, const std::string& fqdn, const TxtRecord& record,
                            Clock::time_point deadline);
    core::Result<std::vector<Json>> list_all(const std::string& path, int per_page,
                                             const std::string& what, Clock::time_point deadline);
    core::Result<Json> envelope(const core::HttpResponse& response, const std::string& what) const;
    core::Result<core::HttpResponse> exchange(const std::string& method, const std::string& path,
                                              const std::string& body, const std::string& what,
                                              Clock::time_point deadline);
    core::Failure http_failure(const core::HttpResponse& response, const std::string& what) const;
    std::string api_error_text(const core::HttpResponse& response) const;

    CloudflareConfig m_config;
    std::shared_ptr<core::HttpClient> m_http;
};

// Every record's zone is found before anything is written, so a name outside
// the token's zones stops the call with nothing half done.
core::Result<std::map<std::string, NameRecords>> CloudflareProvider::group_by_name(
    const std::vector<ChallengeRecord>& records, const std::vector<Zone>& zones) const {
    std::map<std::string, NameRecords> names;
    for (const auto& r : records) {
        const std::string fqdn = normalize_fqdn(r.fqdn);
        const Zone* zone = zone_of(zones, fqdn);
        if (!zone)
            return fail(ErrorKind::Dns,
                        describe() + ": no zone the API token can see holds " + fqdn +
                            " (zones: " + zone_names(zones) + ")",
                        "the token must be allowed on that zone (Zone → DNS → Edit), or check "
                        "the domain's challenge_alias / CNAME");
        auto& entry = names[fqdn];
        entry.zone = zone;
        entry.values.insert(r.value);
    }
    return names;
}

core::Status CloudflareProvider::present(const std::vector<ChallengeRecord>& records) {
    const auto deadline = Clock::now() + m_config.timeout;
    auto zones = list_zones(deadline);
    if (!zones)
        return zones.failure();
    auto names = group_by_name(records, *zones);
    if (!names)
        return names.failure();
    for (const auto& [fqdn, ours] : *names) {
        auto existing = list_txt(*ours.zone, fqdn, deadline);
        if (!existing)
            return existing.failure();
        std::size_t added = 0;
        for (const auto& value : ours.values) {
            const bool there = std::any_of(existing->begin(), existing->end(),
                                           [&](const TxtRecord& t) { return t.value == value; });
            if (there)
                continue;  // a repeated present
            if (auto st = add_txt(*ours.zone, fqdn, value, deadline); !st)
                return st;
            ++added;
        }
        if (added > 0)
            spdlog::info("{}: added {} TXT record(s) at {} in zone {}", describe(), added, fqdn,
                         ours.zone->name);
    }
    return {};
}

// A refused token, a rate limit or a spent deadline holds for every request
// after it too: trying the rest would only add to the load.
bool stops_everything(const core::Error& error) {
    return error.kind == ErrorKind::Config || error.kind == ErrorKind::RateLimited ||
           error.kind == ErrorKind::Timeout;
}

// Goes on past a failed name or record so one bad answer does not leave the
// rest behind; the first failure is what the caller sees.
core::Status CloudflareProvider::cleanup(const std::vector<ChallengeRecord>& records) {
    const auto deadline = Clock::now() + m_config.timeout;
    auto zones = list_zones(deadline);
    if (!zones)
        return zones.failure();
    auto names = group_by_name(records, *zones);
    if (!names)
        return names.failure();
    core::Status first_failure;
    for (const auto& [fqdn, ours] : *names) {
        auto existing = list_txt(*ours.zone, fqdn, deadline);
        if (!existing) {
            if (first_failure)
                first_failure = existing.failure();
            if (stops_everything(existing.error()))
                return first_failure;
            continue;
        }
        std::size_t removed = 0;
        for (const auto& record : *existing) {
            if (!ours.values.contains(record.value))
                continue;  // someone else's value at the name
            auto st = delete_txt(*ours.zone, fqdn, record, deadline);
            if (st) {
                ++removed;
                continue;
            }
            if (first_failure)
                first_failure = st;
            if (stops_everything(st.error()))
                return first_failure;
        }
        if (removed > 0)
            spdlog::info("{}: removed {} TXT record(s) at {} in zone {}", describe(), removed, fqdn,
                         ours.zone->name);
    }
    return first_failure;
}

core::Result<AccessCheck> CloudflareProvider::check_access(
    const std::vector<ChallengeRecord>& records) {
    auto zones = list_zones(Clock::now() + m_config.timeout);
    if (!zones)
        return zones.failure();
    AccessCheck check;
    for (const auto& r : records) {
        const std::string fqdn = normalize_fqdn(r.fqdn);
        if (const Zone* zone = zone_of(*zones, fqdn))
            check.notes.push_back("zone " + zone->name + " visible for " + fqdn);
        else
            check.problems.push_back("no zone the API token can see holds " + fqdn +
                                     " (zones: " + zone_names(*zones) +
                                     "): the token must be allowed on that zone");
    }
    return check;
}

core::Result<std::vector<Zone>> CloudflareProvider::list_zones(Clock::time_point deadline) {
    auto items = list_all("/zones", kZonesPerPage, "list zones", deadline);
    if (!items)
        return items.failure();
    std::vector<Zone> zones;
    for (const auto& z : *items) {
        const std::string id = string_field(z, "id");
        const std::string name = string_field(z, "name");
        if (!id.empty() && !name.empty())
            zones.push_back({id, normalize_fqdn(name)});
    }
    return zones;
}

core::Result<std::vector<TxtRecord>> CloudflareProvider::list_txt(const Zone& zone,
                                                                  const std::string& fqdn,
                                                                  Clock::time_point deadline) {
    auto items =
        list_all("/zones/" + zone.id + "/dns_records?type=TXT&name=" + query_escape(api_name(fqdn)),
                 kRecordsPerPage, "list TXT records at " + fqdn, deadline);
    if (!items)
        return items.failure();
    std::vector<TxtRecord> records;
    for (const auto& r : *items)
        if (const std::string id = string_field(r, "id"); !id.empty())
            records.push_back({id, unquoted(string_field(r, "content"))});
    return records;
}

core::Status CloudflareProvider::add_txt(const Zone& zone, const std::string& fqdn,
                                         const std::string& value, Clock::time_point deadline) {
    const Json body{
        {"type", "TXT"}, {"name", api_name(fqdn)}, {"content", value}, {"ttl", m_config.ttl}};
    const std::string what = "add a TXT record at " + fqdn + " in zone " + zone.name;
    auto response =
        exchange("POST", "/zones/" + zone.id + "/dns_records", body.dump(), what, deadline);
    if (!response)
        return response.failure();
    if (response->status == 400) {
        const auto codes = error_codes(Json::parse(response->body, nullptr, false));
        if (std::find(codes.begin(), codes.end(), kIdenticalRecordExists) != codes.end())
            return {};  // added meanwhile by someone else (or a retried POST): what we want
    }
    if (auto json = envelope(*response, what); !json)
        return json.failure();
    return {};
}

core::Status CloudflareProvider::delete_txt(const Zone& zone, const std::string& fqdn,
                                            const TxtRecord& record, Clock::time_point deadline) {
    const std::string what =
        "delete TXT record " + record.id + " at " + fqdn + " in zone " + zone.name;
    auto response =
        exchange("DELETE", "/zones/" + zone.id + "/dns_records/" + record.id, "", what, deadline);
    if (!response)
        return response.failure();
    if (response->status == 404)
        return {};  // already gone: a concurrent or repeated clean-up
    if (auto json = envelope(*response, what); !json)
        return json.failure();
    return {};
}

// The "result" items of every page of a listing, following
// result_info.total_pages (the API caps per_page, so one page is not all).
core::Result<std::vector<Json>> CloudflareProvider::list_all(const std::string& path, int per_page,
                                                             const std::string& what,
                                                             Clock::time_point deadline) {
    const char separator = path.find('?') == std::string::npos ? '?' : '&';
    std::vector<Json> items;
    for (int page = 1;; ++page) {
        const std::string page_path = path + separator + "per_page=" + std::to_string(per_page) +
                                      "&page=" + std::to_string(page);
        auto response = exchange("GET", page_path, "", what, deadline);
        if (!response)
            return response.failure();
        auto json = envelope(*response, what);
        if (!json)
            return json.failure();
        const Json& result = (*json)["result"];
        if (!result.is_array())
            return fail(ErrorKind::Protocol, describe() + ": " + what + ": no result list");
        items.insert(items.end(), result.begin(), result.end());
        const Json& info = (*json)["result_info"];
        const int total_pages = info.is_object() && info.contains("total_pages") &&
                                        info["total_pages"].is_number_integer()
                                    ? info["total_pages"].get<int>()
                                    : page;
        if (page >= total_pages || result.empty())
            return items;
        if (page >= kMaxPages)
            return fail(ErrorKind::Protocol, describe() + ": " + what + ": more than " +
                                                 std::to_string(kMaxPages) + " pages");
    }
}

// The JSON of a 2xx answer in Cloudflare's envelope with "success": true;
// any other answer becomes the failure it stands for.
core::Result<Json> CloudflareProvider::envelope(const core::HttpResponse& response,
                                                const std::string& what) const {
    if (response.status < 200 || response.status >= 300)
        return http_failure(response, what);
    auto json = Json::parse(response.body, nullptr, false);
    if (!json.is_object())
        return fail(
            ErrorKind::Protocol, describe() + ": " + what + ": the answer is not JSON",
            "check api_url: it must point at the API (https://api.cloudflare.com/client/v4)");
    if (!json.contains("success") || json["success"] != true)
        return fail(ErrorKind::Protocol,
                    describe() + ": " + what +
                        ": the API did not report success: " + api_error_text(response));
    return json;
}

std::string CloudflareProvider::api_error_text(const core::HttpResponse& response) const {
    const auto json = Json::parse(response.body, nullptr, false);
    std::string text;
    if (json.is_object() && json.contains("errors") && json["errors"].is_array())
        for (const auto& e : json["errors"]) {
            if (!e.is_object())
                continue;
            const std::string code =
                e.contains("code") && e["code"].is_number() ? e["code"].dump() : "?";
            text +=
                (text.empty() ? "" : "; ") + ("code " + code + ": ") + string_field(e, "message");
        }
    if (text.empty())
        text = response.body;
    // The API has no reason to echo the token, but a proxy in front of it might.
    for (auto at = text.find(m_config.api_token);
         !m_config.api_token.empty() && at != std::string::npos;
         at = text.find(m_config.api_token, at))
        text.replace(at, m_config.api_token.size(), "[token]");
    return excerpt(text);
}

core::Failure CloudflareProvider::http_failure(const core::HttpResponse& response,
                                               const std::string& what) const {
    const std::string text = describe() + ": " + what + ": HTTP " +
                             std::to_string(response.status) + ": " + api_error_text(response);
    if (response.status == 401 || response.status == 403)
        return fail(ErrorKind::Config, text, kPermissionHint);
    if (response.status == 429)
        return rate_limited(response, text);
    return fail(ErrorKind::Dns, text);
}

// One request with the bearer token, tried again as send_with_retries does.
// Any final answer is returned for the caller to judge (an identical record,
// a record already gone); only a failed transport is a failure here.
core::Result<core::HttpResponse> CloudflareProvider::exchange(const std::string& method,
                                                              const std::string& path,
                                                              const std::string& body,
                                                              const std::string& what,
                                                              Clock::time_point deadline) {
    core::HttpRequest req;
    req.method = method;
    req.url = m_config.api_url + path;
    req.headers = {"Authorization: Bearer " + m_config.api_token, "Accept: application/json"};
    if (!body.empty())
        req.headers.emplace_back("Content-Type: application/json");
    req.body = body;
    return send_with_retries(*m_http, req, describe() + ": " + what, deadline);
}

bool has_space_or_control(const std::string& text) {
    return std::any_of(text.begin(), text.end(), [](char ch) {
        const auto byte = static_cast<unsigned char>(ch);
        return std::isspace(byte) || std::iscntrl(byte);
    });
}

}  // namespace

core::Result<std::unique_ptr<DnsProvider>> make_cloudflare_provider(
    CloudflareConfig config, std::shared_ptr<core::HttpClient> http) {
    const std::string who = "cloudflare provider '" + config.name + "'";
    if (!config.api_url.starts_with("http://") && !config.api_url.starts_with("https://"))
        return fail(ErrorKind::Config, who + ": api_url must start with http:// or https://");
    while (config.api_url.ends_with("/"))
        config.api_url.pop_back();
    if (config.api_token.empty())
        return fail(ErrorKind::Config, who + ": the API token is empty", "check api_token_file");
    if (has_space_or_control(config.api_token))
        return fail(ErrorKind::Config,
                    who + ": the API token contains blanks, line breaks or control characters",
                    "the token file must hold the token alone, on one line");
    if (config.ttl != 1 && (config.ttl < 60 || config.ttl > 86400))
        return fail(ErrorKind::Config,
                    who + ": ttl " + std::to_string(config.ttl) +
                        " is out of range: 1 (automatic) or 60 to 86400 seconds");
    if (!http)
        http = make_api_client(config.ca_bundle, config.timeout);
    return std::unique_ptr<DnsProvider>(
        std::make_unique<CloudflareProvider>(std::move(config), std::move(http)));
}

}  // namespace certfleet::acme::dns
