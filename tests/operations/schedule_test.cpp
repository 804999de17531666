// What `schedule` renders: systemd units and crontab lines for a few
// inventories (quoting of odd paths, privilege tools, what must stay writable).
#include "operations/schedule.hpp"

#include <set>

#include <catch2/catch.hpp>

using namespace certfleet;
using operations::cron_word;
using operations::unit_word;

namespace {

inventory::Inventory plain_inventory() {
    inventory::Inventory inv;
    inv.state_dir = "/var/lib/certfleet";
    inventory::Host edge;
    edge.name = "edge-1";
    edge.settings.test_command = "sudo nginx -t";  // over SSH: not the scheduled run's sandbox
    inv.hosts["edge-1"] = edge;
    return inv;
}

// A local web server tested with sudo, a Prometheus textfile, an exec
// notifier using doas and a hook using pkexec.
inventory::Inventory local_inventory() {
    inventory::Inventory inv = plain_inventory();
    inventory::Host web;
    web.name = "web";
    web.transport = inventory::HostTransport::Local;
    web.settings.cert_root = "/srv/web live";
    web.settings.test_command = "sudo nginx -t";
    web.settings.reload_command = "systemctl reload nginx";
    inv.hosts["web"] = web;
    inv.notify.push_back(inventory::PrometheusNotifierSettings{"/var/lib/node/certfleet.prom"});
    inv.notify.push_back(inventory::ExecNotifierSettings{"doas /usr/local/bin/page", {}});
    inv.hooks.commands[inventory::HookEvent::Pre] = "pkexec /usr/local/bin/prepare";
    inv.hooks.commands[inventory::HookEvent::Post] = "/usr/local/bin/pseudo-tidy";
    inv.dns.providers["script"].command = "/usr/local/bin/dns-hook";
    return inv;
}

const operations::ScheduledRun kRun{"/usr/bin/certfleet", "/etc/certfleet/certfleet.json", false};

}  // namespace

TEST_CASE("unit and cron words quote what their parsers would split or expand", "[schedule]") {
    CHECK(unit_word("/usr/bin/certfleet") == "/usr/bin/certfleet");
    CHECK(unit_word("/opt/my certs/inv.json") == "\"/opt/my certs/inv.json\"");
    CHECK(unit_word("/srv/100%/$HOME") == "/srv/100%%/$$HOME");  // specifier, expansion
    CHECK(unit_word("say \"hi\"\\") == "\"say \\\"hi\\\"\\\\\"");
    CHECK(unit_word("it's;") == "\"it's;\"");
    CHECK(unit_word("") == "\"\"");

    CHECK(cron_word("/usr/bin/certfleet") == "/usr/bin/certfleet");
    CHECK(cron_word("-c") == "-c");
    CHECK(cron_word("/opt/my certs/inv.json") == "'/opt/my certs/inv.json'");
    CHECK(cron_word("it's") == "'it'\\''s'");
    CHECK(cron_word("/srv/50%") == "'/srv/50\\%'");  // '%' ends a crontab command
    CHECK(cron_word("$HOME") == "'$HOME'");
    CHECK(cron_word("") == "''");
}

TEST_CASE("privilege tools are found as words of a command only", "[schedule]") {
    CHECK(operations::uses_privilege_tool("sudo nginx -t"));
    CHECK(operations::uses_privilege_tool("nginx -t && sudo systemctl reload nginx"));
    CHECK(operations::uses_privilege_tool("echo x | doas tee /etc/x"));
    CHECK(operations::uses_privilege_tool("(pkexec true)"));
    CHECK_FALSE(operations::uses_privilege_tool("/usr/bin/sudoedit /etc/x"));
    CHECK_FALSE(operations::uses_privilege_tool("pseudo-tidy"));
    CHECK_FALSE(operations::uses_privilege_tool(""));
}

TEST_CASE("an inventory without local hosts gets the strict sandbox", "[schedule]") {
    auto needs = operations::inspect_needs(plain_inventory());
    CHECK(needs.state_dir == "/var/lib/certfleet");
    CHECK(needs.writable.empty());
    CHECK_FALSE(needs.local_commands);
    CHECK(needs.privileged.empty());  // the SSH host's sudo runs there, not here

    std::string service = operations::render_service(kRun, needs);
    CHECK_THAT(service, Catch::Contains("\nExecStart=/usr/bin/certfleet -q -c "
                                        "/etc/certfleet/certfleet.json run --jitter 0s\n"));
    CHECK_THAT(service, Catch::Contains("\nProtectSystem=strict\n"));
    CHECK_THAT(service, Catch::Contains("\nStateDirectory=certfleet\nStateDirectoryMode=0700\n"));
    CHECK_THAT(service, !Catch::Contains("\nReadWritePaths="));
    CHECK_THAT(service, Catch::Contains("\nNoNewPrivileges=true\nRestrictSUIDSGID=true\n"));
}

TEST_CASE("local hosts and textfiles stay writable and privilege tools keep setuid", "[schedule]") {
    auto needs = operations::inspect_needs(local_inventory());
    CHECK(needs.writable == std::set<std::string>{"/srv/web live", "/var/lib/node"});
    CHECK(needs.local_commands);
    CHECK(needs.privileged ==
          std::vector<std::string>{"hosts.web.test_command", "notify (exec)", "hooks.pre"});

    std::string service = operations::render_service(kRun, needs);
    CHECK_THAT(service, Catch::Contains("\nProtectSystem=full\n"));
    CHECK_THAT(service, Catch::Contains("\nReadWritePaths=-\"/srv/web live\"\n"
                                        "ReadWritePaths=-/var/lib/node\n"));
    CHECK_THAT(service, !Catch::Contains("\nNoNewPrivileges="));
    CHECK_THAT(service, Catch::Contains("#   hosts.web.test_command\n#   notify (exec)\n"
                                        "#   hooks.pre\n"));
}

TEST_CASE("a state directory outside /var/lib is passed on and made writable", "[schedule]") {
    auto inv = plain_inventory();
    inv.state_dir = "/srv/cert fleet/state";
    auto needs = operations::inspect_needs(inv);
    operations::ScheduledRun run{"/opt/cert fleet/bin/certfleet", "/etc/certfleet/100%.json", true};
    CHECK(operations::run_args(run, needs, "0s") ==
          std::vector<std::string>{"-q", "-c", "/etc/certfleet/100%.json", "--state-dir",
                                   "/srv/cert fleet/state", "run", "--jitter", "0s"});
    std::string service = operations::render_service(run, needs);
    CHECK_THAT(service, Catch::Contains("\nExecStart=\"/opt/cert fleet/bin/certfleet\" -q -c "
                                        "/etc/certfleet/100%%.json --state-dir "
                                        "\"/srv/cert fleet/state\" run --jitter 0s\n"));
    CHECK_THAT(service, Catch::Contains("#   install -d -m 0700 /srv/cert fleet/state\n"
                                        "ReadWritePaths=-\"/srv/cert fleet/state\"\n"));
    CHECK_THAT(service, !Catch::Contains("StateDirectory="));
}

TEST_CASE("the crontab line runs twice a day with jitter, quoted for /bin/sh", "[schedule]") {
    auto needs = operations::inspect_needs(plain_inventory());
    operations::ScheduledRun run{"/usr/bin/certfleet", "/etc/cert fleet/50%.json", false};
    CHECK(operations::render_cron(run, needs, {7, 3}, false) ==
          "# certfleet: renew, deploy, check and notify twice a day (-q: cron mails only "
          "errors).\n"
          "# Install: certfleet schedule --cron > /etc/cron.d/certfleet\n"
          "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n"
          "7 3,15 * * * root /usr/bin/certfleet -q -c '/etc/cert fleet/50\\%.json' run "
          "--jitter 5m\n");
    std::string user = operations::render_cron(kRun, needs, {59, 11}, true);
    CHECK_THAT(user, Catch::EndsWith("\n59 11,23 * * * /usr/bin/certfleet -q -c "
                                     "/etc/certfleet/certfleet.json run --jitter 5m\n"));
    CHECK_THAT(user, !Catch::Contains("PATH="));
    // The same machine and inventory: the same line on every call; others spread.
    std::set<std::pair<int, int>> seen;
    for (int i = 0; i < 50; ++i) {
        auto at = operations::stable_cron_time("host-" + std::to_string(i) + " /etc/c.json");
        CHECK((at.minute >= 0 && at.minute <= 59 && at.hour >= 0 && at.hour <= 11));
        const auto again =
            operations::stable_cron_time("host-" + std::to_string(i) + " /etc/c.json");
        CHECK((again.minute == at.minute && again.hour == at.hour));
        seen.insert({at.hour, at.minute});
    }
    CHECK(seen.size() > 40);
}

TEST_CASE("the timer fires twice a day, randomized and persistent", "[schedule]") {
    std::string timer = operations::render_timer();
    CHECK_THAT(timer, Catch::Contains("\nOnCalendar=*-*-* 00,12:00:00\nRandomizedDelaySec=1h\n"
                                      "Persistent=true\n"));
    CHECK_THAT(timer, Catch::Contains("\nUnit=certfleet.service\n"));
}
