#include "core/process.hpp"

#include <chrono>
#include <cstdlib>

#include <catch2/catch.hpp>

using namespace certfleet::core;
using namespace std::chrono_literals;

namespace {

ProcessResult run_ok(ProcessOptions options) {
    auto r = run_process(options);
    REQUIRE(r.ok());
    return std::move(r).value();
}

ProcessOptions shell(const std::string& script) {
    ProcessOptions o;
    o.argv = {"/bin/sh", "-c", script};
    o.timeout = 10s;
    return o;
}

}  // namespace

TEST_CASE("process: exit codes and output capture", "[process]") {
    auto ok = run_ok(shell("echo hello; echo oops >&2"));
    CHECK(ok.success());
    CHECK(ok.exit_code == 0);
    CHECK(ok.out == "hello\n");
    CHECK(ok.err == "oops\n");

    auto bad = run_ok(shell("echo 'no such zone' >&2; exit 3"));
    CHECK_FALSE(bad.success());
    CHECK(bad.exit_code == 3);
    CHECK(bad.signal == 0);
    CHECK(summarize_output(bad.err) == "no such zone");
    CHECK(bad.status_text() == "exit code 3");

    auto sig = run_ok(shell("kill -9 $$"));
    CHECK(sig.signal == 9);
    CHECK_FALSE(sig.success());
}

TEST_CASE("process: argv is passed without a shell", "[process]") {
    ProcessOptions o;
    o.argv = {"printf", "%s|", "a b", "$HOME", "*"};
    auto r = run_ok(o);
    CHECK(r.out == "a b|$HOME|*|");
}

TEST_CASE("process: a missing command is an error, not a result", "[process]") {
    ProcessOptions o;
    o.argv = {"/nonexistent/certfleet-hook"};
    auto r = run_process(o);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message.find("/nonexistent/certfleet-hook") != std::string::npos);
}

TEST_CASE("process: environment is inherited and extended", "[process]") {
    ::setenv("CERTFLEET_PROCESS_TEST_PARENT", "from-parent", 1);
    auto o = shell("echo \"$CERTFLEET_PROCESS_TEST_PARENT/$EXTRA/$PATH_OVERRIDE\"");
    o.env = {{"EXTRA", "x y"}, {"PATH_OVERRIDE", "1"}};
    CHECK(run_ok(o).out == "from-parent/x y/1\n");

    o.inherit_env = false;
    o.argv = {"/bin/sh", "-c", "echo \"[$CERTFLEET_PROCESS_TEST_PARENT]$EXTRA\""};
    CHECK(run_ok(o).out == "[]x y\n");
}

TEST_CASE("process: a withheld variable (a secret's env:NAME) never reaches a child", "[process]") {
    ::setenv("CERTFLEET_PROCESS_TEST_SECRET", "hunter2", 1);
    auto o = shell("echo \"[${CERTFLEET_PROCESS_TEST_SECRET-unset}]\"");
    CHECK(run_ok(o).out == "[hunter2]\n");
    withhold_from_children("CERTFLEET_PROCESS_TEST_SECRET");
    CHECK(run_ok(o).out == "[unset]\n");
    o.env = {{"CERTFLEET_PROCESS_TEST_SECRET", "given on purpose"}};
    CHECK(run_ok(o).out == "[given on purpose]\n");
    ::unsetenv("CERTFLEET_PROCESS_TEST_SECRET");
}

TEST_CASE("process: stdin data is delivered; no stdin means /dev/null", "[process]") {
    auto o = shell("cat; echo done");
    o.stdin_data = "line1\nline2\n";
    CHECK(run_ok(o).out == "line1\nline2\ndone\n");

    CHECK(run_ok(shell("cat; echo eof")).out == "eof\n");

    // The child ignores a large stdin and exits: no SIGPIPE may kill us.
    auto ignore = shell("exit 0");
    ignore.stdin_data = std::string(4 << 20, 'x');
    CHECK(run_ok(ignore).success());
}

TEST_CASE("process: timeout kills the process group quickly", "[process]") {
    ProcessOptions o;
    o.argv = {"sleep", "30"};
    o.timeout = 300ms;
    const auto start = std::chrono::steady_clock::now();
    auto r = run_ok(o);
    const auto took = std::chrono::steady_clock::now() - start;
    CHECK(r.timed_out);
    CHECK_FALSE(r.success());
    CHECK(took < 1500ms);
    CHECK(r.status_text().find("timed out") != std::string::npos);

    // A shell whose child ignores SIGTERM: SIGKILL after the grace period.
    auto stubborn = shell("trap '' TERM; sleep 30 & wait");
    stubborn.timeout = 200ms;
    stubborn.kill_grace = 300ms;
    const auto start2 = std::chrono::steady_clock::now();
    auto r2 = run_ok(stubborn);
    CHECK(r2.timed_out);
    CHECK(std::chrono::steady_clock::now() - start2 < 2s);
}

TEST_CASE("process: large output on both streams does not deadlock", "[process]") {
    auto o = shell("head -c 3000000 /dev/zero; head -c 3000000 /dev/zero >&2; echo end >&2");
    o.max_output = 1 << 20;
    auto r = run_ok(o);
    CHECK(r.success());
    CHECK(r.out.size() == (1u << 20));
    CHECK(r.err.size() == (1u << 20));
    CHECK(r.out_truncated);
    CHECK(r.err_truncated);

    auto small = run_ok(shell("seq 1 20000"));
    CHECK_FALSE(small.out_truncated);
    CHECK(small.out.size() == 108894);
}

TEST_CASE("process: a background grandchild holding the pipes does not block", "[process]") {
    auto o = shell("sleep 5 & echo started");
    const auto start = std::chrono::steady_clock::now();
    auto r = run_ok(o);
    CHECK(r.success());
    CHECK(r.out == "started\n");
    CHECK(std::chrono::steady_clock::now() - start < 2s);
}
