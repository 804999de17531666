// The scheduled job end to end in the lab: `run` renews, deploys, probes and
// tells people — a webhook to a local receiver, a mail through a local SMTP
// server that insists on STARTTLS, an exec hook, and a Prometheus textfile
// that promtool accepts — without repeating itself, and with one "resolved"
// notice when the problem goes away. (The audit step has its own test in
// audit_test.cpp: here the lab's hand-managed "www" would be a finding.)
#include <filesystem>

#include <catch2/catch.hpp>

#include "fleet_support.hpp"
#include "notify_support.hpp"

using namespace certfleet;
using namespace certfleet::testing;
using nlohmann::json;

namespace {

std::vector<json> webhook_notices(const json& request) {
    auto body = json::parse(request["body"].get<std::string>());
    return body["notices"].get<std::vector<json>>();
}

}  // namespace

TEST_CASE("run: renews, deploys, notifies once, resolves once, writes metrics", "[run]") {
    const std::string tools = make_temp_dir("run-tools");
    std::filesystem::create_directories(tools + "/hook");
    std::filesystem::create_directories(tools + "/mail");
    make_tls_material(tools + "/mail");
    write_file(tools + "/mail/password", "s3cret-mail\n", 0600);
    BackgroundTool webhook(tools + "/hook", {kTools + "/webhook_receiver.py", "--out",
                                             tools + "/hook/requests.jsonl", "--lifetime", "300"});
    BackgroundTool smtp(tools + "/mail",
                        {kTools + "/smtp_server.py", "--out", tools + "/mail/messages.jsonl",
                         "--cert", tools + "/mail/server.pem", "--key", tools + "/mail/server.key",
                         "--user", "certfleet@example.test", "--password-file",
                         tools + "/mail/password", "--lifetime", "300"});
    const std::string textfile = tools + "/metrics/certfleet.prom";
    std::filesystem::create_directories(tools + "/metrics");
    const std::string exec_log = tools + "/exec.log";
    write_file(tools + "/notify-hook",
               "#!/bin/sh\necho \"$CERTFLEET_EVENT $CERTFLEET_CERT $CERTFLEET_SEVERITY\" >> '" +
                   exec_log + "'\n",
               0755);

    // "media" is healthy; "broken" uses a DNS hook that always fails.
    auto inventory = [&](const std::string& broken_dns) {
        return [&, broken_dns](json& inv) {
            inv["dns"]["providers"]["always-fails"] = {{"type", "exec"}, {"command", "/bin/false"}};
            inv["certificates"]["broken"] = {{"domains", {"broken.example.test"}},
                                             {"dns", broken_dns}};
            inv["notify"] = {{{"type", "webhook"},
                              {"url", "http://127.0.0.1:" + webhook.port() + "/T0/B0?token=x"},
                              {"format", "json"}},
                             {{"type", "email"},
                              {"smtp_url", "smtp://127.0.0.1:" + smtp.port()},
                              {"from", "certfleet@example.test"},
                              {"to", {"ops@example.test"}},
                              {"username", "certfleet@example.test"},
                              {"password_file", tools + "/mail/password"},
                              {"ca_bundle", tools + "/mail/ca.pem"}},
                             {{"type", "prometheus"}, {"textfile", textfile}},
                             {{"type", "exec"}, {"command", tools + "/notify-hook"}}};
            inv["hooks"] = {{"pre", "echo pre >> '" + tools + "/hooks.log'"},
                            {"post", "echo post >> '" + tools + "/hooks.log'"}};
        };
    };
    auto t = write_fleet_inventory("run", inventory("always-fails"));

    // Run 1: media issued and deployed everywhere; broken fails and is reported.
    auto first = run_certfleet(cf_args(t, {"-q", "run", "--jitter", "0s", "--no-audit"}));
    INFO(first.out << first.err);
    CHECK(first.exit_code == 1);
    CHECK(first.out.find("CERTFLEET WARNING - broken: renewal failing since") != std::string::npos);
    auto requests = recorded(tools + "/hook/requests.jsonl", 1);
    REQUIRE(requests.size() == 1);
    CHECK(requests[0]["path"] == "/T0/B0?token=x");
    auto notices = webhook_notices(requests[0]);
    REQUIRE(notices.size() == 1);
    CHECK(notices[0]["certificate"] == "broken");
    CHECK(notices[0]["event"] == "renewal_failure");
    CHECK(notices[0]["severity"] == "warning");
    auto mails = recorded(tools + "/mail/messages.jsonl", 1);
    REQUIRE(mails.size() == 1);
    CHECK(mails[0]["rcpt_tos"] == json::array({"ops@example.test"}));
    CHECK(mails[0]["login"] == "certfleet@example.test");
    CHECK(mails[0]["data"].get<std::string>().find("broken") != std::string::npos);
    CHECK(read_file(exec_log) == "renewal_failure broken warning\n");
    CHECK(read_file(tools + "/hooks.log") == "pre\npost\n");
    for (const auto& h : Lab::get().hosts())
        CHECK(!served_serial(h.address, Lab::get().nginx_port, "media.example.test").empty());

    auto lint = run_command({"/bin/sh", "-c", "promtool check metrics < '" + textfile + "'"});
    INFO(read_file(textfile) << lint.out << lint.err);
    CHECK(lint.exit_code == 0);
    std::string metrics = read_file(textfile);
    CHECK(
        metrics.find("certfleet_certificate_not_after_timestamp_seconds{certificate=\"media\"}") !=
        std::string::npos);
    CHECK(metrics.find("certfleet_served_current{certificate=\"media\",host=\"cdn-fra-1\"} 1") !=
          std::string::npos);
    CHECK(metrics.find("certfleet_last_run_success 0") != std::string::npos);
    CHECK(metrics.find("certfleet_run_failures{kind=\"renewal\"} 1") != std::string::npos);

    // Run 2: nothing new (broken backs off, its notice was already sent).
    auto second = run_certfleet(cf_args(t, {"--json", "run", "--jitter", "0s", "--no-audit"}));
    INFO(second.out << second.err);
    CHECK(second.exit_code == 1);
    auto doc = json::parse(second.out);
    CHECK(doc["check"]["state"] == "WARNING");
    for (const auto& n : doc["notifications"])
        CHECK(n["sent"] == 0);
    CHECK(recorded(tools + "/hook/requests.jsonl", 2).size() == 1);
    CHECK(recorded(tools + "/mail/messages.jsonl", 2).size() == 1);
    // Nothing was issued, so pre / post (which may stop a service) did not run.
    CHECK(read_file(tools + "/hooks.log") == "pre\npost\n");

    // Fixed: the DNS provider is repaired and broken issued by hand; the
    // next run sends one "resolved" notice on every channel, and -q is silent.
    auto fixed = json::parse(read_file(t.path));
    fixed["certificates"]["broken"]["dns"] = "lab-bind";
    write_file(t.path, fixed.dump(2), 0600);
    REQUIRE(run_certfleet(cf_args(t, {"-q", "issue", "broken", "--force"})).exit_code == 0);
    auto third = run_certfleet(cf_args(t, {"-q", "run", "--jitter", "0s", "--no-audit"}));
    INFO(third.out << third.err);
    CHECK(third.exit_code == 0);
    CHECK(third.out.empty());
    CHECK(third.err.empty());
    requests = recorded(tools + "/hook/requests.jsonl", 2);
    REQUIRE(requests.size() == 2);
    notices = webhook_notices(requests[1]);
    REQUIRE(notices.size() == 1);
    CHECK(notices[0]["event"] == "resolved");
    CHECK(notices[0]["certificate"] == "broken");
    CHECK(recorded(tools + "/mail/messages.jsonl", 2).size() == 2);
    CHECK(read_file(exec_log) == "renewal_failure broken warning\nresolved broken resolved\n");
    metrics = read_file(textfile);
    CHECK(metrics.find("certfleet_last_run_success 1") != std::string::npos);

    // And then silence.
    CHECK(run_certfleet(cf_args(t, {"-q", "run", "--jitter", "0s", "--no-audit"})).exit_code == 0);
    CHECK(recorded(tools + "/hook/requests.jsonl", 3).size() == 2);
}
