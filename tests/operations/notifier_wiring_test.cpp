// The inventory's typed notifiers and hooks as hooks/ receives them.
#include "operations/notifier_wiring.hpp"

#include <catch2/catch.hpp>

#include "operations/issue.hpp"

using namespace certfleet;
namespace inv = certfleet::inventory;

TEST_CASE("notifier_config carries every field of each notifier type", "[notify]") {
    auto webhook = operations::notifier_config(inv::WebhookNotifierSettings{
        .url = "https://h/T0", .format = inv::WebhookFormat::Slack, .ca_bundle = "/ca.pem"});
    REQUIRE(webhook);
    const auto& w = std::get<hooks::WebhookConfig>(*webhook);
    CHECK(w.url == "https://h/T0");
    CHECK(w.format == hooks::WebhookFormat::Slack);
    CHECK(w.ca_bundle == "/ca.pem");

    auto email = operations::notifier_config(inv::EmailNotifierSettings{.smtp_url = "smtps://m",
                                                                        .from = "a@b",
                                                                        .to = {"c@d", "e@f"},
                                                                        .password_file = "env:P",
                                                                        .username = "u",
                                                                        .ca_bundle = "/ca.pem"});
    REQUIRE(email);
    const auto& e = std::get<hooks::EmailConfig>(*email);
    CHECK(e.smtp_url == "smtps://m");
    CHECK(e.from == "a@b");
    CHECK(e.to == std::vector<std::string>{"c@d", "e@f"});
    CHECK(e.password_file == "env:P");
    CHECK(e.username == "u");
    CHECK(e.ca_bundle == "/ca.pem");

    auto exec = operations::notifier_config(
        inv::ExecNotifierSettings{.command = "/bin/notify", .timeout = core::Seconds(30)});
    REQUIRE(exec);
    CHECK(std::get<hooks::ExecConfig>(*exec).command == "/bin/notify");
    CHECK(std::get<hooks::ExecConfig>(*exec).timeout == core::Seconds(30));

    CHECK_FALSE(operations::notifier_config(inv::PrometheusNotifierSettings{"/m/c.prom"}));
}

TEST_CASE("make_notifiers builds channels and skips prometheus", "[notify]") {
    std::vector<inv::NotifierSettings> notify{
        inv::PrometheusNotifierSettings{"/var/lib/node_exporter/certfleet.prom"},
        inv::ExecNotifierSettings{.command = "/etc/certfleet/notify-hook"},
        inv::EmailNotifierSettings{.smtp_url = "smtp://mail.example.org:587",
                                   .from = "certfleet@example.org",
                                   .to = {"ops@example.org", "oncall@example.org"},
                                   .password_file = "env:CERTFLEET_TEST_SMTP_PASSWORD",
                                   .username = "",
                                   .ca_bundle = ""},
    };
    hooks::NotifierOptions options;
    std::vector<std::string> asked;
    options.read_secret = [&](const std::string& ref) -> core::Result<std::string> {
        asked.push_back(ref);
        return std::string("hunter2");
    };
    auto made = operations::make_notifiers(notify, options);
    REQUIRE(made.ok());
    REQUIRE(made->size() == 2);
    CHECK((*made)[0]->channel() == "exec /etc/certfleet/notify-hook");
    CHECK((*made)[1]->channel() ==
          "email smtp://mail.example.org:587 to ops@example.org,oncall@example.org");
    CHECK(asked == std::vector<std::string>{"env:CERTFLEET_TEST_SMTP_PASSWORD"});
    CHECK(operations::textfile_paths(notify) ==
          std::vector<std::string>{"/var/lib/node_exporter/certfleet.prom"});
    CHECK(operations::make_notifiers({}, options)->empty());

    SECTION("an unreadable password names the notifier by its place in the inventory") {
        options.read_secret = [](const std::string&) -> core::Result<std::string> {
            return core::fail(core::ErrorKind::Io, "cannot read secret file /x: No such file");
        };
        auto failed = operations::make_notifiers(notify, options);
        REQUIRE_FALSE(failed.ok());
        CHECK(failed.error().message.find("notify[2]: email smtp://mail.example.org:587: "
                                          "password_file: cannot read") == 0);
    }
}

TEST_CASE("make_hook_runner knows the events the inventory sets a command for", "[hooks]") {
    inv::Inventory inventory;
    inventory.hooks.commands = {{inv::HookEvent::Pre, "/bin/true"}, {inv::HookEvent::Post, ""}};
    inventory.hooks.timeout = core::Seconds(5);
    const hooks::HookRunner runner = operations::make_hook_runner(inventory);
    CHECK(runner.has("pre"));
    CHECK(runner.has("post"));  // set, if empty: a killed run still owes it
    CHECK_FALSE(runner.has("deploy"));
    CHECK_FALSE(runner.has("timeout"));
}
