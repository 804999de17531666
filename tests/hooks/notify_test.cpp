// Notifications: de-duplication boundaries, webhook payloads and error
// handling against a fake HTTP client, the exec channel, the Prometheus
// textfile, and the ledger's notice state.
#include "hooks/notify.hpp"

#include <deque>
#include <filesystem>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "hooks/dedup.hpp"
#include "hooks/metrics.hpp"
#include "state/ledger.hpp"
#include "support/temp_files.hpp"

using namespace certfleet;
using hooks::Notice;
using hooks::SentNotice;
using nlohmann::json;
using namespace certfleet::testing;

namespace {

core::TimePoint at(const char* text) {
    return *core::parse_rfc3339(text);
}

Notice expiry(const std::string& cert, const std::string& severity, const std::string& serial) {
    Notice n;
    n.event = severity == "critical" ? "expiry_critical" : "expiry_warning";
    n.severity = severity;
    n.key = "expiry:" + cert;
    n.fingerprint = severity + "/" + serial;
    n.cert = cert;
    n.domains = {cert + ".example.org"};
    n.serial = serial;
    n.not_after = "2026-12-01T00:00:00Z";
    n.summary = cert + ": certificate expires in 5 days";
    n.detail = "renewal keeps failing: DNS update refused\nrun certfleet renew " + cert;
    return n;
}

SentNotice told(const Notice& n, core::TimePoint first, core::TimePoint last) {
    return SentNotice{n.key, n.fingerprint, n.severity, n.summary, first, last};
}

const core::Seconds kDay{86400};

class FakeHttp : public core::HttpClient {
public:
    std::deque<core::Result<core::HttpResponse>> replies;
    std::vector<core::HttpRequest> requests;

    core::Result<core::HttpResponse> send(const core::HttpRequest& request) override {
        requests.push_back(request);
        REQUIRE_FALSE(replies.empty());
        auto next = replies.front();
        replies.pop_front();
        return next;
    }
    void reply(int status, std::string body = "ok",
               std::vector<std::pair<std::string, std::string>> headers = {}) {
        core::HttpResponse r;
        r.status = status;
        r.body = std::move(body);
        r.headers = std::move(headers);
        replies.emplace_back(std::move(r));
    }
};

hooks::WebhookConfig webhook(std::string url,
                             hooks::WebhookFormat format = hooks::WebhookFormat::Json) {
    hooks::WebhookConfig config;
    config.url = std::move(url);
    config.format = format;
    return config;
}

std::unique_ptr<hooks::Notifier> one_notifier(const hooks::NotifierConfig& config,
                                              const hooks::NotifierOptions& options) {
    auto made = hooks::make_notifier(config, options);
    REQUIRE(made.ok());
    return std::move(*made);
}

}  // namespace

TEST_CASE("a notice never told is sent and remembered", "[notify]") {
    auto now = at("2026-11-20T10:00:00Z");
    auto plan = hooks::plan_notices({expiry("site", "warning", "01")}, {}, {"expiry:"}, now, kDay);
    REQUIRE(plan.to_send.size() == 1);
    CHECK(plan.to_send[0].key == "expiry:site");
    REQUIRE(plan.remember.size() == 1);
    CHECK(plan.remember[0].first_sent == now);
    CHECK(plan.remember[0].last_sent == now);
    CHECK(plan.remember[0].fingerprint == "warning/01");
    CHECK(plan.forget.empty());
}

TEST_CASE("an identical notice is repeated only once the interval has passed", "[notify]") {
    auto first = at("2026-11-19T08:00:00Z");
    auto last = at("2026-11-19T10:00:00Z");
    Notice n = expiry("site", "warning", "01");
    std::vector<SentNotice> state{told(n, first, last)};

    SECTION("one second before the interval: nothing") {
        auto plan =
            hooks::plan_notices({n}, state, {"expiry:"}, last + kDay - core::Seconds(1), kDay);
        CHECK(plan.to_send.empty());
        CHECK(plan.remember.empty());
        CHECK(plan.forget.empty());
    }
    SECTION("exactly at last_sent + interval: re-sent, first_sent kept") {
        auto plan = hooks::plan_notices({n}, state, {"expiry:"}, last + kDay, kDay);
        REQUIRE(plan.to_send.size() == 1);
        REQUIRE(plan.remember.size() == 1);
        CHECK(plan.remember[0].first_sent == first);
        CHECK(plan.remember[0].last_sent == last + kDay);
    }
    SECTION("after the interval: re-sent") {
        auto plan = hooks::plan_notices({n}, state, {"expiry:"}, last + 2 * kDay, kDay);
        CHECK(plan.to_send.size() == 1);
        CHECK(plan.remember.at(0).first_sent == first);
    }
}

TEST_CASE("a changed notice is sent at once, keeping when the problem began", "[notify]") {
    auto first = at("2026-11-19T08:00:00Z");
    auto last = at("2026-11-20T08:00:00Z");
    std::vector<SentNotice> state{told(expiry("site", "warning", "01"), first, last)};
    auto now = last + core::Seconds(60);
    for (const auto& changed :
         {expiry("site", "critical", "01"), expiry("site", "warning", "02")}) {
        auto plan = hooks::plan_notices({changed}, state, {"expiry:"}, now, kDay);
        REQUIRE(plan.to_send.size() == 1);
        CHECK(plan.to_send[0].severity == changed.severity);
        REQUIRE(plan.remember.size() == 1);
        CHECK(plan.remember[0].fingerprint == changed.fingerprint);
        CHECK(plan.remember[0].severity == changed.severity);
        CHECK(plan.remember[0].first_sent == first);
        CHECK(plan.remember[0].last_sent == now);
    }
}

TEST_CASE("a problem gone under an evaluated prefix is resolved once", "[notify]") {
    auto t0 = at("2026-11-19T08:00:00Z");
    Notice served = expiry("site", "critical", "01");
    served.key = "served:site@cdn-1";
    served.summary = "site on cdn-1 serves a certificate expiring in 2 days";
    Notice renewal = expiry("media", "critical", "07");
    renewal.key = "renewal:media";
    std::vector<SentNotice> state{told(expiry("site", "warning", "01"), t0, t0),
                                  told(served, t0, t0), told(renewal, t0, t0)};
    auto now = t0 + core::Seconds(3600);

    // A run without --probe looked at expiry and renewals, not at served:.
    auto plan = hooks::plan_notices({}, state, {"expiry:", "renewal:"}, now, kDay);
    REQUIRE(plan.to_send.size() == 2);
    CHECK(plan.to_send[0].key == "expiry:site");  // by key
    CHECK(plan.to_send[1].key == "renewal:media");
    const Notice& r = plan.to_send[0];
    CHECK(r.event == "resolved");
    CHECK(r.severity == "resolved");
    CHECK(r.cert == "site");
    CHECK(r.summary == "resolved: site: certificate expires in 5 days");
    CHECK(plan.forget == std::vector<std::string>{"expiry:site", "renewal:media"});
    CHECK(plan.remember.empty());

    SECTION("a served: problem resolves only when served: was evaluated, naming the host") {
        auto probed = hooks::plan_notices({}, state, {"served:"}, now, kDay);
        REQUIRE(probed.to_send.size() == 1);
        CHECK(probed.to_send[0].cert == "site");
        CHECK(probed.to_send[0].host == "cdn-1");
        CHECK(probed.forget == std::vector<std::string>{"served:site@cdn-1"});
    }
}

TEST_CASE("a resolved inventory alarm names no certificate or host", "[notify]") {
    auto t0 = at("2026-11-19T08:00:00Z");
    Notice alarm = expiry("site", "critical", "");
    alarm.key = "inventory:/etc/certfleet/inventory.json";
    alarm.summary = "the inventory /etc/certfleet/inventory.json is invalid";
    auto plan = hooks::plan_notices({}, {told(alarm, t0, t0)}, {"inventory:"},
                                    t0 + core::Seconds(60), kDay);
    REQUIRE(plan.to_send.size() == 1);
    CHECK(plan.to_send[0].event == "resolved");
    CHECK(plan.to_send[0].cert.empty());
    CHECK(plan.to_send[0].host.empty());
}

TEST_CASE("notices to send come out in key order", "[notify]") {
    auto now = at("2026-11-20T10:00:00Z");
    auto plan = hooks::plan_notices({expiry("web", "warning", "1"), expiry("api", "warning", "2"),
                                     expiry("media", "warning", "3")},
                                    {}, {"expiry:"}, now, kDay);
    REQUIRE(plan.to_send.size() == 3);
    CHECK(plan.to_send[0].cert == "api");
    CHECK(plan.to_send[1].cert == "media");
    CHECK(plan.to_send[2].cert == "web");
}

TEST_CASE("webhook json payload is one POST with every notice", "[notify]") {
    auto http = std::make_shared<FakeHttp>();
    http->reply(204, "");
    hooks::NotifierOptions options;
    options.manager_host = "mgr-1";
    options.http_client = http;
    auto n =
        one_notifier(webhook("https://user:pw@hooks.example.org/T0/B0?token=s3cret#x"), options);
    CHECK(n->channel().rfind("webhook https://hooks.example.org/T0/… #", 0) == 0);
    CHECK(n->channel().find("B0") == std::string::npos);
    CHECK(hooks::redact_url("https://hooks.slack.com/services/T01/B02/XyZsecret") ==
          "https://hooks.slack.com/services/…");
    CHECK(hooks::redact_url("http://127.0.0.1:9/hook") == "http://127.0.0.1:9/hook");

    Notice warn = expiry("site", "warning", "01");
    REQUIRE(n->send({warn, expiry("media", "critical", "02")}).ok());
    REQUIRE(http->requests.size() == 1);
    const auto& req = http->requests[0];
    CHECK(req.method == "POST");
    CHECK(req.url == "https://user:pw@hooks.example.org/T0/B0?token=s3cret#x");
    CHECK(std::find(req.headers.begin(), req.headers.end(), "Content-Type: application/json") !=
          req.headers.end());
    json body = json::parse(req.body);
    CHECK(body["source"] == "certfleet");
    CHECK(body["manager"] == "mgr-1");
    REQUIRE(body["notices"].size() == 2);
    CHECK(body["notices"][0] == json{{"event", "expiry_warning"},
                                     {"severity", "warning"},
                                     {"key", "expiry:site"},
                                     {"certificate", "site"},
                                     {"host", ""},
                                     {"domains", {"site.example.org"}},
                                     {"serial", "01"},
                                     {"not_after", "2026-12-01T00:00:00Z"},
                                     {"summary", warn.summary},
                                     {"detail", warn.detail}});
    CHECK(body["notices"][1]["severity"] == "critical");

    SECTION("an empty batch sends nothing") {
        REQUIRE(n->send({}).ok());
        CHECK(http->requests.size() == 1);
    }
}

TEST_CASE("webhook slack payload is readable chat text", "[notify]") {
    Notice warn = expiry("site", "warning", "01");
    Notice crit = expiry("media", "critical", "02");
    crit.host = "cdn-1";
    crit.summary = "media on cdn-1: serves <old> & expiring certificate";
    crit.detail = "";
    json payload = hooks::webhook_slack_payload({warn, crit}, "mgr-1");
    REQUIRE(payload.size() == 1);
    CHECK(payload["text"] ==
          "*certfleet* on `mgr-1`: 1 critical, 1 warning\n"
          ":red_circle: *CRITICAL* media on cdn-1: serves &lt;old&gt; &amp; expiring certificate\n"
          ">certificate `media` · host `cdn-1` · serial `02` · not after 2026-12-01T00:00:00Z\n"
          ":warning: *WARNING* site: certificate expires in 5 days\n"
          ">certificate `site` · serial `01` · not after 2026-12-01T00:00:00Z\n"
          ">renewal keeps failing: DNS update refused\n"
          ">run certfleet renew site");

    auto http = std::make_shared<FakeHttp>();
    http->reply(200, "ok");
    hooks::NotifierOptions options;
    options.manager_host = "mgr-1";
    options.http_client = http;
    auto n = one_notifier(
        webhook("https://hooks.slack.example/services/T0", hooks::WebhookFormat::Slack), options);
    REQUIRE(n->send({warn, crit}).ok());
    REQUIRE(http->requests.size() == 1);
    CHECK(json::parse(http->requests[0].body) == payload);
}

TEST_CASE("webhook failures are bounded and name the URL without its query", "[notify]") {
    auto http = std::make_shared<FakeHttp>();
    hooks::NotifierOptions options;
    options.http_client = http;
    options.retry_backoff = std::chrono::milliseconds(0);
    auto n = one_notifier(webhook("https://hooks.example.org/in?key=s3cret"), options);
    std::vector<Notice> batch{expiry("site", "warning", "01")};

    SECTION("5xx: one more attempt, then an error with the status") {
        http->reply(500, "internal error");
        http->reply(503, "unavailable");
        auto st = n->send(batch);
        REQUIRE_FALSE(st.ok());
        CHECK(http->requests.size() == 2);
        CHECK(st.error().message.find("HTTP 503") != std::string::npos);
        CHECK(st.error().message.find("s3cret") == std::string::npos);
    }
    SECTION("5xx then success") {
        http->reply(502);
        http->reply(200);
        CHECK(n->send(batch).ok());
        CHECK(http->requests.size() == 2);
    }
    SECTION("network error twice") {
        http->replies.emplace_back(core::fail(core::ErrorKind::Network, "connection refused"));
        http->replies.emplace_back(core::fail(core::ErrorKind::Network, "connection refused"));
        auto st = n->send(batch);
        REQUIRE_FALSE(st.ok());
        CHECK(st.error().kind == core::ErrorKind::Network);
        CHECK(http->requests.size() == 2);
    }
    SECTION("4xx: not retried") {
        http->reply(400, "invalid_payload");
        auto st = n->send(batch);
        REQUIRE_FALSE(st.ok());
        CHECK(http->requests.size() == 1);
        CHECK(st.error().message.find("HTTP 400 (invalid_payload)") != std::string::npos);
    }
    SECTION("429: fails at once with the retry time") {
        http->reply(429, "slow down", {{"retry-after", "120"}});
        auto st = n->send(batch);
        REQUIRE_FALSE(st.ok());
        CHECK(http->requests.size() == 1);
        CHECK(st.error().kind == core::ErrorKind::RateLimited);
        CHECK(st.error().retry_after_seconds == 120L);
        CHECK(st.error().message.find("HTTP 429") != std::string::npos);
        CHECK(st.error().message.find("retry after 120s") != std::string::npos);
    }
}

TEST_CASE("make_notifier builds each channel; an email password is read at once", "[notify]") {
    hooks::NotifierOptions options;
    std::vector<std::string> asked;
    options.read_secret = [&](const std::string& ref) -> core::Result<std::string> {
        asked.push_back(ref);
        return std::string("hunter2");
    };
    hooks::EmailConfig email;
    email.smtp_url = "smtp://mail.example.org:587";
    email.from = "certfleet@example.org";
    email.to = {"ops@example.org", "oncall@example.org"};
    email.password_file = "env:CERTFLEET_TEST_SMTP_PASSWORD";
    CHECK(one_notifier(hooks::ExecConfig{.command = "/etc/certfleet/notify-hook"}, options)
              ->channel() == "exec /etc/certfleet/notify-hook");
    CHECK(one_notifier(email, options)->channel() ==
          "email smtp://mail.example.org:587 to ops@example.org,oncall@example.org");
    CHECK(asked == std::vector<std::string>{"env:CERTFLEET_TEST_SMTP_PASSWORD"});

    SECTION("without a password nothing is read") {
        email.password_file.clear();
        one_notifier(email, options);
        CHECK(asked.size() == 1);
    }
    SECTION("an unreadable password is an error that does not show it") {
        options.read_secret = [](const std::string&) -> core::Result<std::string> {
            return core::fail(core::ErrorKind::Io, "cannot read secret file /x: No such file");
        };
        auto failed = hooks::make_notifier(email, options);
        REQUIRE_FALSE(failed.ok());
        CHECK(failed.error().message.find("email smtp://mail.example.org:587: "
                                          "password_file: cannot read") == 0);
    }
    SECTION("a config no channel can use is refused") {
        CHECK_FALSE(hooks::make_notifier(hooks::ExecConfig{}, options).ok());
        CHECK_FALSE(hooks::make_notifier(webhook("ftp://x/y"), options).ok());
        email.to.clear();
        CHECK_FALSE(hooks::make_notifier(email, options).ok());
    }
}

TEST_CASE("email subject and message", "[notify]") {
    Notice crit = expiry("site", "critical", "01");
    Notice crit2 = expiry("site", "critical", "01");
    crit2.key = "served:site@cdn-1";
    Notice warn = expiry("media", "warning", "02");
    CHECK(hooks::email_subject({warn, crit, crit2}) ==
          "certfleet: 2 critical, 1 warning — site, media");
    std::string m = hooks::email_message({warn, crit}, "certfleet@example.org",
                                         {"ops@example.org", "b@example.org"}, "mgr-1",
                                         at("2026-11-21T10:30:00Z"));
    CHECK(
        m.starts_with("From: certfleet@example.org\r\nTo: ops@example.org, b@example.org\r\n"
                      "Subject: =?UTF-8?B?"));
    CHECK(m.find("Date: Sat, 21 Nov 2026 10:30:00 +0000\r\n") != std::string::npos);
    CHECK(m.find("Message-ID: <20261121T103000Z.") != std::string::npos);
    CHECK(m.find("Content-Type: text/plain; charset=utf-8\r\n") != std::string::npos);
    CHECK(m.find("\r\n\r\ncertfleet on mgr-1: 1 critical, 1 warning\r\n") != std::string::npos);
    CHECK(m.find("CRITICAL: site: certificate expires in 5 days\r\n") != std::string::npos);
    CHECK(m.find("  run certfleet renew media\r\n") != std::string::npos);
    // Bare LF never appears: SMTP wants CRLF.
    for (size_t i = m.find('\n'); i != std::string::npos; i = m.find('\n', i + 1))
        CHECK(m[i - 1] == '\r');
}

TEST_CASE("exec notifier runs once per notice with environment and stdin", "[notify]") {
    TempDir dir;
    std::string out = dir / "calls";
    hooks::NotifierOptions options;
    std::string command =
        "{ printf '%s|%s|%s|%s|%s\\n' \"$CERTFLEET_EVENT\" \"$CERTFLEET_SEVERITY\" "
        "\"$CERTFLEET_CERT\" \"$CERTFLEET_SUMMARY\" \"$CERTFLEET_DOMAINS\"; cat; } >> " +
        out;
    auto n =
        one_notifier(hooks::ExecConfig{.command = command, .timeout = core::Seconds(10)}, options);
    Notice a = expiry("site", "warning", "01");
    Notice b = expiry("media", "critical", "02");
    b.domains = {"media.example.org", "img.example.org"};
    REQUIRE(n->send({a, b}).ok());
    std::string text = slurp(out);
    auto first_nl = text.find('\n');
    CHECK(text.substr(0, first_nl) ==
          "expiry_warning|warning|site|site: certificate expires in 5 days|site.example.org");
    auto json_end = text.find('\n', first_nl + 1);
    json stdin_doc = json::parse(text.substr(first_nl + 1, json_end - first_nl - 1));
    CHECK(stdin_doc == hooks::notice_json(a));
    CHECK(text.find("expiry_critical|critical|media|media: certificate expires in 5 days|"
                    "media.example.org img.example.org\n") != std::string::npos);

    SECTION("a failing command is an error with its stderr, after trying every notice") {
        auto failing = one_notifier(
            hooks::ExecConfig{.command = "echo \"no route for $CERTFLEET_CERT\" >&2; exit 3"},
            options);
        auto st = failing->send({a, b});
        REQUIRE_FALSE(st.ok());
        CHECK(st.error().message.find("exec echo") == 0);
        CHECK(st.error().message.find("expiry:site: exit code 3: no route for site") !=
              std::string::npos);
        CHECK(st.error().message.find("1 more of 2") != std::string::npos);
    }
}

TEST_CASE("metrics text follows the Prometheus text format", "[notify]") {
    hooks::RunMetrics m;
    m.now = at("2026-11-20T00:00:00Z");  // 1795132800
    m.certificates = {{"site", "01", at("2026-12-20T00:00:00Z"), at("2026-11-30T00:00:00Z")},
                      {"new", "", std::nullopt, std::nullopt}};
    m.served = {{"site", "cdn-1", at("2026-12-20T00:00:00Z"), true},
                {"site", "we\"ird\\host\nx", std::nullopt, false}};
    m.last_run = at("2026-11-20T00:01:00Z");
    m.last_run_success = false;
    m.last_run_duration_seconds = 12.5;
    m.failures_by_kind = {{"deployment", 1}, {"renewal", 0}};
    CHECK(hooks::render_metrics(m) ==
          "# HELP certfleet_certificate_not_after_timestamp_seconds Expiry (notAfter) of the "
          "current certificate in the store, Unix time.\n"
          "# TYPE certfleet_certificate_not_after_timestamp_seconds gauge\n"
          "certfleet_certificate_not_after_timestamp_seconds{certificate=\"site\"} 1797724800\n"
          "# HELP certfleet_certificate_renewal_timestamp_seconds When certfleet plans to renew "
          "the certificate, Unix time.\n"
          "# TYPE certfleet_certificate_renewal_timestamp_seconds gauge\n"
          "certfleet_certificate_renewal_timestamp_seconds{certificate=\"site\"} 1795996800\n"
          "# HELP certfleet_certificate_seconds_until_renewal Seconds from the last run until the "
          "planned renewal (negative: overdue).\n"
          "# TYPE certfleet_certificate_seconds_until_renewal gauge\n"
          "certfleet_certificate_seconds_until_renewal{certificate=\"site\"} 864000\n"
          "# HELP certfleet_served_not_after_timestamp_seconds Expiry (notAfter) of the "
          "certificate a host really serves, Unix time.\n"
          "# TYPE certfleet_served_not_after_timestamp_seconds gauge\n"
          "certfleet_served_not_after_timestamp_seconds{certificate=\"site\",host=\"cdn-1\"} "
          "1797724800\n"
          "# HELP certfleet_served_current 1 when the host serves the store's current "
          "certificate, else 0.\n"
          "# TYPE certfleet_served_current gauge\n"
          "certfleet_served_current{certificate=\"site\",host=\"cdn-1\"} 1\n"
          "certfleet_served_current{certificate=\"site\",host=\"we\\\"ird\\\\host\\nx\"} 0\n"
          "# HELP certfleet_last_run_timestamp_seconds When the last certfleet run finished, "
          "Unix time.\n"
          "# TYPE certfleet_last_run_timestamp_seconds gauge\n"
          "certfleet_last_run_timestamp_seconds 1795132860\n"
          "# HELP certfleet_last_run_success 1 when the last certfleet run succeeded completely, "
          "else 0.\n"
          "# TYPE certfleet_last_run_success gauge\n"
          "certfleet_last_run_success 0\n"
          "# HELP certfleet_last_run_duration_seconds How long the last certfleet run took.\n"
          "# TYPE certfleet_last_run_duration_seconds gauge\n"
          "certfleet_last_run_duration_seconds 12.5\n"
          "# HELP certfleet_run_failures Failures in the last certfleet run, by kind.\n"
          "# TYPE certfleet_run_failures gauge\n"
          "certfleet_run_failures{kind=\"deployment\"} 1\n"
          "certfleet_run_failures{kind=\"renewal\"} 0\n"
          "# HELP certfleet_inventory_valid 1 when the last run's inventory was valid as a "
          "whole, 0 when it set invalid entries aside or could not run at all.\n"
          "# TYPE certfleet_inventory_valid gauge\n"
          "certfleet_inventory_valid 1\n"
          "# HELP certfleet_inventory_quarantined_entries Certificate and host entries the last "
          "run left out as invalid.\n"
          "# TYPE certfleet_inventory_quarantined_entries gauge\n"
          "certfleet_inventory_quarantined_entries 0\n");
}

TEST_CASE("write_textfile replaces the file atomically with mode 0644", "[notify]") {
    TempDir dir;
    UmaskGuard umask(077);
    std::string path = dir / "certfleet.prom";
    hooks::RunMetrics m;
    m.last_run = at("2026-11-20T00:01:00Z");
    m.last_run_success = true;
    REQUIRE(hooks::write_textfile(path, m).ok());
    REQUIRE(hooks::write_textfile(path, m).ok());  // replacing works too
    CHECK(mode_of(path) == 0644);
    CHECK(slurp(path) == hooks::render_metrics(m));
    size_t entries = 0;
    for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir.path))
        ++entries;
    CHECK(entries == 1);  // no temporary file left behind

    SECTION("a missing directory is an error, not created") {
        auto st = hooks::write_textfile(dir / "missing/certfleet.prom", m);
        CHECK_FALSE(st.ok());
        CHECK_FALSE(std::filesystem::exists(dir / "missing"));
    }
}

TEST_CASE("ledger notice state round trips per channel", "[notify]") {
    auto ledger = state::Ledger::open_in_memory();
    REQUIRE(ledger.ok());
    auto t0 = at("2026-11-19T08:00:00Z");
    auto t1 = at("2026-11-20T08:00:00Z");
    std::string channel = "webhook https://hooks.example.org/T0";
    std::vector<state::NoticeRecord> sent{
        {channel, "expiry:site", "warning/01", "warning", "site expires", t0, t1},
        {channel, "renewal:media", "critical/x", "critical", "media renewal failed", t1, t1}};
    REQUIRE(ledger->save_notices(channel, sent, {}).ok());
    REQUIRE(ledger->save_notices("exec /x", {sent[0]}, {}).ok());

    auto back = ledger->notices(channel);
    REQUIRE(back.size() == 2);
    CHECK(back[0].key == "expiry:site");
    CHECK(back[0].fingerprint == "warning/01");
    CHECK(back[0].severity == "warning");
    CHECK(back[0].summary == "site expires");
    CHECK(back[0].first_sent == t0);
    CHECK(back[0].last_sent == t1);

    sent[0].last_sent = t1 + kDay;
    REQUIRE(ledger->save_notices(channel, {sent[0]}, {"renewal:media"}).ok());
    back = ledger->notices(channel);
    REQUIRE(back.size() == 1);
    CHECK(back[0].first_sent == t0);
    CHECK(back[0].last_sent == t1 + kDay);
    CHECK(ledger->notices("exec /x").size() == 1);  // other channels untouched
}

TEST_CASE("a webhook's secret stays out of every error of the real HTTP client", "[notify]") {
    // Port 9 (discard) on loopback: nothing listens, so libcurl fails to
    // connect and writes its own error text.
    const std::string url = "http://127.0.0.1:9/services/T0/B0/S3CRETTOKEN?key=K3YSECRET#frag";
    hooks::NotifierOptions options;
    options.retry_backoff = std::chrono::milliseconds(1);
    options.timeout = core::Seconds(5);
    auto n = one_notifier(webhook(url), options);
    auto sent = n->send({expiry("site", "critical", "01")});
    REQUIRE_FALSE(sent);
    const std::string everything = n->channel() + "\n" + sent.error().describe();
    INFO(everything);
    CHECK_THAT(everything, Catch::Contains("127.0.0.1:9/services/…"));
    for (const char* secret : {"S3CRETTOKEN", "K3YSECRET", "T0/B0", "frag"})
        CHECK(everything.find(secret) == std::string::npos);

    SECTION("the client names an ordinary URL in full") {
        core::CurlHttpClient http(core::HttpOptions{});
        auto r = http.send({"GET", "http://127.0.0.1:9/acme/order/17", {}, {}});
        REQUIRE_FALSE(r);
        CHECK_THAT(r.error().message, Catch::Contains("http://127.0.0.1:9/acme/order/17"));
    }
}
