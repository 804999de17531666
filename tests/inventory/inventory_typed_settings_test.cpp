// Settings parsed once at load time into typed values: rollout batches, key
// modes, notifiers and hooks. Invalid ones are FILE:LINE:COL errors.
#include "support/inventory_test_support.hpp"

namespace {

// The group "g" with `rollout` as written.
LoadResult with_rollout(const std::string& rollout) {
    return parse(with_acme(R"("groups": { "g": { "rollout": )" + rollout + " } }"));
}

LoadResult with_key_mode(const std::string& mode) {
    return parse(with_acme(R"("defaults": { "key_mode": )" + mode + " }"));
}

LoadResult with_notify(const std::string& notify, const std::string& base_dir = "/nonexistent") {
    return parse(with_acme(R"("notify": )" + notify), base_dir);
}

RolloutBatch batch_of(const LoadResult& result) {
    INFO(Catch::Detail::stringify(formatted(result)));
    REQUIRE(result.ok());
    return result.inventory->groups.at("g").rollout.batch;
}

constexpr RolloutBatch hosts(int n) {
    return {.unit = RolloutBatch::Unit::Hosts, .value = n};
}
constexpr RolloutBatch percent(int n) {
    return {.unit = RolloutBatch::Unit::Percent, .value = n};
}

}  // namespace

TEST_CASE("rollout batch: a host count or a percentage, typed at load", "[inventory]") {
    CHECK(batch_of(with_rollout(R"({ "canary": 1 })")) == percent(100));  // the default
    CHECK(batch_of(with_rollout(R"({ "batch": 5 })")) == hosts(5));
    CHECK(batch_of(with_rollout(R"({ "batch": "5" })")) == hosts(5));
    CHECK(batch_of(with_rollout(R"({ "batch": "25%" })")) == percent(25));
    CHECK(batch_of(with_rollout(R"({ "batch": "100%" })")) == percent(100));
    CHECK(batch_of(with_rollout(R"({ "batch": "1%" })")) == percent(1));

    const std::string expected =
        "inv.json:1:101: groups.g.rollout.batch: expected a host count (at least 1) or a "
        "percentage like \"25%\"";
    for (std::string bad : {R"("0")", R"(0)", R"(-1)", R"("0%")", R"("101%")", R"("25 %")",
                            R"("%")", R"("x")", R"(1.5)", R"(true)", R"("99999999999")"}) {
        INFO(bad);
        auto result = with_rollout(R"({ "batch": )" + bad + " }");
        CHECK(formatted(result) == std::vector<std::string>{expected});
        CHECK_FALSE(result.inventory);
    }
}

TEST_CASE("key_mode: octal permission bits without others', typed at load", "[inventory]") {
    CHECK(HostSettings{}.key_mode == 0600);  // the built-in default

    auto host_mode = [](const std::string& mode) {
        auto result = parse(with_acme(R"("defaults": { "key_mode": )" + mode + R"( },
  "hosts": { "h": { "transport": "local" } })"));
        INFO(Catch::Detail::stringify(formatted(result)));
        REQUIRE(result.ok());
        return result.inventory->hosts.at("h").settings.key_mode;
    };
    CHECK(host_mode(R"("0640")") == 0640);
    CHECK(host_mode(R"("640")") == 0640);  // three digits: the leading 0 is implied
    CHECK(host_mode(R"("0400")") == 0400);
    CHECK(host_mode(R"("0000")") == 0);

    const std::string at = "inv.json:1:86: defaults.key_mode: ";
    CHECK(formatted(with_key_mode(R"("0644")")) ==
          std::vector<std::string>{at +
                                   "'0644' lets every user read or change the private key; use "
                                   "\"0600\" or \"0640\" with key_group"});
    CHECK(formatted(with_key_mode(R"(600)")) ==
          std::vector<std::string>{at + "expected an octal mode as a string, like \"0640\""});
    for (std::string bad : {"1600", "4640", "0680", "60", "06400", "0x1a0", "rw-------", ""}) {
        INFO(bad);
        CHECK(formatted(with_key_mode("\"" + bad + "\"")) ==
              std::vector<std::string>{at +
                                       "expected an octal mode like \"0600\" or \"0640\", "
                                       "not '" +
                                       bad + "'"});
    }
    CHECK(formatted(with_key_mode("null")) ==
          std::vector<std::string>{at + "expected a string, not null"});
}

TEST_CASE("notifiers load into one typed struct per type", "[inventory]") {
    TempDir dir;
    dir.write("ca.pem", "-----BEGIN CERTIFICATE-----\n", 0644);
    dir.write("notify-hook", "#!/bin/sh\n", 0755);
    dir.mkdir("metrics");
    ::setenv("CERTFLEET_TEST_SMTP", "hunter2", 1);
    auto result = with_notify(R"([
    { "type": "webhook", "url": "https://hooks.example/T0" },
    { "type": "webhook", "url": "http://hooks.example/T1", "format": "slack", "ca_bundle": "ca.pem" },
    { "type": "email", "smtp_url": "smtps://mail.example:465", "from": "cf@example.org",
      "to": ["a@example.org", "b@example.org"], "password_file": "env:CERTFLEET_TEST_SMTP",
      "username": "certfleet", "ca_bundle": "ca.pem" },
    { "type": "email", "smtp_url": "smtp://mail.example", "from": "cf@example.org", "to": ["a@example.org"] },
    { "type": "exec", "command": "notify-hook --all", "timeout": "30s" },
    { "type": "prometheus", "textfile": "metrics/certfleet.prom" } ])",
                              dir.path());
    ::unsetenv("CERTFLEET_TEST_SMTP");
    INFO(Catch::Detail::stringify(formatted(result)));
    REQUIRE(result.ok());
    CHECK(result.diagnostics.empty());
    const auto& notify = result.inventory->notify;
    REQUIRE(notify.size() == 6);

    const auto& plain = std::get<WebhookNotifierSettings>(notify[0]);
    CHECK(plain.url == "https://hooks.example/T0");
    CHECK(plain.format == WebhookFormat::Json);
    CHECK(plain.ca_bundle.empty());
    const auto& slack = std::get<WebhookNotifierSettings>(notify[1]);
    CHECK(slack.format == WebhookFormat::Slack);
    CHECK(slack.ca_bundle == dir.path() + "/ca.pem");

    const auto& mail = std::get<EmailNotifierSettings>(notify[2]);
    CHECK(mail.smtp_url == "smtps://mail.example:465");
    CHECK(mail.from == "cf@example.org");
    CHECK(mail.to == std::vector<std::string>{"a@example.org", "b@example.org"});
    CHECK(mail.password_file == "env:CERTFLEET_TEST_SMTP");  // read when sending, not here
    CHECK(mail.username == "certfleet");
    CHECK(mail.ca_bundle == dir.path() + "/ca.pem");
    const auto& bare = std::get<EmailNotifierSettings>(notify[3]);
    CHECK(bare.password_file.empty());
    CHECK(bare.username.empty());

    const auto& exec = std::get<ExecNotifierSettings>(notify[4]);
    CHECK(exec.command == "notify-hook --all");  // a shell command: never resolved
    CHECK(exec.timeout == Seconds(30));
    CHECK(std::get<PrometheusNotifierSettings>(notify[5]).textfile ==
          dir.path() + "/metrics/certfleet.prom");
}

TEST_CASE("an invalid notifier is an error at its member", "[inventory]") {
    CHECK(formatted(with_notify(R"({ "type": "exec" })")) ==
          std::vector<std::string>{"inv.json:1:70: notify: expected an array of notifier objects"});
    auto result = with_notify(R"([
    { "type": "webhook", "url": "ftp://hooks.example/T0", "format": "xml" },
    { "type": "email", "smtp_url": "smtp://m", "from": "a@b", "to": [] },
    { "type": "email", "smtp_url": "https://m", "from": "", "to": ["c@d", 1] },
    { "type": "exec", "command": "/bin/true", "timeout": "0s" },
    { "type": "exec", "command": "", "timeout": "2 min" },
    { "type": "prometheus" },
    { "type": "pager", "number": "555" },
    "webhook",
    { "url": "https://hooks.example/T2" } ])");
    CHECK_FALSE(result.inventory);
    CHECK(formatted(result) ==
          std::vector<std::string>{
              "inv.json:2:33: notify[0].url: expected an http:// or https:// URL",
              "inv.json:2:69: notify[0].format: 'xml' is not one of json or slack",
              "inv.json:3:69: notify[1].to: must list at least one address",
              "inv.json:4:36: notify[2].smtp_url: expected an smtp:// or smtps:// URL",
              "inv.json:4:57: notify[2].from: must not be empty",
              "inv.json:4:75: notify[2].to[1]: expected a string, not a number",
              "inv.json:5:58: notify[3].timeout: must be longer than 0s",
              "inv.json:6:34: notify[4].command: must not be empty",
              "inv.json:6:49: notify[4].timeout: invalid duration '2 min': use a number and a "
              "unit, like \"90s\", \"15m\", \"12h\" or \"21d\"",
              "inv.json:7:5: notify[5].textfile: required key is missing",
              "inv.json:8:15: notify[6].type: 'pager' is not one of webhook, email, prometheus "
              "or exec",
              "inv.json:9:5: notify[7]: expected an object, not a string",
              "inv.json:10:5: notify[8].type: required key is missing",
          });
}

TEST_CASE("hooks load as commands keyed by event, with their timeout", "[inventory]") {
    auto result = parse(with_acme(R"("hooks": { "pre": "systemctl stop x", "post": "",
  "warning": "logger certfleet", "timeout": "45s" })"));
    INFO(Catch::Detail::stringify(formatted(result)));
    REQUIRE(result.ok());
    const HookSettings& hooks = result.inventory->hooks;
    // An empty command is kept: the event is configured, it just does nothing.
    CHECK(hooks.commands ==
          std::map<HookEvent, std::string>{{HookEvent::Pre, "systemctl stop x"},
                                           {HookEvent::Post, ""},
                                           {HookEvent::Warning, "logger certfleet"}});
    CHECK(hooks.timeout == Seconds(45));
    CHECK(parse(with_acme("")).inventory->hooks.commands.empty());
    CHECK(parse(with_acme("")).inventory->hooks.timeout == Seconds(120));

    for (HookEvent event : kHookEvents)
        CHECK(parse_hook_event(hook_event_name(event)) == event);
    CHECK_FALSE(parse_hook_event("timeout"));

    CHECK(formatted(parse(with_acme(R"("hooks": ["pre"])"))) ==
          std::vector<std::string>{"inv.json:1:69: hooks: expected an object, not an array"});
    CHECK(formatted(
              parse(with_acme(R"("hooks": { "deploy": ["x"], "timeout": "0s", "renew": "x" })"))) ==
          std::vector<std::string>{
              "inv.json:1:81: hooks.deploy: expected a string, not an array",
              "inv.json:1:99: hooks.timeout: must be longer than 0s",
              "inv.json:1:105: hooks.renew: unknown key 'renew' (expected pre, post, deploy, "
              "failure, warning, timeout)",
          });
}
