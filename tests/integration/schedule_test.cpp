// `certfleet schedule`: the systemd units must pass `systemd-analyze verify`
// and the crontab line must be what cron expects. No lab needed: the
// inventory only has to validate.
#include <regex>
#include <set>
#include <sstream>

#include <catch2/catch.hpp>

#include "lab.hpp"

using namespace certfleet::testing;

namespace {

struct Inventory {
    std::string dir;
    std::string path;
};

// The smallest valid inventory; `extra` adds top-level members.
Inventory write_inventory(const std::string& extra = {}) {
    Inventory inv;
    inv.dir = make_temp_dir("schedule-test");
    inv.path = inv.dir + "/certfleet.json";
    write_file(inv.path,
               R"({ "state_dir": "state",
  "acme": { "directory": "https://acme.example.org/directory" })" +
                   (extra.empty() ? std::string() : ",\n  " + extra) + " }\n",
               0600);
    return inv;
}

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);)
        out.push_back(line);
    return out;
}

std::string line_starting(const std::string& text, const std::string& prefix) {
    for (const auto& line : lines_of(text))
        if (line.starts_with(prefix))
            return line;
    return {};
}

// Logs to the console: outside a terminal systemd would send them to the
// journal and verify would look clean whatever the units say. --man=no: no
// man page lookups for Documentation=; --generators=no: the container's
// generators are not what is being tested.
CommandResult verify_units(const std::string& dir) {
    return run_command({"systemd-analyze", "verify", "--man=no", "--generators=no",
                        dir + "/certfleet.service", dir + "/certfleet.timer"},
                       {{"SYSTEMD_LOG_TARGET", "console"}, {"SYSTEMD_LOG_LEVEL", "info"}});
}

}  // namespace

TEST_CASE("schedule --systemd writes units systemd-analyze accepts", "[schedule]") {
    // A missing tool fails the test: the units would go unverified.
    CommandResult version = run_command({"systemd-analyze", "--version"});
    INFO("systemd-analyze is needed for this test: apt-get install systemd");
    REQUIRE(version.exit_code == 0);

    Inventory inv = write_inventory(
        R"("notify": [{ "type": "prometheus", "textfile": "metrics/certfleet.prom" }])");
    std::string out_dir = make_temp_dir("schedule-units");
    CommandResult r =
        run_certfleet({"-c", inv.path, "schedule", "--systemd", "--output-dir", out_dir});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    std::string service = read_file(out_dir + "/certfleet.service");
    std::string timer = read_file(out_dir + "/certfleet.timer");

    CommandResult verify = verify_units(out_dir);
    INFO("service:\n"
         << service << "\ntimer:\n"
         << timer << "\nverify:\n"
         << verify.out << verify.err);
    CHECK(verify.exit_code == 0);
    for (const auto& line : lines_of(verify.out + verify.err)) {
        CHECK(line.find("Unknown key") == std::string::npos);
        CHECK(line.find("Failed") == std::string::npos);
        CHECK(line.find("nvalid") == std::string::npos);
    }

    CHECK(line_starting(timer, "Persistent=") == "Persistent=true");
    CHECK(line_starting(timer, "RandomizedDelaySec=") == "RandomizedDelaySec=1h");
    CHECK(line_starting(timer, "Unit=") == "Unit=certfleet.service");
    CHECK(line_starting(timer, "WantedBy=") == "WantedBy=timers.target");
    CHECK_FALSE(line_starting(timer, "OnCalendar=").empty());

    CHECK(line_starting(service, "Type=") == "Type=oneshot");
    std::string exec = line_starting(service, "ExecStart=");
    CHECK(exec == "ExecStart=" CERTFLEET_BINARY " -q -c " + inv.path + " run --jitter 0s");
    CHECK(line_starting(service, "ProtectSystem=") == "ProtectSystem=strict");
    CHECK(line_starting(service, "NoNewPrivileges=") == "NoNewPrivileges=true");
    // The state directory and the textfile directory are the writable places.
    CHECK(service.find("ReadWritePaths=-" + inv.dir + "/state\n") != std::string::npos);
    CHECK(service.find("ReadWritePaths=-" + inv.dir + "/metrics\n") != std::string::npos);
}

TEST_CASE("schedule --systemd keeps sudo usable for local hosts", "[schedule]") {
    Inventory inv = write_inventory(
        R"("hosts": { "self": { "transport": "local", "cert_root": "/srv/certs",
                                  "reload_command": "sudo systemctl reload nginx" } })");
    CommandResult r =
        run_certfleet({"-c", inv.path, "--state-dir", inv.dir + "/other", "schedule", "--systemd"});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    CHECK(r.out.find("/etc/systemd/system/certfleet.service") != std::string::npos);
    CHECK(r.out.find("systemctl daemon-reload && systemctl enable --now certfleet.timer") !=
          std::string::npos);
    CHECK(line_starting(r.out, "NoNewPrivileges=").empty());
    CHECK(line_starting(r.out, "RestrictSUIDSGID=").empty());
    CHECK(r.out.find("hosts.self.reload_command") != std::string::npos);
    CHECK(line_starting(r.out, "ProtectSystem=") == "ProtectSystem=full");
    CHECK(r.out.find("ReadWritePaths=-/srv/certs\n") != std::string::npos);
    CHECK(line_starting(r.out, "ExecStart=") == "ExecStart=" CERTFLEET_BINARY " -q -c " + inv.path +
                                                    " --state-dir " + inv.dir +
                                                    "/other run --jitter 0s");
}

TEST_CASE("schedule --cron prints one crontab line, the same on every call", "[schedule]") {
    Inventory inv = write_inventory();
    const std::regex line(
        R"(^([0-9]{1,2}) ([0-9]{1,2}),([0-9]{1,2}) \* \* \* root (/\S+) -q -c (/\S+) run --jitter 5m$)");
    std::set<std::string> distinct;
    for (int i = 0; i < 5; ++i) {
        CommandResult r = run_certfleet({"-c", inv.path, "schedule", "--cron"});
        INFO(r.out << r.err);
        REQUIRE(r.exit_code == 0);
        std::vector<std::string> jobs;
        for (const auto& l : lines_of(r.out))
            if (!l.starts_with("#") && !l.starts_with("PATH=") && !l.empty())
                jobs.push_back(l);
        REQUIRE(jobs.size() == 1);
        std::smatch m;
        REQUIRE(std::regex_match(jobs[0], m, line));
        int minute = std::stoi(m[1]);
        int hour = std::stoi(m[2]);
        CHECK(minute >= 0);
        CHECK(minute <= 59);
        CHECK(hour >= 0);
        CHECK(hour <= 11);
        CHECK(std::stoi(m[3]) == hour + 12);
        CHECK(m[4] == CERTFLEET_BINARY);
        CHECK(m[5] == inv.path);
        CHECK(r.out.starts_with("#"));
        distinct.insert(jobs[0]);
    }
    // Configuration management that writes the line must see no change.
    CHECK(distinct.size() == 1);

    CommandResult user = run_certfleet({"-c", inv.path, "schedule", "--cron", "--user-crontab"});
    REQUIRE(user.exit_code == 0);
    CHECK(std::regex_search(user.out, std::regex(R"(\n[0-9]{1,2} [0-9,]+ \* \* \* /\S+ -q )")));
}

TEST_CASE("schedule needs exactly one of --systemd and --cron, and a valid inventory",
          "[schedule]") {
    Inventory inv = write_inventory();
    CHECK(run_certfleet({"-c", inv.path, "schedule"}).exit_code == 64);
    CHECK(run_certfleet({"-c", inv.path, "schedule", "--systemd", "--cron"}).exit_code == 64);
    CHECK(run_certfleet({"-c", inv.path, "schedule", "--cron", "--output-dir", "/tmp"}).exit_code ==
          64);
    CommandResult help = run_certfleet({"schedule", "--help"});
    CHECK(help.exit_code == 0);
    CHECK(help.out.find("systemctl daemon-reload") != std::string::npos);
    CHECK(help.out.find("/etc/cron.d/certfleet") != std::string::npos);

    Inventory broken = write_inventory(R"("certificates": { "x": { "domian": [] } })");
    CommandResult r = run_certfleet({"-c", broken.path, "schedule", "--systemd"});
    CHECK(r.exit_code == 78);
    CHECK(r.out.empty());
}
