// What status and check say is true (issue #15), against the lab's pebble
// and fleet. Point 1: a revoked certificate is never "ok" (status, check,
// revoke's report and confirmation, rollback needing --force). Point 5:
// status reports what is there (missing files, an unreadable host).
#include <catch2/catch.hpp>

#include "core/time.hpp"
#include "fleet_support.hpp"

using namespace certfleet;
using namespace certfleet::testing;
using nlohmann::json;

namespace {

std::string first_line(const std::string& text) {
    return text.substr(0, text.find('\n'));
}

}  // namespace

TEST_CASE("revoked is never ok: status, check, revoke's report and rollback", "[revoke]") {
    const auto hosts = Lab::get().hosts();
    REQUIRE(hosts.size() >= 2);
    auto t = write_fleet_inventory("revoked");
    auto renew = run_certfleet(cf_args(t, {"--json", "renew"}));
    INFO(renew.err);
    REQUIRE(renew.exit_code == 0);
    const std::string old_serial =
        json::parse(run_certfleet(cf_args(t, {"--json", "status", "--no-hosts"}))
                        .out)["certificates"][0]["serial"];

    // No terminal and no --yes: refused, nothing sent.
    auto unconfirmed = run_certfleet(cf_args(t, {"revoke", "media"}));
    CHECK(unconfirmed.exit_code == 64);
    CHECK_THAT(unconfirmed.err, Catch::Contains("add --yes"));
    // A dry run names the serial and the hosts and sends nothing.
    auto dry = run_certfleet(cf_args(t, {"--json", "revoke", "media", "--dry-run"}));
    INFO(dry.err);
    REQUIRE(dry.exit_code == 0);
    auto dry_doc = json::parse(dry.out);
    CHECK(dry_doc["dry_run"] == true);
    CHECK(dry_doc["revoked"] == false);
    CHECK(dry_doc["serial"] == old_serial);
    CHECK(dry_doc["hosts"].size() == hosts.size());
    CHECK(run_certfleet(cf_args(t, {"check", "--probe"})).exit_code == 0);

    auto revoked =
        run_certfleet(cf_args(t, {"revoke", "media", "--reason", "keyCompromise", "--yes"}));
    INFO(revoked.out << revoked.err);
    REQUIRE(revoked.exit_code == 0);
    CHECK_THAT(revoked.out, Catch::Contains("revoked media serial " + old_serial));
    for (const auto& h : hosts)
        CHECK_THAT(revoked.out, Catch::Contains(h.name));
    CHECK_THAT(revoked.out, Catch::Contains("next step: run `certfleet renew media`"));

    // status: the store's certificate and every host serving it are revoked.
    auto st = run_certfleet(cf_args(t, {"--json", "status"}));
    auto doc = json::parse(st.out);
    const json cert = doc["certificates"][0];
    CHECK(cert["state"] == "revoked");
    CHECK(cert["revoked"]["reason"] == "keyCompromise");
    CHECK(core::parse_rfc3339(cert["revoked"]["at"].get<std::string>()));
    CHECK_THAT(cert["reason"].get<std::string>(), Catch::Contains("reason keyCompromise"));
    REQUIRE(cert["hosts"].size() == hosts.size());
    for (const auto& h : cert["hosts"]) {
        CHECK(h["state"] == "revoked");
        CHECK_THAT(h["detail"].get<std::string>(), Catch::Contains("serves serial " + old_serial));
    }
    auto table = run_certfleet(cf_args(t, {"status"}));
    CHECK_THAT(table.out, Catch::Contains("revoked"));

    // check: CRITICAL, the store's item and every host's.
    auto check = run_certfleet(cf_args(t, {"--json", "check", "--probe"}));
    CHECK(check.exit_code == 2);
    auto items = json::parse(check.out)["items"];
    size_t revoked_items = 0;
    for (const auto& item : items)
        if (item["kind"] == "revoked") {
            ++revoked_items;
            CHECK(item["severity"] == "critical");
        }
    CHECK(revoked_items == hosts.size() + 1);
    auto plain = run_certfleet(cf_args(t, {"check"}));
    CHECK(plain.exit_code == 2);
    CHECK(first_line(plain.out).rfind(
              "CERTFLEET CRITICAL - media: serial " + old_serial + " was revoked at ", 0) == 0);

    // renew replaces it everywhere; then rolling back to it needs --force.
    auto replaced = run_certfleet(cf_args(t, {"--json", "renew"}));
    INFO(replaced.err);
    REQUIRE(replaced.exit_code == 0);
    CHECK(run_certfleet(cf_args(t, {"check", "--probe"})).exit_code == 0);
    const auto& h = hosts[1];
    auto refused = run_certfleet(cf_args(t, {"rollback", "media", "--host", h.name}));
    CHECK(refused.exit_code == 1);
    CHECK_THAT(refused.err, Catch::Contains("revoked"));
    CHECK_THAT(refused.err, Catch::Contains("--force"));
    // Nothing changed and nothing was recorded.
    CHECK(run_certfleet(cf_args(t, {"check", "--probe"})).exit_code == 0);
    auto forced = run_certfleet(cf_args(t, {"rollback", "media", "--host", h.name, "--force"}));
    INFO(forced.err);
    CHECK(forced.exit_code == 0);
    auto after = json::parse(run_certfleet(cf_args(t, {"--json", "status"})).out);
    for (const auto& hs : after["certificates"][0]["hosts"])
        CHECK(hs["state"] == (hs["name"] == h.name ? "revoked" : "current"));
}

TEST_CASE("status reports what is there: missing files, an unreadable host", "[status]") {
    const auto hosts = Lab::get().hosts();
    REQUIRE(hosts.size() >= 3);
    auto t = write_fleet_inventory("status-truth");
    auto renew = run_certfleet(cf_args(t, {"--json", "renew"}));
    INFO(renew.err);
    REQUIRE(renew.exit_code == 0);

    // Files deleted on one host: nginx still serves the pair from memory,
    // but the host has nothing: missing, with where and the fix.
    const auto& gone = hosts[0];
    const std::string dir = gone.cert_root + "/media";
    REQUIRE(run_command({"mv", dir, dir + ".away"}).exit_code == 0);
    auto st = run_certfleet(cf_args(t, {"--json", "status"}));
    REQUIRE(run_command({"mv", dir + ".away", dir}).exit_code == 0);
    INFO(st.out << st.err);
    for (const auto& h : json(json::parse(st.out)["certificates"][0]["hosts"])) {
        if (h["name"] != gone.name) {
            CHECK(h["state"] == "current");
            continue;
        }
        CHECK(h["state"] == "missing");
        CHECK_THAT(h["detail"].get<std::string>(), Catch::Contains(dir + "/fullchain.pem"));
        CHECK_THAT(h["detail"].get<std::string>(),
                   Catch::Contains("certfleet deploy media --host " + gone.name));
    }

    // A host key that cannot be verified: unknown with the reason, never
    // current, though the TLS probe sees the current serial.
    auto wrong = write_fleet_inventory("status-hostkey", [&](json& inv) {
        inv["state_dir"] = t.state_dir;
        inv["defaults"]["ssh"]["known_hosts"] = Lab::get().ssh_known_hosts_wrong;
    });
    auto unknown = run_certfleet(cf_args(wrong, {"--json", "status"}));
    INFO(unknown.err);
    CHECK(unknown.exit_code == 0);
    for (const auto& h : json(json::parse(unknown.out)["certificates"][0]["hosts"])) {
        CHECK(h["state"] == "unknown");
        CHECK_THAT(h["detail"].get<std::string>(), Catch::Contains("HOST KEY CHANGED"));
        CHECK_FALSE(h["served_serial"].get<std::string>().empty());
    }
    auto table = run_certfleet(cf_args(wrong, {"status"}));
    CHECK_THAT(table.out, Catch::Contains("unknown"));
    CHECK_THAT(table.out, Catch::Contains("could not read the host"));
}

TEST_CASE("a failed attempt stays visible until one succeeds, and run retries it by itself",
          "[status][failure]") {
    const Lab& lab = Lab::get();
    auto t = write_fleet_inventory(
        "failure-clears", [](json& inv) { inv["certificates"]["media"].erase("deploy_to"); });
    REQUIRE(run_certfleet(cf_args(t, {"-q", "issue"})).exit_code == 0);
    CHECK(run_certfleet(cf_args(t, {"check"})).exit_code == 0);

    // A forced attempt on a certificate that is not due fails: DNS is down.
    lab.stop_dns();
    auto failed = run_certfleet(cf_args(t, {"--json", "issue", "--force"}));
    lab.start_dns();
    REQUIRE(failed.exit_code == 2);
    auto check = run_certfleet(cf_args(t, {"check"}));
    CHECK(check.exit_code == 1);
    CHECK_THAT(first_line(check.out), Catch::Contains("renewal failing since"));
    auto st = json::parse(run_certfleet(cf_args(t, {"--json", "status", "--no-hosts"})).out);
    CHECK(st["certificates"][0]["state"] == "ok");
    CHECK(st["certificates"][0]["failure"]["attempts"] == 1);
    CHECK_THAT(st["certificates"][0]["reason"].get<std::string>(),
               Catch::Contains("last attempt failed at"));
    auto table = run_certfleet(cf_args(t, {"status", "--no-hosts"}));
    CHECK_THAT(table.out, Catch::Contains("ok, failing"));

    // Within the backoff, run defers the retry and says why.
    auto early = run_certfleet(cf_args(t, {"--json", "run", "--jitter", "0", "--no-audit"}));
    CHECK(json::parse(early.out)["certificates"][0]["action"] == "deferred");
    // The backoff (60 s after one failure) has passed: run retries though the
    // certificate is not due, succeeds, and the warning is gone.
    REQUIRE(run_command(
                {"sqlite3", t.state_dir + "/ledger.sqlite", "UPDATE failures SET at = at - 120"})
                .exit_code == 0);
    auto retried = run_certfleet(cf_args(t, {"--json", "run", "--jitter", "0", "--no-audit"}));
    INFO(retried.err);
    auto c = json::parse(retried.out)["certificates"][0];
    CHECK(c["action"] == "issued");
    CHECK_THAT(c["reason"].get<std::string>(), Catch::Contains("retrying"));
    CHECK(retried.exit_code == 0);
    CHECK(run_certfleet(cf_args(t, {"check"})).exit_code == 0);
    auto after = json::parse(run_certfleet(cf_args(t, {"--json", "status", "--no-hosts"})).out);
    CHECK(after["certificates"][0]["failure"].is_null());
}

TEST_CASE("dry runs mark only what would change", "[dry-run]") {
    auto hosts = Lab::get().hosts();
    REQUIRE(hosts.size() >= 2);
    auto t = write_fleet_inventory("dry-run-truth");
    // Fresh inventory: renew --dry-run shows issue, then deploy to every host.
    auto fresh = run_certfleet(cf_args(t, {"--json", "renew", "--dry-run"}));
    INFO(fresh.err);
    REQUIRE(fresh.exit_code == 0);
    auto plan = json::parse(fresh.out);
    CHECK(plan["certificates"][0]["action"] == "planned");
    REQUIRE(plan["hosts"].size() == hosts.size());
    for (const auto& h : json(plan["hosts"])) {
        CHECK(h["result"] == "planned");
        CHECK_THAT(h["note"].get<std::string>(), Catch::Contains("the issue above obtains"));
    }
    REQUIRE(run_certfleet(cf_args(t, {"-q", "renew"})).exit_code == 0);

    // Everything current: nothing is planned.
    auto none = run_certfleet(cf_args(t, {"--json", "deploy", "--dry-run"}));
    for (const auto& h : json(json::parse(none.out)["hosts"]))
        CHECK(h["result"] == "unchanged");
    auto renew_none = run_certfleet(cf_args(t, {"--json", "renew", "--dry-run"}));
    CHECK(json::parse(renew_none.out)["certificates"][0]["action"] == "unchanged");
    for (const auto& h : json(json::parse(renew_none.out)["hosts"]))
        CHECK(h["result"] == "unchanged");

    // One host on an older version (issued again, deployed elsewhere): only it.
    const auto& h = hosts[0];
    REQUIRE(run_certfleet(cf_args(t, {"-q", "issue", "--force"})).exit_code == 0);
    std::vector<std::string> others;
    for (const auto& o : hosts)
        if (o.name != h.name)
            others.push_back(o.name);
    std::vector<std::string> args{"-q", "deploy"};
    for (const auto& o : others) {
        args.push_back("--host");
        args.push_back(o);
    }
    REQUIRE(run_certfleet(cf_args(t, args)).exit_code == 0);
    auto one = run_certfleet(cf_args(t, {"--json", "deploy", "--dry-run"}));
    INFO(one.out);
    for (const auto& hd : json(json::parse(one.out)["hosts"])) {
        CHECK(hd["result"] == (hd["name"] == h.name ? "planned" : "unchanged"));
        if (hd["name"] == h.name)
            CHECK_THAT(hd["note"].get<std::string>(), Catch::Contains("would deploy"));
    }
    auto table = run_certfleet(cf_args(t, {"deploy", "--dry-run"}));
    CHECK_THAT(table.out, Catch::Contains("would deploy"));
}

namespace {

// Runs certfleet on a pseudo-terminal (util-linux script), as an operator
// at a shell would; stdout and stderr both come back in `out`.
CommandResult run_on_terminal(const std::vector<std::string>& args) {
    std::string command = "'" + std::string(CERTFLEET_BINARY) + "'";
    for (const auto& a : args)
        command += " '" + a + "'";
    return run_command({"script", "-qec", command, "/dev/null"});
}

}  // namespace

TEST_CASE("live progress on a terminal only: orders validated, waves, hosts done", "[progress]") {
    auto t = write_fleet_inventory("progress");
    auto tty = run_on_terminal(cf_args(t, {"renew"}));
    INFO(tty.out);
    CHECK(tty.exit_code == 0);
    CHECK_THAT(tty.out, Catch::Contains("orders validated"));
    CHECK_THAT(tty.out, Catch::Contains("DNS propagation still waits for media"));
    CHECK_THAT(tty.out, Catch::Contains("cdn canary: "));
    const auto n = std::to_string(Lab::get().hosts().size());
    CHECK_THAT(tty.out, Catch::Contains("[" + n + "/" + n + " done, 0 failed]"));
    // Not under -q, not with --json, not when stderr is not a terminal.
    auto quiet = run_on_terminal(cf_args(t, {"-q", "renew", "--force"}));
    CHECK_THAT(quiet.out, !Catch::Contains("orders validated"));
    auto js = run_on_terminal(cf_args(t, {"--json", "renew", "--force"}));
    CHECK_THAT(js.out, !Catch::Contains("orders validated"));
    auto piped = run_certfleet(cf_args(t, {"renew", "--force"}));
    CHECK(piped.exit_code == 0);
    CHECK_THAT(piped.err, !Catch::Contains("orders validated"));
    CHECK_THAT(piped.err, !Catch::Contains(" done, "));
}

TEST_CASE("run quarantines an invalid certificate or host entry and runs the rest",
          "[run][quarantine]") {
    const auto hosts = Lab::get().hosts();
    std::string dir = make_temp_dir("quarantine");
    const std::string log = dir + "/notices.log";
    write_file(dir + "/notify-hook",
               "#!/bin/sh\necho \"$CERTFLEET_EVENT $CERTFLEET_CERT $CERTFLEET_HOST "
               "$CERTFLEET_SEVERITY\" >> '" +
                   log + "'\n",
               0755);
    auto t = write_fleet_inventory("quarantine", [&](json& inv) {
        inv["certificates"]["broken"] = {{"domains", {"broken.example.test"}},
                                         {"dns", "no-such-provider"}};
        inv["hosts"]["cdn-bad"] = {{"address", "127.0.0.1"}, {"port", "not a port"}};
        inv["certificates"]["media"]["deploy_to"].push_back("cdn-bad");
        inv["notify"] = {{{"type", "exec"}, {"command", dir + "/notify-hook"}},
                         {{"type", "prometheus"}, {"textfile", dir + "/certfleet.prom"}}};
    });
    CHECK(run_certfleet(cf_args(t, {"status"})).exit_code == 78);  // other commands refuse

    auto run = run_certfleet(cf_args(t, {"--json", "run", "--jitter", "0", "--no-audit"}));
    INFO(run.out << run.err);
    CHECK(run.exit_code == 2);  // CRITICAL: entries were left out
    CHECK_THAT(run.err, Catch::Contains("invalid entries left out of this run: certificate "
                                        "'broken', host 'cdn-bad'"));
    auto doc = json::parse(run.out);
    REQUIRE(doc["certificates"].size() == 1);
    CHECK(doc["certificates"][0]["name"] == "media");
    CHECK(doc["certificates"][0]["action"] == "issued");
    CHECK(doc["hosts"].size() == hosts.size());  // the rest of the fleet was deployed
    for (const auto& h : json(doc["hosts"]))
        CHECK(h["result"] == "deployed");
    int invalid = 0;
    for (const auto& item : json(doc["check"]["items"]))
        if (item["kind"] == "invalid_entry") {
            ++invalid;
            CHECK(item["severity"] == "critical");
        }
    CHECK(invalid == 2);
    const std::string told = read_file(log);
    CHECK_THAT(told, Catch::Contains("invalid_inventory broken  critical"));
    CHECK_THAT(told, Catch::Contains("invalid_inventory  cdn-bad critical"));
    const std::string metrics = read_file(dir + "/certfleet.prom");
    CHECK_THAT(metrics, Catch::Contains("certfleet_inventory_valid 0"));
    CHECK_THAT(metrics, Catch::Contains("certfleet_inventory_quarantined_entries 2"));

    // An error in a shared section stops the whole run, and says so: the
    // notify section is valid, so it notifies and writes the metrics.
    const json good = json::parse(read_file(t.path));
    json inv = good;
    inv["acme"]["directory"] = "not a url";
    inv["policy"]["renew_before"] = "soon";  // a broken policy does not silence the alarm
    write_file(t.path, inv.dump(2));
    auto stopped = run_certfleet(cf_args(t, {"--json", "run", "--jitter", "0", "--no-audit"}));
    INFO(stopped.out << stopped.err);
    CHECK(stopped.exit_code == 78);
    CHECK_THAT(stopped.err, Catch::Contains("acme.directory"));
    auto stopped_doc = json::parse(stopped.out);
    CHECK(stopped_doc["exit_code"] == 78);
    CHECK(stopped_doc["errors"].size() == 4);  // the two entries, acme, policy
    REQUIRE(stopped_doc["notifications"].size() == 1);
    CHECK(stopped_doc["notifications"][0]["sent"] == 1);
    CHECK(stopped_doc["notifications"][0]["error"].is_null());
    CHECK_THAT(read_file(log), Catch::Contains("invalid_inventory   critical"));
    const std::string alarm_metrics = read_file(dir + "/certfleet.prom");
    CHECK_THAT(alarm_metrics, Catch::Contains("certfleet_inventory_valid 0"));
    CHECK_THAT(alarm_metrics, Catch::Contains("certfleet_last_run_success 0"));
    // What expires when is still exported, from the store.
    CHECK_THAT(alarm_metrics, Catch::Contains("certfleet_certificate_not_after_timestamp_seconds{"
                                              "certificate=\"media\""));
    // Told once per notify_interval, not on every run.
    const std::string before = read_file(log);
    const auto lines = std::count(before.begin(), before.end(), '\n');
    CHECK(run_certfleet(cf_args(t, {"-q", "run", "--jitter", "0", "--no-audit"})).exit_code == 78);
    const std::string after = read_file(log);
    CHECK(std::count(after.begin(), after.end(), '\n') == lines);

    // A broken notify section: nobody can be told, and it says that.
    inv["notify"][0]["command"] = 42;
    write_file(t.path, inv.dump(2));
    auto silent = run_certfleet(cf_args(t, {"run", "--jitter", "0", "--no-audit"}));
    CHECK(silent.exit_code == 78);
    CHECK_THAT(silent.err, Catch::Contains("nobody was notified"));

    // Fixed: the next run loads it and the alarm resolves.
    json fixed = good;
    fixed["certificates"].erase("broken");
    fixed["hosts"].erase("cdn-bad");
    json targets = json::array();
    for (const auto& target : good["certificates"]["media"]["deploy_to"])
        if (target != "cdn-bad")
            targets.push_back(target);
    fixed["certificates"]["media"]["deploy_to"] = targets;
    write_file(t.path, fixed.dump(2));
    auto healthy = run_certfleet(cf_args(t, {"run", "--jitter", "0", "--no-audit"}));
    INFO(healthy.out << healthy.err);
    CHECK(healthy.exit_code == 0);
    CHECK_THAT(read_file(log), Catch::Contains("resolved   resolved"));
    CHECK_THAT(read_file(dir + "/certfleet.prom"), Catch::Contains("certfleet_inventory_valid 1"));
}
