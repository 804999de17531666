// The powerdns provider against a scripted PowerDNS API (the edge cases the
// real server in the lab cannot be made to produce on demand: 5xx, 429 with
// Retry-After, garbage). The real server is tests/integration/powerdns_test.cpp.
#include "acme/dns/powerdns.hpp"

#include <deque>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

using namespace certfleet;
using namespace certfleet::acme::dns;
using nlohmann::json;

namespace {

// Answers from a script, records every request, and checks the API key as
// PowerDNS does (401 without the right X-API-Key).
struct ScriptedPdns final : core::HttpClient {
    std::deque<core::HttpResponse> script;  // answers after the key check, in order
    std::vector<core::HttpRequest> seen;
    core::Result<core::HttpResponse> send(const core::HttpRequest& request) override {
        seen.push_back(request);
        if (std::find(request.headers.begin(), request.headers.end(), "X-API-Key: sekrit") ==
            request.headers.end())
            return core::HttpResponse{401, {}, "Unauthorized"};
        REQUIRE_FALSE(script.empty());
        auto next = script.front();
        script.pop_front();
        return next;
    }
};

core::HttpResponse answer(int status, const std::string& body,
                          std::vector<std::pair<std::string, std::string>> headers = {}) {
    return core::HttpResponse{status, std::move(headers), body};
}

const std::string kZones =
    R"([{"id":"example.org.","name":"example.org."},{"id":"sub.example.org.","name":"sub.example.org."}])";

std::unique_ptr<DnsProvider> provider(std::shared_ptr<ScriptedPdns> api,
                                      std::string key = "sekrit") {
    PowerDnsConfig c;
    c.name = "pdns";
    c.api_url = "http://127.0.0.1:8081/";
    c.api_key = std::move(key);
    c.timeout = core::Seconds(10);
    auto made = make_powerdns_provider(c, api);
    REQUIRE(made);
    return std::move(*made);
}

ChallengeRecord rec(const std::string& fqdn, const std::string& value) {
    return {fqdn, value, "", "", ""};
}

}  // namespace

TEST_CASE("powerdns: one PATCH per zone, every value of a name together, others kept",
          "[dns][powerdns]") {
    auto api = std::make_shared<ScriptedPdns>();
    api->script = {
        answer(200, kZones),
        answer(200, R"({"rrsets":[{"name":"_acme-challenge.example.org.","type":"TXT",
                        "records":[{"content":"\"theirs\"","disabled":false}]}]})"),
        answer(204, ""),
    };
    auto p = provider(api);
    REQUIRE(p->present({rec("_acme-challenge.example.org.", "apex"),
                        rec("_acme-challenge.example.org.", "wild"),
                        rec("_acme-challenge.www.example.org.", "www")}));
    REQUIRE(api->seen.size() == 3);
    CHECK(api->seen[0].url == "http://127.0.0.1:8081/api/v1/servers/localhost/zones");
    CHECK(api->seen[1].url == "http://127.0.0.1:8081/api/v1/servers/localhost/zones/example.org.");
    CHECK(api->seen[2].method == "PATCH");
    auto rrsets = json::parse(api->seen[2].body)["rrsets"];
    REQUIRE(rrsets.size() == 2);
    CHECK(rrsets[0]["name"] == "_acme-challenge.example.org.");
    CHECK(rrsets[0]["changetype"] == "REPLACE");
    std::vector<std::string> contents;
    for (const auto& r : rrsets[0]["records"])
        contents.push_back(r["content"]);
    CHECK(contents == std::vector<std::string>{"\"apex\"", "\"theirs\"", "\"wild\""});
    CHECK(rrsets[1]["name"] == "_acme-challenge.www.example.org.");
}

TEST_CASE("powerdns: clean-up removes only our values and deletes an emptied name",
          "[dns][powerdns]") {
    auto api = std::make_shared<ScriptedPdns>();
    api->script = {
        answer(200, kZones),
        answer(200, R"({"rrsets":[
            {"name":"_acme-challenge.example.org.","type":"TXT","records":[
                {"content":"\"theirs\""},{"content":"\"apex\""}]},
            {"name":"_acme-challenge.a.sub.example.org.","type":"TXT","records":[
                {"content":"\"mine\""}]}]})"),
        answer(204, ""),
        answer(200, R"({"rrsets":[{"name":"_acme-challenge.a.sub.example.org.","type":"TXT",
                        "records":[{"content":"\"mine\""}]}]})"),
        answer(204, ""),
    };
    auto p = provider(api);
    REQUIRE(p->cleanup({rec("_acme-challenge.example.org.", "apex"),
                        rec("_acme-challenge.a.sub.example.org.", "mine")}));
    // a.sub.example.org. is in the longer zone sub.example.org.: one PATCH per zone.
    REQUIRE(api->seen.size() == 5);
    auto first = json::parse(api->seen[2].body)["rrsets"];
    CHECK(first[0]["changetype"] == "REPLACE");
    CHECK(first[0]["records"].size() == 1);
    CHECK(api->seen[3].url.ends_with("/zones/sub.example.org."));
    auto second = json::parse(api->seen[4].body)["rrsets"];
    CHECK(second[0]["changetype"] == "DELETE");

    // Nothing of ours left: no PATCH at all (a clean-up after a crash, repeated).
    api->seen.clear();
    api->script = {answer(200, kZones), answer(200, R"({"rrsets":[]})")};
    REQUIRE(p->cleanup({rec("_acme-challenge.example.org.", "apex")}));
    CHECK(api->seen.size() == 2);
}

TEST_CASE("powerdns: 5xx and 429 are tried again with backoff and Retry-After, 401 is not",
          "[dns][powerdns]") {
    auto api = std::make_shared<ScriptedPdns>();
    api->script = {
        answer(503, "busy"), answer(429, R"({"error":"slow down"})", {{"retry-after", "1"}}),
        answer(200, kZones), answer(200, R"({"rrsets":[]})"),
        answer(204, ""),
    };
    auto p = provider(api);
    const auto start = std::chrono::steady_clock::now();
    REQUIRE(p->present({rec("_acme-challenge.example.org.", "v")}));
    CHECK(std::chrono::steady_clock::now() - start >= std::chrono::milliseconds(1400));
    CHECK(api->seen.size() == 5);

    auto wrong = std::make_shared<ScriptedPdns>();
    auto failing = provider(wrong, "wrong-key");
    auto st = failing->present({rec("_acme-challenge.example.org.", "v")});
    REQUIRE_FALSE(st);
    CHECK(wrong->seen.size() == 1);
    CHECK(st.error().kind == core::ErrorKind::Config);
    CHECK(st.error().message ==
          "powerdns pdns (http://127.0.0.1:8081): list zones: HTTP 401: Unauthorized");
    CHECK(st.error().hint.find("api_key_file") != std::string::npos);
    CHECK(st.error().message.find("wrong-key") == std::string::npos);
}

TEST_CASE("powerdns: a name in no zone, garbage and bad settings", "[dns][powerdns]") {
    auto api = std::make_shared<ScriptedPdns>();
    api->script = {answer(200, kZones)};
    auto st = provider(api)->present({rec("_acme-challenge.example.net.", "v")});
    REQUIRE_FALSE(st);
    CHECK(st.error().message.find("no zone on server 'localhost' holds "
                                  "_acme-challenge.example.net. (zones: example.org., "
                                  "sub.example.org.)") != std::string::npos);

    api->script = {answer(200, "<html>not the API</html>")};
    st = provider(api)->present({rec("_acme-challenge.example.org.", "v")});
    REQUIRE_FALSE(st);
    CHECK(st.error().kind == core::ErrorKind::Protocol);

    PowerDnsConfig c;
    c.name = "pdns";
    c.api_url = "127.0.0.1:8081";
    c.api_key = "k";
    CHECK(make_powerdns_provider(c, api).error().kind == core::ErrorKind::Config);
    c.api_url = "http://127.0.0.1:8081";
    c.api_key = "";
    CHECK(make_powerdns_provider(c, api).error().message.find("API key is empty") !=
          std::string::npos);
}
