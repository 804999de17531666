// Notification channels against real servers on loopback (no lab needed):
// a Python webhook receiver, an aiosmtpd server that insists on STARTTLS and
// authentication, and promtool linting the Prometheus textfile. The servers
// are part of CI: when one is missing the test FAILS, it never skips.
#include "hooks/notify.hpp"

#include <chrono>
#include <filesystem>
#include <signal.h>
#include <thread>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "hooks/metrics.hpp"
#include "lab.hpp"
#include "notify_support.hpp"

using namespace certfleet;
using namespace certfleet::testing;
using nlohmann::json;

namespace {

hooks::Notice sample_notice(const std::string& cert, const std::string& severity) {
    hooks::Notice n;
    n.event = severity == "critical" ? "expiry_critical" : "expiry_warning";
    n.severity = severity;
    n.key = "expiry:" + cert;
    n.fingerprint = severity;
    n.cert = cert;
    n.domains = {cert + ".example.test"};
    n.serial = "4f20a477";
    n.not_after = "2026-12-01T00:00:00Z";
    n.summary = cert + ": certificate expires in 3 days";
    n.detail = "renewal failed: DNS update refused by ns1\nrun: certfleet renew " + cert;
    return n;
}

std::unique_ptr<hooks::Notifier> make_one(const hooks::NotifierConfig& config,
                                          const hooks::NotifierOptions& o) {
    auto made = hooks::make_notifier(config, o);
    INFO((made ? std::string() : made.error().describe()));
    REQUIRE(made.ok());
    return std::move(*made);
}

}  // namespace

TEST_CASE("webhook notifier posts json and slack payloads to a real receiver", "[notify]") {
    std::string dir = make_temp_dir("notify-webhook");
    std::string out = dir + "/requests.jsonl";
    BackgroundTool receiver(dir, {kTools + "/webhook_receiver.py", "--out", out, "--statuses",
                                  "200,200,429", "--retry-after", "90", "--lifetime", "60"});
    std::string base = "http://127.0.0.1:" + receiver.port();
    hooks::NotifierOptions options;
    options.manager_host = "mgr-1";
    options.retry_backoff = std::chrono::milliseconds(10);
    std::vector<hooks::Notice> batch{sample_notice("site", "warning"),
                                     sample_notice("media", "critical")};

    auto plain = make_one(hooks::WebhookConfig{.url = base + "/hook/json?token=s3cret",
                                               .format = hooks::WebhookFormat::Json,
                                               .ca_bundle = ""},
                          options);
    CHECK(plain->channel().rfind("webhook " + base + "/hook/… #", 0) == 0);
    auto sent = plain->send(batch);
    INFO((sent ? std::string() : sent.error().describe()));
    REQUIRE(sent.ok());
    auto slack = make_one(
        hooks::WebhookConfig{
            .url = base + "/hook/slack", .format = hooks::WebhookFormat::Slack, .ca_bundle = ""},
        options);
    REQUIRE(slack->send(batch).ok());

    auto requests = recorded(out, 2);
    REQUIRE(requests.size() == 2);
    CHECK(requests[0]["path"] == "/hook/json?token=s3cret");
    CHECK(requests[0]["headers"]["content-type"] == "application/json");
    json body = json::parse(requests[0]["body"].get<std::string>());
    CHECK(body == hooks::webhook_json_payload(batch, "mgr-1"));
    CHECK(body["notices"][1]["certificate"] == "media");
    json chat = json::parse(requests[1]["body"].get<std::string>());
    CHECK(chat == hooks::webhook_slack_payload(batch, "mgr-1"));
    CHECK(chat["text"].get<std::string>().starts_with(
        "*certfleet* on `mgr-1`: 1 critical, 1 warning\n:red_circle: *CRITICAL* media"));

    // The third request is answered 429 with Retry-After: fail now, say when.
    auto limited = plain->send(batch);
    REQUIRE_FALSE(limited.ok());
    CHECK(limited.error().kind == core::ErrorKind::RateLimited);
    CHECK(limited.error().retry_after_seconds == 90L);
    CHECK(limited.error().message.find("retry after 90s") != std::string::npos);
    CHECK(limited.error().message.find("s3cret") == std::string::npos);
    CHECK(recorded(out, 3).size() == 3);  // not retried
    std::filesystem::remove_all(dir);
}

TEST_CASE("email notifier delivers over STARTTLS with authentication", "[notify]") {
    {
        auto probe = run_command({kPython, "-c", "import aiosmtpd"});
        INFO("aiosmtpd is required for this test (Debian: apt-get install python3-aiosmtpd)");
        REQUIRE(probe.exit_code == 0);
    }

    std::string dir = make_temp_dir("notify-smtp");
    make_tls_material(dir);
    write_file(dir + "/smtp.pass", "correct horse battery\n", 0600);
    std::string out = dir + "/mail.jsonl";
    BackgroundTool server(
        dir, {kTools + "/smtp_server.py", "--out", out, "--cert", dir + "/server.pem", "--key",
              dir + "/server.key", "--user", "certfleet@example.test", "--password-file",
              dir + "/smtp.pass", "--lifetime", "60"});
    std::string url = "smtp://127.0.0.1:" + server.port();
    hooks::EmailConfig entry{.smtp_url = url,
                             .from = "certfleet@example.test",
                             .to = {"ops@example.test", "oncall@example.test"},
                             .password_file = dir + "/smtp.pass",
                             .username = "",
                             .ca_bundle = dir + "/ca.pem"};
    hooks::NotifierOptions options;
    options.manager_host = "mgr-1";
    options.timeout = core::Seconds(15);
    // What the lead's app/ passes: inventory::read_secret(reference, "").
    options.read_secret = [](const std::string& path) -> core::Result<std::string> {
        std::string text = read_file(path);
        if (text.ends_with('\n'))
            text.pop_back();
        return text;
    };
    std::vector<hooks::Notice> batch{sample_notice("site", "critical"),
                                     sample_notice("media", "warning")};

    auto mail = make_one(entry, options);
    CHECK(mail->channel() == "email " + url + " to ops@example.test,oncall@example.test");
    auto sent = mail->send(batch);
    INFO((sent ? std::string() : sent.error().describe()));
    REQUIRE(sent.ok());

    auto messages = recorded(out, 1);
    REQUIRE(messages.size() == 1);
    CHECK(messages[0]["mail_from"] == "certfleet@example.test");
    CHECK(messages[0]["rcpt_tos"] == json{"ops@example.test", "oncall@example.test"});
    CHECK(messages[0]["login"] == "certfleet@example.test");
    // Parse it the way a mail client would and compare decoded fields.
    std::string parse =
        "import email, email.policy, json, sys\n"
        "m = email.message_from_string(json.loads(sys.stdin.read())['data'], "
        "policy=email.policy.default)\n"
        "print(json.dumps({'to': str(m['To']), 'subject': str(m['Subject']), "
        "'type': m.get_content_type(), 'charset': m.get_content_charset(), "
        "'body': m.get_content().replace('\\r\\n', '\\n')}))\n";
    write_file(dir + "/one.json", messages[0].dump());
    write_file(dir + "/parse.py", parse);
    auto parsed = run_command(
        {"/bin/sh", "-c", kPython + " '" + dir + "/parse.py' < '" + dir + "/one.json'"});
    INFO(parsed.err);
    REQUIRE(parsed.exit_code == 0);
    json m = json::parse(parsed.out);
    CHECK(m["to"] == "ops@example.test, oncall@example.test");
    CHECK(m["subject"] == "certfleet: 1 critical, 1 warning — site, media");
    CHECK(m["type"] == "text/plain");
    CHECK(m["charset"] == "utf-8");
    std::string body = m["body"];
    INFO(body);
    CHECK(body.find("CRITICAL: site: certificate expires in 3 days\n") != std::string::npos);
    CHECK(body.find("  run: certfleet renew media\n") != std::string::npos);
    CHECK(body.find("correct horse") == std::string::npos);

    SECTION("without the server's CA the TLS handshake fails clearly") {
        hooks::EmailConfig untrusted = entry;
        untrusted.ca_bundle.clear();
        auto failed = make_one(untrusted, options)->send(batch);
        REQUIRE_FALSE(failed.ok());
        INFO(failed.error().describe());
        CHECK(failed.error().kind == core::ErrorKind::Network);
        CHECK(failed.error().message.find("certificate") != std::string::npos);
        CHECK(failed.error().hint.find("ca_bundle") != std::string::npos);
        CHECK(failed.error().describe().find("correct horse") == std::string::npos);
        CHECK(recorded(out, 1).size() == 1);  // nothing more delivered
    }
    SECTION("a wrong password is refused and not shown") {
        write_file(dir + "/wrong.pass", "not it\n", 0600);
        hooks::EmailConfig wrong = entry;
        wrong.password_file = dir + "/wrong.pass";
        auto failed = make_one(wrong, options)->send(batch);
        REQUIRE_FALSE(failed.ok());
        INFO(failed.error().describe());
        CHECK(failed.error().hint.find("password_file") != std::string::npos);
        CHECK(failed.error().describe().find("not it") == std::string::npos);
    }
    std::filesystem::remove_all(dir);
}

TEST_CASE("the Prometheus textfile passes promtool's lint", "[notify]") {
    {
        INFO("promtool is required for this test (Debian package prometheus)");
        REQUIRE(std::filesystem::exists("/usr/bin/promtool"));
    }

    auto at = [](const char* t) { return *core::parse_rfc3339(t); };
    hooks::RunMetrics m;
    m.now = at("2026-11-20T03:00:00Z");
    m.certificates = {{"site", "4f20a477", at("2027-01-10T00:00:00Z"), at("2026-12-11T00:00:00Z")},
                      {"media", "0a11", at("2026-11-25T00:00:00Z"), at("2026-11-18T00:00:00Z")},
                      {"fresh", "", std::nullopt, std::nullopt}};
    m.served = {{"site", "cdn-fra-1", at("2027-01-10T00:00:00Z"), true},
                {"site", "cdn-ams-1", at("2026-11-25T00:00:00Z"), false},
                {"media", "edge \"quoted\"\\path\nnext", std::nullopt, false}};
    m.last_run = at("2026-11-20T03:01:12Z");
    m.last_run_success = false;
    m.last_run_duration_seconds = 72.25;
    m.failures_by_kind = {{"renewal", 1}, {"deployment", 2}, {"probe", 0}};

    std::string dir = make_temp_dir("notify-prom");
    std::string path = dir + "/certfleet.prom";
    REQUIRE(hooks::write_textfile(path, m).ok());
    auto r = run_command({"/bin/sh", "-c", "/usr/bin/promtool check metrics < '" + path + "'"});
    INFO(read_file(path));
    INFO(r.out + r.err);
    CHECK(r.exit_code == 0);
    CHECK(r.out.empty());
    CHECK(r.err.empty());
    std::filesystem::remove_all(dir);
}
