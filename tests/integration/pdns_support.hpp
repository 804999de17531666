// The lab's PowerDNS API spoken directly (not through certfleet's providers):
// what tests read and set in the zone pdns.example.net behind certfleet's back,
// and what the local stand-ins of hosted DNS APIs (Cloudflare, Route 53,
// acme-dns) publish into, so pebble can validate what they were told. No
// Catch assertions inside: the stand-ins call it from their server threads,
// where Catch must not be used; callers check the results.
#pragma once

#include <algorithm>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/http.hpp"
#include "lab.hpp"

namespace certfleet::testing {

struct PdnsApi {
    const Lab& lab = Lab::get();
    core::CurlHttpClient http{core::HttpOptions{}};

    core::HttpResponse send(const std::string& method, const std::string& body = "") {
        core::HttpRequest req;
        req.method = method;
        req.url =
            lab.value("LAB_PDNS_API_URL") + "/api/v1/servers/localhost/zones/pdns.example.net.";
        req.headers = {"X-API-Key: " + read_file(lab.value("LAB_PDNS_API_KEY_FILE")),
                       "Content-Type: application/json"};
        req.body = body;
        auto response = http.send(req);
        return response ? *response : core::HttpResponse{};  // status 0: no answer
    }
    // The TXT values at `name` (quotes removed), sorted.
    std::vector<std::string> txt(const std::string& name) {
        const auto zone = nlohmann::json::parse(send("GET").body, nullptr, false);
        std::vector<std::string> values;
        if (!zone.is_object() || !zone.contains("rrsets"))
            return {"(PowerDNS API unreadable)"};
        for (const auto& rrset : zone["rrsets"])
            if (rrset["name"] == name && rrset["type"] == "TXT")
                for (const auto& r : rrset["records"]) {
                    std::string v = r["content"];
                    values.push_back(v.substr(1, v.size() - 2));
                }
        std::sort(values.begin(), values.end());
        return values;
    }
    bool set_txt(const std::string& name, const std::vector<std::string>& values) {
        std::vector<std::string> quoted;
        for (const auto& v : values)
            quoted.push_back("\"" + v + "\"");
        return set(name, "TXT", quoted);
    }
    // One RRset replaced (no values: deleted); false when PowerDNS refused.
    bool set(const std::string& name, const std::string& type,
             const std::vector<std::string>& contents) {
        nlohmann::json rrset{{"name", name}, {"type", type}};
        if (contents.empty()) {
            rrset["changetype"] = "DELETE";
        } else {
            rrset["changetype"] = "REPLACE";
            rrset["ttl"] = 60;
            for (const auto& c : contents)
                rrset["records"].push_back({{"content", c}, {"disabled", false}});
        }
        return send("PATCH", nlohmann::json{{"rrsets", {rrset}}}.dump()).status == 204;
    }
};

}  // namespace certfleet::testing
