// `check` against the real lab: pebble issuing short-lived certificates
// (lab_start sets LAB_CERT_VALIDITY to 6 days), the fleet's nginx for --probe.
// Exit codes and the first line follow the Nagios plugin convention.
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "core/lock.hpp"
#include "core/time.hpp"
#include "fleet_support.hpp"

using namespace certfleet;
using namespace certfleet::testing;
using nlohmann::json;

namespace {

std::string first_line(const std::string& text) {
    return text.substr(0, text.find('\n'));
}

std::string at_offset(core::Seconds from_now) {
    return core::format_rfc3339(core::SystemClock().now() + from_now);
}

constexpr long kDay = 86400;

}  // namespace

TEST_CASE("check: exit codes and first line follow the Nagios convention", "[check]") {
    auto t = write_fleet_inventory("check-codes", [](json& inv) {
        inv["certificates"]["media"].erase("deploy_to");
        inv["policy"] = {{"warn_before", "2d"}, {"critical_before", "1d"}};
    });

    auto before = run_certfleet(cf_args(t, {"check"}));
    CHECK(before.exit_code == 1);
    CHECK(first_line(before.out).rfind("CERTFLEET WARNING - media: not issued yet", 0) == 0);

    REQUIRE(run_certfleet(cf_args(t, {"-q", "issue"})).exit_code == 0);
    auto ok = run_certfleet(cf_args(t, {"check"}));
    INFO(ok.out << ok.err);
    CHECK(ok.exit_code == 0);
    CHECK(first_line(ok.out).rfind("CERTFLEET OK - 1 checked, all OK; next expiry: media in ", 0) ==
          0);
    CHECK(first_line(ok.out).find("| critical=0 warning=0 unknown=0 ok=1") != std::string::npos);

    // The certificate lives 6 days: forecast into its last two days and its last day.
    auto warn =
        run_certfleet(cf_args(t, {"check", "--at", at_offset(core::Seconds{4 * kDay + 3600})}));
    CHECK(warn.exit_code == 1);
    CHECK(first_line(warn.out).rfind("CERTFLEET WARNING - media: expires in 1d", 0) == 0);
    auto crit =
        run_certfleet(cf_args(t, {"check", "--at", at_offset(core::Seconds{5 * kDay + 3600})}));
    CHECK(crit.exit_code == 2);
    CHECK(first_line(crit.out).rfind("CERTFLEET CRITICAL - media: expires in 2", 0) == 0);
    auto gone = run_certfleet(cf_args(t, {"check", "--at", at_offset(core::Seconds{8 * kDay})}));
    CHECK(gone.exit_code == 2);
    CHECK(first_line(gone.out).rfind("CERTFLEET CRITICAL - media: expired 2d", 0) == 0);

    // Fractions of the lifetime: 0.9 of 6 days is left 14.4 hours after issuance.
    auto frac = write_fleet_inventory("check-frac", [&](json& inv) {
        inv["certificates"]["media"].erase("deploy_to");
        inv["state_dir"] = t.state_dir;
        inv["policy"] = {{"warn_before", "0.9"}, {"critical_before", "0.1"}};
    });
    CHECK(run_certfleet(cf_args(frac, {"check"})).exit_code == 0);
    CHECK(
        run_certfleet(cf_args(frac, {"check", "--at", at_offset(core::Seconds{kDay})})).exit_code ==
        1);

    auto js = run_certfleet(
        cf_args(t, {"--json", "check", "--at", at_offset(core::Seconds{5 * kDay + 3600})}));
    auto doc = json::parse(js.out);
    CHECK(doc["state"] == "CRITICAL");
    REQUIRE(doc["items"].size() == 1);
    const auto& item = doc["items"][0];
    CHECK(item["certificate"] == "media");
    CHECK(item["source"] == "store");
    CHECK(item["severity"] == "critical");
    CHECK(item["host"].is_null());
    CHECK(item["serial"].get<std::string>().size() > 4);
    CHECK(item["seconds_left"].get<long>() < kDay);
    CHECK(item["seconds_left"].get<long>() > 0);
    CHECK(core::parse_rfc3339(item["not_after"].get<std::string>()));

    // Nothing to probe answers: UNKNOWN, not OK.
    auto unknown = write_fleet_inventory("check-unknown", [&](json& inv) {
        inv["state_dir"] = t.state_dir;
        inv["hosts"] = {{"ghost",
                         {{"transport", "local"},
                          {"cert_root", t.dir + "/ghost"},
                          {"verify", {{"address", "127.0.53.254"}, {"port", 1}}}}}};
        inv["certificates"]["media"]["deploy_to"] = {"ghost"};
        inv.erase("groups");
    });
    auto u = run_certfleet(cf_args(unknown, {"check", "--probe"}));
    INFO(u.out << u.err);
    CHECK(u.exit_code == 3);
    CHECK(first_line(u.out).rfind("CERTFLEET UNKNOWN - media@ghost: cannot see what it serves",
                                  0) == 0);
}

TEST_CASE("check --probe catches a host that serves an older certificate", "[check]") {
    auto t = write_fleet_inventory("check-probe");
    auto renew = run_certfleet(cf_args(t, {"-q", "renew"}));
    INFO(renew.out << renew.err);
    REQUIRE(renew.exit_code == 0);
    auto ok = run_certfleet(cf_args(t, {"check", "--probe"}));
    INFO(ok.out << ok.err);
    CHECK(ok.exit_code == 0);
    CHECK(first_line(ok.out).find("ok=5") != std::string::npos);  // store + 4 hosts

    // A second issuance deployed everywhere, then one host swapped back.
    const auto lab_host = Lab::get().hosts().front();
    const auto host = lab_host.name;
    const std::string old_serial =
        served_serial(lab_host.address, Lab::get().nginx_port, "media.example.test");
    REQUIRE(run_certfleet(cf_args(t, {"-q", "renew", "--force"})).exit_code == 0);
    auto rb = run_certfleet(cf_args(t, {"rollback", "media", "--host", host}));
    INFO(rb.out << rb.err);
    REQUIRE(rb.exit_code == 0);
    // A pin is deliberate and not warned about; unpinned, the host is stale.
    REQUIRE(run_certfleet(cf_args(t, {"rollback", "media", "--host", host, "--unpin"})).exit_code ==
            0);
    // nginx's exiting workers may answer with the newer certificate for a
    // moment after the rollback's reload: wait for three agreeing answers.
    for (int agreeing = 0, i = 0; agreeing < 3 && i < 100; ++i) {
        bool old = served_serial(lab_host.address, Lab::get().nginx_port, "media.example.test") ==
                   old_serial;
        agreeing = old ? agreeing + 1 : 0;
        usleep(50'000);
    }

    // Without --probe the store looks fine.
    CHECK(run_certfleet(cf_args(t, {"check"})).exit_code == 0);
    auto stale = run_certfleet(cf_args(t, {"check", "--probe"}));
    INFO(stale.out << stale.err);
    CHECK(stale.exit_code == 1);
    CHECK(first_line(stale.out).rfind("CERTFLEET WARNING - media@" + host + ": ", 0) == 0);
    CHECK(first_line(stale.out).find("serves serial") != std::string::npos);
    auto doc = json::parse(run_certfleet(cf_args(t, {"--json", "check", "--probe"})).out);
    int warnings = 0;
    for (const auto& item : doc["items"]) {
        if (item["severity"] != "warning")
            continue;
        ++warnings;
        CHECK(item["host"] == host);
        CHECK(item["source"] == "served");
        CHECK(item["kind"] == "served_mismatch");
    }
    CHECK(warnings == 1);
}

TEST_CASE("run: a second run exits 75 at once while the state lock is held", "[check]") {
    auto t = write_fleet_inventory(
        "run-lock", [](json& inv) { inv["certificates"]["media"].erase("deploy_to"); });
    ::mkdir(t.state_dir.c_str(), 0700);
    auto lock = core::FileLock::try_acquire(t.state_dir + "/lock");
    REQUIRE(lock);
    auto start = std::chrono::steady_clock::now();
    auto r = run_certfleet(cf_args(t, {"run", "--jitter", "10m"}));
    auto took = std::chrono::steady_clock::now() - start;
    CHECK(r.exit_code == 75);
    CHECK(r.err.find("lock") != std::string::npos);
    CHECK(took < std::chrono::seconds(5));
}

TEST_CASE("check: an invalid inventory is UNKNOWN (exit 3) with its first problem, never silence",
          "[check][failure]") {
    auto dir = make_temp_dir("check-invalid");
    write_file(dir + "/certfleet.json", "{\n  \"acme\": 1\n}\n", 0600);
    auto r = run_certfleet({"-c", dir + "/certfleet.json", "check"});
    CHECK(r.exit_code == 3);
    CHECK(first_line(r.out) == "CERTFLEET UNKNOWN - inventory invalid: " + dir +
                                   "/certfleet.json:2:11: acme: expected an object, not a number");
    CHECK_THAT(r.err, Catch::Contains("1 error(s); nothing was done"));

    auto j = run_certfleet({"-c", dir + "/certfleet.json", "--json", "check"});
    CHECK(j.exit_code == 3);
    const json doc = json::parse(j.out);
    CHECK(doc["state"] == "UNKNOWN");
    CHECK(doc["items"].empty());
    CHECK(doc["errors"].size() == 1);
}
