// The command line itself: what an operator who mistypes gets back.
#include <catch2/catch.hpp>

#include "issue_support.hpp"

using namespace certfleet;
using namespace certfleet::testing;

TEST_CASE("cli: an unknown or missing command says so and lists the commands (exit 64)", "[cli]") {
    for (const auto& args : std::vector<std::vector<std::string>>{
             {"frobnicate"}, {"-c", "/etc/certfleet/x.json", "statsu"}, {}, {"-q"}}) {
        auto r = run_certfleet(args);
        INFO(r.err);
        CHECK(r.exit_code == 64);
        CHECK_THAT(r.err, Catch::Contains("the commands are validate, issue, status, deploy, "
                                          "renew, run, check, rollback, revoke, schedule, audit"));
        CHECK_THAT(r.err, !Catch::Contains("A subcommand is required"));
    }
    CHECK_THAT(run_certfleet({"statsu"}).err, Catch::Contains("unknown command 'statsu'"));
    CHECK_THAT(run_certfleet({}).err, Catch::Contains("certfleet: no command"));
    CHECK(run_certfleet({"--help"}).exit_code == 0);
    CHECK(run_certfleet({"--version"}).exit_code == 0);
}

TEST_CASE("cli: with --json a usage error is a JSON document too", "[cli]") {
    auto t = write_inventory("json-usage", nlohmann::json::object());
    for (const auto& args : std::vector<std::vector<std::string>>{
             {"--json", "statsu"},
             cf_args(t, {"--json", "deploy", "--host", "nope"}),
             cf_args(t, {"--json", "status", "--at", "yesterday"}),
             cf_args(t, {"--json", "deploy", "--concurrency", "0"})}) {
        auto r = run_certfleet(args);
        INFO(r.out << r.err);
        CHECK(r.exit_code == 64);
        auto doc = nlohmann::json::parse(r.out);
        CHECK(doc["exit_code"] == 64);
        CHECK_FALSE(doc["error"].get<std::string>().empty());
    }
}

TEST_CASE("cli: run --jitter 0 means no wait; a malformed jitter is a usage error", "[cli]") {
    auto t = write_inventory("jitter-zero", nlohmann::json::object());
    auto zero = run_certfleet(cf_args(t, {"run", "--jitter", "0", "--no-audit"}));
    INFO(zero.err);
    CHECK(zero.exit_code == 0);
    auto bad = run_certfleet(cf_args(t, {"run", "--jitter", "0x"}));
    CHECK(bad.exit_code == 64);
    CHECK_THAT(bad.err, Catch::Contains("--jitter '0x' is not a duration"));
}

TEST_CASE("cli: --help speaks plainly: no CLI11 type notation, defaults and ranges in words",
          "[cli]") {
    for (const char* command : {"validate", "issue", "status", "deploy", "renew", "run", "check",
                                "rollback", "revoke", "schedule", "audit"}) {
        auto r = run_certfleet({command, "--help"});
        INFO(command << ":\n" << r.out);
        CHECK(r.exit_code == 0);
        for (const char* notation : {" TEXT", "INT:", " UINT", "REQUIRED", "=unspecified", "in ["})
            CHECK_THAT(r.out, !Catch::Contains(notation));
    }
    const auto issue = run_certfleet({"issue", "--help"}).out;
    CHECK_THAT(issue, Catch::Contains("CERT..."));
    CHECK_THAT(issue, Catch::Contains("--concurrency N"));
    CHECK_THAT(issue, Catch::Contains("(1 to 64) (default: 8)"));
    CHECK_THAT(run_certfleet({"rollback", "--help"}).out,
               Catch::Contains("--host HOST                 Host to roll back (required)"));
}

TEST_CASE("cli: an inventory warning is shown by validate and run, not by every command", "[cli]") {
    // Two certificates sharing a name: valid, with a warning.
    auto t = write_inventory("warn-once",
                             {{"a", {{"domains", {"shared.example.test"}}, {"dns", "lab-bind"}}},
                              {"b", {{"domains", {"shared.example.test"}}, {"dns", "lab-bind"}}}});
    const std::string warning = "is also in certificate";
    auto validate = run_certfleet(cf_args(t, {"validate"}));
    CHECK(validate.exit_code == 0);
    CHECK_THAT(validate.err + validate.out, Catch::Contains(warning));
    for (const auto& args : std::vector<std::vector<std::string>>{
             {"status"}, {"issue", "--dry-run"}, {"check"}, {"deploy", "--dry-run"}}) {
        auto r = run_certfleet(cf_args(t, args));
        INFO(args.front() << ": " << r.err);
        CHECK_THAT(r.err, !Catch::Contains(warning));
    }
    auto run = run_certfleet(cf_args(t, {"run", "--jitter", "0", "--no-audit"}));
    CHECK_THAT(run.err, Catch::Contains(warning));
    CHECK_THAT(run.err.substr(run.err.find(warning) + 1), !Catch::Contains(warning));  // once
}
