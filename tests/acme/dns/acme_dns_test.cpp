// The acme-dns provider against a local acme-dns (FakeApiServer over real
// HTTP): registrations, the two latest TXT values per subdomain, credentials
// checked exactly as acme-dns does, and the faults a real server cannot be
// made to produce on demand (5xx, 429 with Retry-After, garbage, down).
#include "acme/dns/acme_dns.hpp"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "core/fs.hpp"
#include "support/fake_api_server.hpp"
#include "support/temp_files.hpp"

using namespace certfleet;
using namespace certfleet::acme::dns;
using certfleet::test::ApiRequest;
using certfleet::test::ApiResponse;
using certfleet::test::FakeApiServer;
using nlohmann::json;

namespace {

using SteadyClock = std::chrono::steady_clock;

bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

// A challenge value as ACME makes it: 43 base64url characters.
std::string txt(char c) {
    return std::string(43, c);
}

ApiResponse answer(int status, std::string body) {
    return {status, std::move(body), {}, "application/json"};
}

bool is_base64url(const std::string& text) {
    return std::all_of(text.begin(), text.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
    });
}

// acme-dns as far as the provider uses it.
class FakeAcmeDns {
public:
    using Intercept = std::function<std::optional<ApiResponse>(const ApiRequest&)>;

    ApiResponse handle(const ApiRequest& r) {
        std::lock_guard lock(m_mutex);
        if (m_intercept) {
            if (auto answer = m_intercept(r))
                return *answer;
        }
        if (r.method == "GET" && r.path == "/health")
            return {200, "", {}, "text/plain"};
        if (r.method == "POST" && r.path == "/register")
            return do_register(r);
        if (r.method == "POST" && r.path == "/update")
            return do_update(r);
        return answer(404, R"({"error":"not_found"})");
    }
    // Answers put before the API's own (nullopt: the API answers).
    void intercept(Intercept intercept) {
        std::lock_guard lock(m_mutex);
        m_intercept = std::move(intercept);
    }
    std::deque<std::string> values(const std::string& subdomain) const {
        std::lock_guard lock(m_mutex);
        auto it = m_txt.find(subdomain);
        return it == m_txt.end() ? std::deque<std::string>{} : it->second;
    }

private:
    struct Account {
        std::string password;
        std::string subdomain;
    };

    ApiResponse do_register(const ApiRequest& r) {
        if (!r.body.empty()) {
            auto body = json::parse(r.body, nullptr, false);
            if (!body.is_object() || !body["allowfrom"].is_array())
                return answer(400, R"({"error":"malformed_json_payload"})");
        }
        const std::string n = std::to_string(++m_registered);
        const std::string uuid = "a0000000-0000-4000-8000-00000000000" + n;
        const std::string user = "u0000000-0000-4000-8000-00000000000" + n;
        const std::string password = "Pw" + n + std::string(37, 'x');
        m_accounts[user] = {password, uuid};
        return answer(201, json{{"username", user},
                                {"password", password},
                                {"fulldomain", uuid + ".auth.example.net"},
                                {"subdomain", uuid},
                                {"allowfrom", json::array()}}
                               .dump());
    }

    // Credentials checked exactly; the two latest values kept, as acme-dns does.
    ApiResponse do_update(const ApiRequest& r) {
        auto account = m_accounts.find(r.header("x-api-user"));
        if (account == m_accounts.end() || account->second.password != r.header("x-api-key"))
            return answer(401, R"({"error":"unauthorized"})");
        auto body = json::parse(r.body, nullptr, false);
        if (!body.is_object() || !body["subdomain"].is_string() || !body["txt"].is_string())
            return answer(400, R"({"error":"malformed_json_payload"})");
        if (body["subdomain"] != account->second.subdomain)
            return answer(400, R"({"error":"bad_subdomain"})");
        const std::string value = body["txt"];
        if (value.size() != 43 || !is_base64url(value))
            return answer(400, R"({"error":"bad_txt"})");
        auto& kept = m_txt[account->second.subdomain];
        kept.push_back(value);
        if (kept.size() > 2)
            kept.pop_front();
        return answer(200, json{{"txt", value}}.dump());
    }

    mutable std::mutex m_mutex;
    Intercept m_intercept;
    std::map<std::string, Account> m_accounts;
    std::map<std::string, std::deque<std::string>> m_txt;
    int m_registered = 0;
};

// A fake acme-dns, its server and a storage directory.
struct Lab {
    testing::TempDir tmp;
    FakeAcmeDns api;
    FakeApiServer server{[this](const ApiRequest& r) { return api.handle(r); }};
    std::string storage = tmp / "acme-dns/main";

    std::unique_ptr<DnsProvider> provider(std::vector<std::string> allow_from = {},
                                          core::Seconds timeout = core::Seconds(10)) const {
        AcmeDnsConfig c;
        c.name = "main";
        c.api_url = server.url("/");
        c.storage_dir = storage;
        c.allow_from = std::move(allow_from);
        c.timeout = timeout;
        auto made = make_acme_dns_provider(c);
        REQUIRE(made);
        return std::move(*made);
    }
    std::string describe() const { return "acme-dns main (" + server.url() + ")"; }
    std::string file(const std::string& domain) const { return storage + "/" + domain + ".json"; }
    AcmeDnsRegistration registration(const std::string& domain) const {
        auto loaded = load_acme_dns_registration(storage, domain);
        REQUIRE(loaded);
        REQUIRE(*loaded);
        return **loaded;
    }
    // The challenge name once the CNAME is in place (the caller followed it).
    std::string target(const std::string& domain) const {
        return registration(domain).fulldomain + ".";
    }
    // Registers the domains (the first present fails, asking for the CNAMEs).
    void register_domains(const std::vector<std::string>& domains) const {
        std::vector<ChallengeRecord> records;
        for (const auto& d : domains)
            records.push_back({"_acme-challenge." + d + ".", txt('R'), d, "", ""});
        REQUIRE_FALSE(provider()->present(records));
    }
};

ChallengeRecord rec(const std::string& fqdn, const std::string& value, const std::string& domain) {
    return {fqdn, value, domain, "", ""};
}

double seconds_since(SteadyClock::time_point start) {
    return std::chrono::duration<double>(SteadyClock::now() - start).count();
}

}  // namespace

TEST_CASE("acme-dns: the first present registers and asks for the CNAME, the next updates",
          "[dns][acme-dns]") {
    testing::UmaskGuard umask(0);  // the modes must not depend on the umask
    Lab lab;
    auto p = lab.provider({"192.0.2.0/24"});
    const std::vector<ChallengeRecord> first = {
        rec("_acme-challenge.example.org.", txt('A'), "example.org"),
        rec("_acme-challenge.example.org.", txt('B'), "example.org")};
    auto st = p->present(first);
    REQUIRE_FALSE(st);
    CHECK(lab.server.count("POST", "/register") == 1);
    CHECK(lab.server.count("POST", "/update") == 0);
    CHECK(json::parse(lab.server.requests()[0].body) == json{{"allowfrom", {"192.0.2.0/24"}}});

    const AcmeDnsRegistration reg = lab.registration("example.org");
    CHECK(reg.server_url == lab.server.url());
    CHECK(testing::mode_of(lab.file("example.org")) == 0600);
    CHECK(testing::mode_of(lab.storage) == 0700);
    CHECK(testing::mode_of(lab.tmp / "acme-dns") == 0700);
    CHECK(st.error().kind == core::ErrorKind::Config);
    CHECK(st.error().message == lab.describe() +
                                    ": registered example.org with acme-dns; add the DNS record  "
                                    "_acme-challenge.example.org. CNAME " +
                                    reg.fulldomain + ".  and issue again");
    CHECK(contains(st.error().hint, "certfleet validate --online"));
    CHECK_FALSE(contains(st.error().describe(), reg.password));
    CHECK(acme_dns_cname_record("Example.ORG.", reg) ==
          "_acme-challenge.example.org. CNAME " + reg.fulldomain + ".");

    // The same batch again, the CNAME still missing: no second registration.
    CHECK_FALSE(p->present(first));
    CHECK(lab.server.count("POST", "/register") == 1);

    // CNAME in place (the caller followed it; case and trailing dot do not matter).
    std::string followed = reg.fulldomain;
    std::transform(followed.begin(), followed.end(), followed.begin(), ::toupper);
    REQUIRE(p->present(
        {rec(followed, txt('A'), "example.org"), rec(followed, txt('B'), "Example.org.")}));
    CHECK(lab.server.count("POST", "/register") == 1);
    CHECK(lab.server.count("POST", "/update") == 2);
    CHECK(lab.api.values(reg.subdomain) == std::deque<std::string>{txt('A'), txt('B')});
    for (const auto& r : lab.server.requests()) {
        if (r.path != "/update")
            continue;
        CHECK(r.header("x-api-user") == reg.username);
        CHECK(r.header("x-api-key") == reg.password);
    }
}

TEST_CASE("acme-dns: every unregistered domain of a batch is registered before failing",
          "[dns][acme-dns]") {
    Lab lab;
    auto st = lab.provider()->present(
        {rec("_acme-challenge.example.org.", txt('A'), "example.org"),
         rec("_acme-challenge.example.org.", txt('B'), "example.org"),
         rec("_acme-challenge.www.example.net.", txt('C'), "www.example.net")});
    REQUIRE_FALSE(st);
    CHECK(lab.server.count("POST", "/register") == 2);
    CHECK(lab.server.requests()[0].body.empty());  // no allow_from: no body
    const auto org = lab.registration("example.org");
    const auto net = lab.registration("www.example.net");
    CHECK(org.fulldomain != net.fulldomain);
    CHECK(st.error().message ==
          lab.describe() +
              ": registered example.org, www.example.net with acme-dns; add the DNS records  "
              "_acme-challenge.example.org. CNAME " +
              org.fulldomain + ".  and  _acme-challenge.www.example.net. CNAME " + net.fulldomain +
              ".  and issue again");
}

TEST_CASE("acme-dns: no update while a CNAME is not in place", "[dns][acme-dns]") {
    Lab lab;
    lab.register_domains({"example.org", "example.net"});
    const auto net = lab.registration("example.net");
    auto st =
        lab.provider()->present({rec(lab.target("example.org"), txt('A'), "example.org"),
                                 rec("_acme-challenge.example.net.", txt('B'), "example.net")});
    REQUIRE_FALSE(st);
    CHECK(st.error().kind == core::ErrorKind::Config);
    CHECK(st.error().message == lab.describe() + ": the CNAME _acme-challenge.example.net. → " +
                                    net.fulldomain +
                                    ". is not in place (the challenge name resolves to "
                                    "_acme-challenge.example.net.)");
    CHECK(contains(st.error().hint,
                   "add the DNS record  _acme-challenge.example.net. CNAME " + net.fulldomain));
    CHECK(lab.server.count("POST", "/update") == 0);
    CHECK(lab.server.count("POST", "/register") == 2);
}

TEST_CASE("acme-dns: credentials the server rejects name the file, never the key",
          "[dns][acme-dns]") {
    Lab lab;
    lab.register_domains({"example.org"});
    auto reg = lab.registration("example.org");
    reg.password = "WrongKey" + std::string(32, 'z');
    json stored = {{"username", reg.username},
                   {"password", reg.password},
                   {"fulldomain", reg.fulldomain},
                   {"subdomain", reg.subdomain},
                   {"server_url", reg.server_url}};
    REQUIRE(core::write_file_atomic(lab.file("example.org"), stored.dump(), 0600));

    auto st = lab.provider()->present({rec(lab.target("example.org"), txt('A'), "example.org")});
    REQUIRE_FALSE(st);
    CHECK(st.error().kind == core::ErrorKind::Config);
    CHECK(st.error().message == lab.describe() +
                                    ": acme-dns rejected the stored credentials for example.org (" +
                                    lab.file("example.org") + ")");
    CHECK(contains(st.error().hint, "delete " + lab.file("example.org")));
    CHECK_FALSE(contains(st.error().describe(), reg.password));
    CHECK(lab.server.count("POST", "/update") == 1);  // a 401 is not tried again
}

TEST_CASE("acme-dns: 429 and 5xx are tried again within bounds, garbage is refused",
          "[dns][acme-dns]") {
    Lab lab;
    lab.register_domains({"example.org"});
    const auto record = rec(lab.target("example.org"), txt('A'), "example.org");
    const auto subdomain = lab.registration("example.org").subdomain;

    SECTION("429 with Retry-After, then success") {
        int refused = 0;
        lab.api.intercept([&](const ApiRequest& r) -> std::optional<ApiResponse> {
            if (r.path == "/update" && refused++ == 0)
                return ApiResponse{429, R"({"error":"slow down"})", {"Retry-After: 1"}};
            return std::nullopt;
        });
        const auto start = SteadyClock::now();
        REQUIRE(lab.provider()->present({record}));
        CHECK(seconds_since(start) >= 0.9);
        CHECK(lab.server.count("POST", "/update") == 2);
        CHECK(lab.api.values(subdomain) == std::deque<std::string>{txt('A')});
    }
    SECTION("500 forever: three attempts") {
        lab.api.intercept([](const ApiRequest& r) -> std::optional<ApiResponse> {
            if (r.path == "/update")
                return answer(500, "internal error");
            return std::nullopt;
        });
        const auto start = SteadyClock::now();
        auto st = lab.provider()->present({record});
        REQUIRE_FALSE(st);
        CHECK(seconds_since(start) < 5);
        CHECK(lab.server.count("POST", "/update") == 3);
        CHECK(st.error().kind == core::ErrorKind::Dns);
        CHECK(contains(st.error().message, "update the TXT value of example.org: HTTP 500"));
    }
    SECTION("429 until the deadline: rate limited") {
        lab.api.intercept([](const ApiRequest& r) -> std::optional<ApiResponse> {
            if (r.path == "/update")
                return ApiResponse{429, R"({"error":"slow down"})", {"Retry-After: 1"}};
            return std::nullopt;
        });
        auto st = lab.provider({}, core::Seconds(2))->present({record});
        REQUIRE_FALSE(st);
        CHECK(st.error().kind == core::ErrorKind::RateLimited);
        CHECK(st.error().retry_after_seconds == 1L);
        CHECK(lab.server.count("POST", "/update") == 2);
    }
    SECTION("garbage") {
        lab.api.intercept([](const ApiRequest& r) -> std::optional<ApiResponse> {
            if (r.path == "/update")
                return ApiResponse{200, "<html>a captive portal</html>", {}, "text/html"};
            return std::nullopt;
        });
        auto st = lab.provider()->present({record});
        REQUIRE_FALSE(st);
        CHECK(st.error().kind == core::ErrorKind::Protocol);
        CHECK(lab.server.count("POST", "/update") == 1);
    }
}

TEST_CASE("acme-dns: a server that is down fails within bounds", "[dns][acme-dns]") {
    testing::TempDir tmp;
    std::string url;
    {
        FakeApiServer gone([](const ApiRequest&) { return ApiResponse{}; });
        url = gone.url();
    }
    AcmeDnsConfig c;
    c.name = "main";
    c.api_url = url;
    c.storage_dir = tmp / "acme-dns";
    c.timeout = core::Seconds(1);  // one backoff pause (500 ms) fits, the next does not
    auto p = make_acme_dns_provider(c);
    REQUIRE(p);
    const auto start = SteadyClock::now();
    auto st = (*p)->present({rec("_acme-challenge.example.org.", txt('A'), "example.org")});
    REQUIRE_FALSE(st);
    CHECK(seconds_since(start) < 3);
    CHECK(st.error().kind == core::ErrorKind::Timeout);
    CHECK(st.error().message.starts_with("acme-dns main (" + url + "): register example.org: "));
    auto health = (*p)->check_access({});
    REQUIRE_FALSE(health);
    CHECK(contains(health.error().message, url));
}

TEST_CASE("acme-dns: cleanup sends nothing", "[dns][acme-dns]") {
    Lab lab;
    lab.register_domains({"example.org"});
    const auto before = lab.server.requests().size();
    auto p = lab.provider();
    CHECK(p->cleanup({rec(lab.target("example.org"), txt('A'), "example.org")}));
    CHECK(p->cleanup({rec("_acme-challenge.never.example.", txt('B'), "never.example")}));
    CHECK(lab.server.requests().size() == before);
}

TEST_CASE("acme-dns: a stored registration that is not 0600 or malformed is refused",
          "[dns][acme-dns]") {
    Lab lab;
    REQUIRE(core::make_dirs(lab.storage, 0700));
    const json good = {{"username", "u1"},
                       {"password", "Secret0123456789012345678901234567890123"},
                       {"fulldomain", "a1.auth.example.net"},
                       {"subdomain", "a1"},
                       {"server_url", lab.server.url()}};
    const std::string file = lab.file("example.org");
    auto present = [&] {
        return lab.provider()->present({rec("a1.auth.example.net.", txt('A'), "example.org")});
    };

    SECTION("mode 0644") {
        REQUIRE(core::write_file_atomic(file, good.dump(), 0644));
        auto st = present();
        REQUIRE_FALSE(st);
        CHECK(st.error().kind == core::ErrorKind::Config);
        CHECK(st.error().message == lab.describe() + ": the acme-dns registration " + file +
                                        " has mode 0644, but it holds an API key: it must be "
                                        "0600");
        CHECK(contains(st.error().hint, "chmod 600 " + file));
        CHECK_FALSE(contains(st.error().describe(), "Secret0123"));
    }
    SECTION("not JSON") {
        REQUIRE(core::write_file_atomic(file, "{\"password\": \"Secret0123", 0600));
        auto st = present();
        REQUIRE_FALSE(st);
        CHECK(st.error().message ==
              lab.describe() + ": the acme-dns registration " + file + " is not valid JSON");
        CHECK_FALSE(contains(st.error().describe(), "Secret0123"));
    }
    SECTION("a field missing") {
        json partial = good;
        partial.erase("subdomain");
        REQUIRE(core::write_file_atomic(file, partial.dump(), 0600));
        auto st = present();
        REQUIRE_FALSE(st);
        CHECK(contains(st.error().message, file + " is malformed: no usable \"subdomain\""));
    }
    SECTION("made at another server") {
        json elsewhere = good;
        elsewhere["server_url"] = "https://auth.acme-dns.io";
        REQUIRE(core::write_file_atomic(file, elsewhere.dump(), 0600));
        auto st = present();
        REQUIRE_FALSE(st);
        CHECK(contains(st.error().message,
                       "was made at https://auth.acme-dns.io, not at " + lab.server.url()));
    }
    CHECK(lab.server.requests().empty());  // never registered again over a broken file
    CHECK_FALSE(load_acme_dns_registration(lab.storage, "../etc"));
}

TEST_CASE("acme-dns: check_access reports registrations and CNAMEs with one call",
          "[dns][acme-dns]") {
    Lab lab;
    lab.register_domains({"example.org", "example.net"});
    const auto before = lab.server.requests().size();
    const auto net = lab.registration("example.net");
    auto check =
        lab.provider()->check_access({rec(lab.target("example.org"), "", "example.org"),
                                      rec(lab.target("example.org"), "", "example.org"),
                                      rec("_acme-challenge.example.net.", "", "example.net"),
                                      rec("_acme-challenge.example.com.", "", "example.com")});
    REQUIRE(check);
    CHECK(check->checked);
    CHECK(lab.server.requests().size() == before + 1);
    CHECK(lab.server.requests().back().path == "/health");
    REQUIRE(check->notes.size() == 1);
    CHECK(contains(check->notes[0], "example.org: CNAME in place"));
    REQUIRE(check->problems.size() == 2);
    CHECK(check->problems[0] ==
          "example.net: add _acme-challenge.example.net. CNAME " + net.fulldomain + ".");
    CHECK(check->problems[1] ==
          "example.com: not registered yet: the first issue registers it "
          "and prints the CNAME");

    lab.api.intercept([](const ApiRequest& r) -> std::optional<ApiResponse> {
        if (r.path == "/health")
            return ApiResponse{503, "down for maintenance", {}, "text/plain"};
        return std::nullopt;
    });
    auto down = lab.provider()->check_access({rec(lab.target("example.org"), "", "example.org")});
    REQUIRE_FALSE(down);
    CHECK(contains(down.error().message, "GET " + lab.server.url() + "/health: HTTP 503"));
}

TEST_CASE("acme-dns: more than two values for one domain are refused before any request",
          "[dns][acme-dns]") {
    Lab lab;
    auto st =
        lab.provider()->present({rec("_acme-challenge.example.org.", txt('A'), "example.org"),
                                 rec("_acme-challenge.example.org.", txt('B'), "example.org"),
                                 rec("_acme-challenge.example.org.", txt('C'), "example.org")});
    REQUIRE_FALSE(st);
    CHECK(st.error().kind == core::ErrorKind::Config);
    CHECK(contains(st.error().message, "acme-dns keeps only the two latest"));
    CHECK(lab.server.requests().empty());

    // The same value twice is one value.
    st = lab.provider()->present({rec("_acme-challenge.example.org.", txt('A'), "example.org"),
                                  rec("_acme-challenge.example.org.", txt('A'), "example.org"),
                                  rec("_acme-challenge.example.org.", txt('B'), "example.org")});
    CHECK(contains(st.error().message, "registered example.org"));
}

TEST_CASE("acme-dns: settings are checked offline", "[dns][acme-dns]") {
    AcmeDnsConfig c;
    c.name = "main";
    c.api_url = "https://auth.example.net/";
    c.storage_dir = "/var/lib/certfleet/acme-dns/main";
    c.allow_from = {"192.0.2.0/24", "2001:db8::/32"};
    auto made = make_acme_dns_provider(c);
    REQUIRE(made);
    CHECK((*made)->describe() == "acme-dns main (https://auth.example.net)");

    auto refused = [](AcmeDnsConfig bad) {
        auto result = make_acme_dns_provider(std::move(bad));
        REQUIRE_FALSE(result);
        CHECK(result.error().kind == core::ErrorKind::Config);
        return result.error().message;
    };
    AcmeDnsConfig bad = c;
    bad.api_url = "auth.example.net";
    CHECK(contains(refused(bad), "api_url must start with http:// or https://"));
    bad = c;
    bad.storage_dir = "";
    CHECK(contains(refused(bad), "storage_dir is empty"));
    for (const std::string range :
         {"192.0.2.0", "192.0.2.0/33", "example.org/24", "::1/129", "10.0.0.0/"}) {
        bad = c;
        bad.allow_from = {range};
        CHECK(contains(refused(bad), "allow_from entry \"" + range + "\" is not a CIDR range"));
    }
}
