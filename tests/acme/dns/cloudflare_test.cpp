// The cloudflare provider against a local stand-in for Cloudflare's API v4
// (FakeApiServer, real HTTP through libcurl): zones and TXT records kept in
// memory, the bearer token checked exactly as Cloudflare does (403, code
// 10000), and listings capped at two items a page so the provider must follow
// result_info.total_pages. Faults (429, 5xx, garbage, 81058) are injected per
// test in front of the API.
#include "acme/dns/cloudflare.hpp"

#include <algorithm>
#include <chrono>
#include <functional>
#include <optional>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "support/fake_api_server.hpp"

using namespace certfleet;
using namespace certfleet::acme::dns;
using certfleet::test::ApiRequest;
using certfleet::test::ApiResponse;
using certfleet::test::FakeApiServer;
using nlohmann::json;

namespace {

const std::string kToken = "cf-token-Zq8xR2mWv0";
const std::string kPrefix = "/client/v4";
constexpr int kPageCap = 2;  // far below the provider's per_page: pages must be followed

std::string percent_decode(const std::string& text) {
    std::string out;
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '%' && i + 2 < text.size()) {
            out += static_cast<char>(std::stoi(text.substr(i + 1, 2), nullptr, 16));
            i += 2;
        } else {
            out += text[i];
        }
    }
    return out;
}

std::string unquoted(const std::string& s) {
    return s.size() >= 2 && s.front() == '"' && s.back() == '"' ? s.substr(1, s.size() - 2) : s;
}

ApiResponse cf_error(int status, int code, const std::string& message) {
    json body{{"success", false},
              {"errors", json::array({{{"code", code}, {"message", message}}})},
              {"messages", json::array()},
              {"result", nullptr}};
    return {status, body.dump(), {}, "application/json"};
}

ApiResponse cf_ok(const json& result, const json& result_info = nullptr) {
    json body{{"success", true},
              {"errors", json::array()},
              {"messages", json::array()},
              {"result", result}};
    if (!result_info.is_null())
        body["result_info"] = result_info;
    return {200, body.dump(), {}, "application/json"};
}

// The API subset the provider uses, kept in memory.
struct FakeCloudflare {
    struct Zone {
        std::string id;
        std::string name;  // "example.org", as Cloudflare writes it
    };
    struct Record {
        std::string id;
        std::string zone_id;
        std::string name;
        std::string content;
        int ttl = 0;
    };
    std::vector<Zone> zones;
    std::vector<Record> records;
    bool quote_on_list = false;  // answer contents as "\"value\"" (Cloudflare does either)
    int next_id = 1;
    // Asked first: an answer here replaces the API's (scripted faults).
    std::function<std::optional<ApiResponse>(const ApiRequest&)> fault;

    void add_zone(const std::string& id, const std::string& name) { zones.push_back({id, name}); }
    void add_txt(const std::string& zone_id, const std::string& name, const std::string& content) {
        records.push_back({"pre" + std::to_string(next_id++), zone_id, name, content, 300});
    }
    // The unquoted values at a name, sorted.
    std::vector<std::string> values_at(const std::string& name) const {
        std::vector<std::string> out;
        for (const auto& r : records)
            if (r.name == name)
                out.push_back(unquoted(r.content));
        std::sort(out.begin(), out.end());
        return out;
    }

    ApiResponse handle(const ApiRequest& r) {
        if (fault)
            if (auto answer = fault(r))
                return *answer;
        if (r.header("authorization") != "Bearer " + kToken)
            return cf_error(403, 10000, "Authentication error");
        if (!r.path.starts_with(kPrefix))
            return cf_error(404, 7000, "No route for that URI");
        const std::string path = r.path.substr(kPrefix.size());
        if (r.method == "GET" && path == "/zones")
            return list_zones(r);
        const std::string zones_prefix = "/zones/";
        if (!path.starts_with(zones_prefix))
            return cf_error(404, 7000, "No route for that URI");
        const std::string rest = path.substr(zones_prefix.size());
        const std::string zone_id = rest.substr(0, rest.find('/'));
        const Zone* zone = find_zone(zone_id);
        if (!zone)
            return cf_error(404, 7003, "Could not route to " + path);
        const std::string records_path = zone_id + "/dns_records";
        if (r.method == "GET" && rest == records_path)
            return list_records(r, *zone);
        if (r.method == "POST" && rest == records_path)
            return create_record(r, *zone);
        if (r.method == "DELETE" && rest.starts_with(records_path + "/"))
            return delete_record(rest.substr(records_path.size() + 1));
        return cf_error(405, 10405, "Method not allowed");
    }

private:
    const Zone* find_zone(const std::string& id) const {
        for (const auto& z : zones)
            if (z.id == id)
                return &z;
        return nullptr;
    }

    static ApiResponse page_of(const ApiRequest& r, const std::vector<json>& all) {
        const std::string asked = r.param("per_page");
        const int per_page = std::min(asked.empty() ? 20 : std::stoi(asked), kPageCap);
        const std::string page_text = r.param("page");
        const int page = page_text.empty() ? 1 : std::stoi(page_text);
        const int total = static_cast<int>(all.size());
        const int total_pages = std::max(1, (total + per_page - 1) / per_page);
        json result = json::array();
        for (int i = (page - 1) * per_page; i < std::min(total, page * per_page); ++i)
            result.push_back(all[static_cast<std::size_t>(i)]);
        json info{{"page", page},
                  {"per_page", per_page},
                  {"count", result.size()},
                  {"total_count", total},
                  {"total_pages", total_pages}};
        return cf_ok(result, info);
    }

    ApiResponse list_zones(const ApiRequest& r) const {
        std::vector<json> all;
        for (const auto& z : zones)
            all.push_back({{"id", z.id}, {"name", z.name}, {"status", "active"}});
        return page_of(r, all);
    }

    ApiResponse list_records(const ApiRequest& r, const Zone& zone) const {
        const std::string type = r.param("type");
        const std::string name = percent_decode(r.param("name"));
        std::vector<json> all;
        for (const auto& rec : records) {
            if (rec.zone_id != zone.id || (!type.empty() && type != "TXT") ||
                (!name.empty() && rec.name != name))
                continue;
            const std::string content = quote_on_list && !rec.content.starts_with('"')
                                            ? "\"" + rec.content + "\""
                                            : rec.content;
            all.push_back({{"id", rec.id},
                           {"zone_id", rec.zone_id},
                           {"type", "TXT"},
                           {"name", rec.name},
                           {"content", content},
                           {"ttl", rec.ttl}});
        }
        return page_of(r, all);
    }

    ApiResponse create_record(const ApiRequest& r, const Zone& zone) {
        auto body = json::parse(r.body, nullptr, false);
        if (!body.is_object() || body.value("type", "") != "TXT" || !body["name"].is_string() ||
            !body["content"].is_string() || !body["ttl"].is_number_integer())
            return cf_error(400, 9000, "DNS name is invalid");
        const std::string name = body["name"];
        const std::string content = body["content"];
        if (name.ends_with('.') || !(name == zone.name || name.ends_with("." + zone.name)))
            return cf_error(400, 9000, "DNS name is invalid");
        for (const auto& rec : records)
            if (rec.zone_id == zone.id && rec.name == name && unquoted(rec.content) == content)
                return cf_error(400, 81058, "An identical record already exists.");
        Record created{"rec" + std::to_string(next_id++), zone.id, name, content,
                       body["ttl"].get<int>()};
        records.push_back(created);
        return cf_ok({{"id", created.id}, {"name", name}, {"content", content}});
    }

    ApiResponse delete_record(const std::string& id) {
        const auto it = std::find_if(records.begin(), records.end(),
                                     [&](const Record& rec) { return rec.id == id; });
        if (it == records.end())
            return cf_error(404, 81044, "Record does not exist.");
        records.erase(it);
        return cf_ok({{"id", id}});
    }
};

// The fake API and its server; the server goes first (its threads use the API).
struct Lab {
    FakeCloudflare api;
    FakeApiServer server{[this](const ApiRequest& r) { return api.handle(r); }};

    std::size_t writes() const { return server.count("POST") + server.count("DELETE"); }
};

CloudflareConfig config_for(const std::string& api_url, std::string token = kToken,
                            int timeout_seconds = 5) {
    CloudflareConfig c;
    c.name = "cf";
    c.api_url = api_url;
    c.api_token = std::move(token);
    c.timeout = core::Seconds(timeout_seconds);
    return c;
}

std::unique_ptr<DnsProvider> provider(const Lab& lab, std::string token = kToken,
                                      int timeout_seconds = 5) {
    auto made = make_cloudflare_provider(
        config_for(lab.server.url(kPrefix), std::move(token), timeout_seconds));
    REQUIRE(made);
    return std::move(*made);
}

ChallengeRecord rec(const std::string& fqdn, const std::string& value) {
    return {fqdn, value, "", "", ""};
}

double seconds_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

// Answers `times` requests with `answer`, then lets the API answer.
std::function<std::optional<ApiResponse>(const ApiRequest&)> fail_first(int times,
                                                                        ApiResponse answer) {
    return [left = times,
            answer = std::move(answer)](const ApiRequest&) mutable -> std::optional<ApiResponse> {
        if (left <= 0)
            return std::nullopt;
        --left;
        return answer;
    };
}

}  // namespace

TEST_CASE("cloudflare: present then cleanup, values beside a foreign one, longest zone",
          "[dns][cloudflare]") {
    Lab lab;
    lab.api.add_zone("z-org", "example.org");
    lab.api.add_zone("z-sub", "sub.example.org");
    lab.api.add_txt("z-sub", "_acme-challenge.sub.example.org", "theirs");
    const std::vector<ChallengeRecord> records = {
        rec("_acme-challenge.sub.example.org.", "apex"),
        rec("_acme-challenge.sub.example.org.", "wild"),
        rec("_acme-challenge.www.example.org.", "www"),
    };
    auto p = provider(lab);

    REQUIRE(p->present(records));
    CHECK(lab.api.values_at("_acme-challenge.sub.example.org") ==
          std::vector<std::string>{"apex", "theirs", "wild"});
    CHECK(lab.api.values_at("_acme-challenge.www.example.org") == std::vector<std::string>{"www"});
    CHECK(lab.server.count("POST", kPrefix + "/zones/z-sub/dns_records") == 2);
    CHECK(lab.server.count("POST", kPrefix + "/zones/z-org/dns_records") == 1);
    CHECK(lab.server.count("DELETE") == 0);
    for (const auto& r : lab.server.requests()) {
        CHECK(r.header("authorization") == "Bearer " + kToken);
        if (r.method != "POST")
            continue;
        const auto body = json::parse(r.body);
        CHECK(body["type"] == "TXT");
        CHECK(body["ttl"] == 120);
        CHECK_FALSE(body["name"].get<std::string>().ends_with("."));
    }

    // Present again: every value is there, nothing is written.
    REQUIRE(p->present(records));
    CHECK(lab.server.count("POST") == 3);

    REQUIRE(p->cleanup(records));
    CHECK(lab.api.values_at("_acme-challenge.sub.example.org") ==
          std::vector<std::string>{"theirs"});
    CHECK(lab.api.values_at("_acme-challenge.www.example.org").empty());
    CHECK(lab.server.count("DELETE") == 3);
}

TEST_CASE("cloudflare: zones and TXT records over many pages", "[dns][cloudflare]") {
    Lab lab;
    lab.api.quote_on_list = true;
    for (int i = 1; i <= 6; ++i)
        lab.api.add_zone("z" + std::to_string(i), "zone" + std::to_string(i) + ".test");
    lab.api.add_zone("z-last", "example.org");  // on the 4th page of zones
    const std::string name = "_acme-challenge.example.org";
    for (int i = 1; i <= 5; ++i)
        lab.api.add_txt("z-last", name, "foreign" + std::to_string(i));
    lab.api.add_txt("z-last", name, "ours-old");  // on the 3rd page of records
    auto p = provider(lab);

    const std::vector<ChallengeRecord> records = {rec(name + ".", "ours-old"),
                                                  rec(name + ".", "ours-new")};
    REQUIRE(p->present(records));
    CHECK(lab.server.count("POST") == 1);  // ours-old was found on its page
    CHECK(lab.server.count("GET", kPrefix + "/zones/z-last/dns_records") == 3);
    for (const auto& r : lab.server.requests())
        if (r.path == kPrefix + "/zones")
            CHECK(r.param("per_page") == "50");

    REQUIRE(p->cleanup(records));
    CHECK(lab.server.count("DELETE") == 2);
    CHECK(lab.api.values_at(name) ==
          std::vector<std::string>{"foreign1", "foreign2", "foreign3", "foreign4", "foreign5"});
}

TEST_CASE("cloudflare: a wrong token is a Config failure that never shows the token",
          "[dns][cloudflare]") {
    Lab lab;
    lab.api.add_zone("z-org", "example.org");
    const std::string wrong = "wrong-token-Hk3pQ";
    auto p = provider(lab, wrong);

    auto st = p->present({rec("_acme-challenge.example.org.", "v")});
    REQUIRE_FALSE(st);
    CHECK(st.error().kind == core::ErrorKind::Config);
    CHECK(contains(st.error().message, "cloudflare cf"));
    CHECK(contains(st.error().message, "code 10000: Authentication error"));
    CHECK(contains(st.error().hint, "Zone → DNS → Edit"));
    CHECK_FALSE(contains(st.error().describe(), wrong));
    CHECK_FALSE(contains(st.error().describe(), kToken));
    CHECK(lab.server.count("GET") == 1);  // 403 is not tried again

    REQUIRE_FALSE(p->cleanup({rec("_acme-challenge.example.org.", "v")}));
    CHECK(lab.writes() == 0);
}

TEST_CASE("cloudflare: a name in no visible zone stops before any write", "[dns][cloudflare]") {
    Lab lab;
    lab.api.add_zone("z-org", "example.org");
    lab.api.add_zone("z-sub", "sub.example.org");
    auto p = provider(lab);

    auto st = p->present(
        {rec("_acme-challenge.example.org.", "v"), rec("_acme-challenge.example.net.", "w")});
    REQUIRE_FALSE(st);
    CHECK(st.error().kind == core::ErrorKind::Dns);
    CHECK(contains(st.error().message, "_acme-challenge.example.net."));
    CHECK(contains(st.error().message, "example.org., sub.example.org."));
    CHECK(contains(st.error().hint, "allowed on that zone"));
    CHECK(lab.writes() == 0);
    CHECK(lab.api.records.empty());
}

TEST_CASE("cloudflare: 429 obeys Retry-After, then gives up as RateLimited", "[dns][cloudflare]") {
    const ApiResponse limited{429, cf_error(429, 10013, "Rate limited").body, {"Retry-After: 1"}};
    Lab lab;
    lab.api.add_zone("z-org", "example.org");
    lab.api.fault = fail_first(1, limited);
    auto p = provider(lab, kToken, 3);

    auto start = std::chrono::steady_clock::now();
    REQUIRE(p->present({rec("_acme-challenge.example.org.", "v")}));
    CHECK(seconds_since(start) >= 1.0);
    CHECK(lab.api.values_at("_acme-challenge.example.org") == std::vector<std::string>{"v"});

    Lab busy;
    busy.api.fault = fail_first(1000, limited);
    auto q = provider(busy, kToken, 3);
    start = std::chrono::steady_clock::now();
    auto st = q->present({rec("_acme-challenge.example.org.", "v")});
    REQUIRE_FALSE(st);
    CHECK(seconds_since(start) < 3.0 + 2.0);
    CHECK(st.error().kind == core::ErrorKind::RateLimited);
    REQUIRE(st.error().retry_after_seconds);
    CHECK(*st.error().retry_after_seconds == 1);
    CHECK(busy.server.requests().size() <= 3);
}

TEST_CASE("cloudflare: a 5xx is tried again; garbage is a protocol error", "[dns][cloudflare]") {
    Lab lab;
    lab.api.add_zone("z-org", "example.org");
    lab.api.fault = fail_first(1, ApiResponse{500, "<html>oops</html>", {}, "text/html"});
    REQUIRE(provider(lab)->present({rec("_acme-challenge.example.org.", "v")}));
    CHECK(lab.api.values_at("_acme-challenge.example.org") == std::vector<std::string>{"v"});

    Lab garbage;
    garbage.api.fault = [](const ApiRequest&) -> std::optional<ApiResponse> {
        return ApiResponse{200, "<html>not the API</html>", {}, "text/html"};
    };
    auto st = provider(garbage)->present({rec("_acme-challenge.example.org.", "v")});
    REQUIRE_FALSE(st);
    CHECK(st.error().kind == core::ErrorKind::Protocol);
    CHECK(contains(st.error().message, "cloudflare cf"));

    Lab unsuccessful;
    unsuccessful.api.fault = [](const ApiRequest&) -> std::optional<ApiResponse> {
        auto answer = cf_error(200, 1000, "Something odd");
        return answer;
    };
    st = provider(unsuccessful)->present({rec("_acme-challenge.example.org.", "v")});
    REQUIRE_FALSE(st);
    CHECK(st.error().kind == core::ErrorKind::Protocol);
    CHECK(contains(st.error().message, "code 1000: Something odd"));
}

TEST_CASE("cloudflare: cleanup of absent records is quiet and repeatable", "[dns][cloudflare]") {
    Lab lab;
    lab.api.add_zone("z-org", "example.org");
    lab.api.add_txt("z-org", "_acme-challenge.example.org", "theirs");
    auto p = provider(lab);
    const std::vector<ChallengeRecord> records = {rec("_acme-challenge.example.org.", "never"),
                                                  rec("_acme-challenge.www.example.org.", "x")};
    REQUIRE(p->cleanup(records));
    REQUIRE(p->cleanup(records));
    CHECK(lab.writes() == 0);
    CHECK(lab.api.values_at("_acme-challenge.example.org") == std::vector<std::string>{"theirs"});
}

TEST_CASE("cloudflare: an identical record (81058) counts as added", "[dns][cloudflare]") {
    Lab lab;
    lab.api.add_zone("z-org", "example.org");
    // Another run added the value between our listing and our POST.
    lab.api.fault = [](const ApiRequest& r) -> std::optional<ApiResponse> {
        if (r.method == "POST")
            return cf_error(400, 81058, "An identical record already exists.");
        return std::nullopt;
    };
    REQUIRE(provider(lab)->present({rec("_acme-challenge.example.org.", "v")}));
    CHECK(lab.server.count("POST") == 1);
}

TEST_CASE("cloudflare: an API that is down fails within the timeout", "[dns][cloudflare]") {
    std::string dead_url;
    {
        Lab gone;
        dead_url = gone.server.url(kPrefix);
    }  // nothing listens on its port any more
    auto made = make_cloudflare_provider(config_for(dead_url, kToken, 3));
    REQUIRE(made);
    const auto start = std::chrono::steady_clock::now();
    auto st = (*made)->present({rec("_acme-challenge.example.org.", "v")});
    REQUIRE_FALSE(st);
    CHECK(seconds_since(start) < 3.0 + 2.0);
    CHECK(contains(st.error().message, "cloudflare cf"));
    CHECK(contains(st.error().message, "list zones"));
    CHECK_FALSE(contains(st.error().describe(), kToken));
}

TEST_CASE("cloudflare: check_access lists zones once and reports each name", "[dns][cloudflare]") {
    Lab lab;
    for (int i = 1; i <= 4; ++i)
        lab.api.add_zone("z" + std::to_string(i), "zone" + std::to_string(i) + ".test");
    lab.api.add_zone("z-org", "example.org");
    auto check = provider(lab)->check_access(
        {rec("_acme-challenge.example.org.", ""), rec("_acme-challenge.example.net.", "")});
    REQUIRE(check);
    CHECK(check->checked);
    REQUIRE(check->notes.size() == 1);
    CHECK(check->notes[0] == "zone example.org. visible for _acme-challenge.example.org.");
    REQUIRE(check->problems.size() == 1);
    CHECK(contains(check->problems[0], "_acme-challenge.example.net."));
    CHECK(lab.server.count("GET", kPrefix + "/zones") == 3);  // 5 zones, 2 a page
    CHECK(lab.server.requests().size() == 3);

    auto denied =
        provider(lab, "bad-token")->check_access({rec("_acme-challenge.example.org.", "")});
    REQUIRE_FALSE(denied);
    CHECK(denied.error().kind == core::ErrorKind::Config);
    CHECK(contains(denied.error().hint, "Zone → DNS → Edit"));
    CHECK(lab.writes() == 0);
}

TEST_CASE("cloudflare: settings are checked offline", "[dns][cloudflare]") {
    const std::string url = "https://api.cloudflare.com/client/v4";
    const auto error_of = [](const CloudflareConfig& c) {
        auto made = make_cloudflare_provider(c);
        REQUIRE_FALSE(made);
        CHECK(made.error().kind == core::ErrorKind::Config);
        CHECK(contains(made.error().message, "cloudflare provider 'cf'"));
        return made.error();
    };

    CHECK(contains(error_of(config_for("api.cloudflare.com/client/v4")).message, "api_url"));
    CHECK(contains(error_of(config_for(url, "")).message, "empty"));
    for (const std::string token : {"abc\ndef", "abc\r", "abc def", "abc\tdef"}) {
        const auto error = error_of(config_for(url, token));
        CHECK_FALSE(contains(error.message, token));
    }
    for (const std::uint32_t ttl : {0U, 30U, 59U, 86401U}) {
        auto c = config_for(url);
        c.ttl = ttl;
        CHECK(contains(error_of(c).message, "ttl"));
    }
    for (const std::uint32_t ttl : {1U, 60U, 120U, 86400U}) {
        auto c = config_for(url + "/");
        c.ttl = ttl;
        CHECK(make_cloudflare_provider(c));
    }
    const auto made = make_cloudflare_provider(config_for(url + "/"));
    REQUIRE(made);
    CHECK((*made)->describe() == "cloudflare cf (" + url + ")");
}

TEST_CASE("cloudflare: cleanup goes on past a failed delete and returns that failure",
          "[dns][cloudflare]") {
    Lab lab;
    lab.api.add_zone("z-org", "example.org");
    const std::vector<ChallengeRecord> records = {rec("_acme-challenge.a.example.org.", "va"),
                                                  rec("_acme-challenge.b.example.org.", "vb")};
    auto p = provider(lab);
    REQUIRE(p->present(records));
    std::string stuck_id;
    for (const auto& r : lab.api.records)
        if (r.name == "_acme-challenge.a.example.org")
            stuck_id = r.id;
    REQUIRE_FALSE(stuck_id.empty());
    lab.api.fault = [stuck_id](const ApiRequest& r) -> std::optional<ApiResponse> {
        if (r.method == "DELETE" && r.path.ends_with("/" + stuck_id))
            return cf_error(400, 1004, "DNS Validation Error");
        return std::nullopt;
    };

    auto st = p->cleanup(records);
    REQUIRE_FALSE(st);
    CHECK(st.error().kind == core::ErrorKind::Dns);
    CHECK(contains(st.error().message, "code 1004: DNS Validation Error"));
    CHECK(contains(st.error().message, "_acme-challenge.a.example.org."));
    CHECK(lab.api.values_at("_acme-challenge.a.example.org") == std::vector<std::string>{"va"});
    CHECK(lab.api.values_at("_acme-challenge.b.example.org").empty());
}
