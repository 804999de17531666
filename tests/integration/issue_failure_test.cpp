// Failure and interruption paths of `certfleet issue` against the lab: a
// lagging nameserver, Ctrl-C while waiting for DNS, the state lock, and
// --dry-run's promise to change nothing.
#include <chrono>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "core/lock.hpp"
#include "issue_support.hpp"

using namespace certfleet;
using namespace certfleet::testing;
using nlohmann::json;

namespace {

json one_cert(const std::string& domain) {
    return {{"site", {{"domains", {domain}}, {"dns", "lab-bind"}}}};
}

// A second "authoritative" server that never answers: propagation can never
// complete there, as with a secondary whose zone transfer is stuck.
void add_dead_nameserver(json& inv, const std::string& timeout) {
    inv["dns"]["nameservers"].push_back("127.0.0.1:9");
    inv["dns"]["propagation_timeout"] = timeout;
}

bool exists(const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0;
}

}  // namespace

TEST_CASE("a propagation timeout names the server that lagged and cleans up", "[issue][failure]") {
    auto t = write_inventory("issue-lagging", one_cert("lag.example.test"),
                             [](json& inv) { add_dead_nameserver(inv, "3s"); });
    auto started = std::chrono::steady_clock::now();
    auto r = run_certfleet(cf_args(t, {"--json", "issue"}));
    auto took = std::chrono::steady_clock::now() - started;
    INFO(r.err);
    CHECK(r.exit_code == 2);
    CHECK(took < std::chrono::seconds(15));
    auto error = json::parse(r.out)["certificates"][0]["error"].get<std::string>();
    CHECK_THAT(error, Catch::Contains("127.0.0.1:9"));
    CHECK_THAT(error, Catch::Contains("_acme-challenge.lag.example.test"));
    CHECK(Lab::get().txt("_acme-challenge.lag.example.test.").empty());
}

TEST_CASE("Ctrl-C while waiting for DNS removes the records and exits promptly",
          "[issue][failure]") {
    auto t = write_inventory("issue-sigint", one_cert("sigint.example.test"),
                             [](json& inv) { add_dead_nameserver(inv, "60s"); });
    std::string out_file = t.dir + "/out.txt";
    pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        int fd = ::open(out_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
        ::dup2(fd, 1);
        ::dup2(fd, 2);
        ::execl(CERTFLEET_BINARY, CERTFLEET_BINARY, "-c", t.path.c_str(), "issue",
                static_cast<char*>(nullptr));
        ::_exit(127);
    }
    // Wait until the record is published (the run is then stuck on the dead server).
    bool published = false;
    for (int i = 0; i < 100 && !published; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        published = !Lab::get().txt("_acme-challenge.sigint.example.test.").empty();
    }
    CHECK(published);
    auto signalled = std::chrono::steady_clock::now();
    ::kill(pid, SIGINT);
    int status = 0;
    ::waitpid(pid, &status, 0);
    auto took = std::chrono::steady_clock::now() - signalled;
    std::string output = read_file(out_file);
    INFO(output);
    CHECK(took < std::chrono::seconds(10));
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 130);  // interrupted by SIGINT (docs/exit-codes.md)
    CHECK_THAT(output, Catch::Contains("cancelled"));
    CHECK_THAT(output, Catch::Contains("interrupted (SIGINT)"));
    CHECK(Lab::get().txt("_acme-challenge.sigint.example.test.").empty());
}

TEST_CASE("--dry-run changes nothing: no state directory, no order, no DNS change", "[issue]") {
    auto t = write_inventory("issue-dry-run", one_cert("dry.example.test"));
    auto r = run_certfleet(cf_args(t, {"--json", "issue", "--dry-run"}));
    INFO(r.err);
    CHECK(r.exit_code == 0);
    CHECK(json::parse(r.out)["certificates"][0]["action"] == "planned");
    CHECK_FALSE(exists(t.state_dir));
    auto s = run_certfleet(cf_args(t, {"--json", "status"}));
    CHECK(s.exit_code == 0);
    CHECK(json::parse(s.out)["certificates"][0]["state"] == "missing");
    CHECK_FALSE(exists(t.state_dir));
}

TEST_CASE("a second run while the state is locked exits 75 at once", "[issue]") {
    auto t = write_inventory("issue-locked", one_cert("locked.example.test"));
    REQUIRE(::mkdir(t.state_dir.c_str(), 0700) == 0);
    auto lock = core::FileLock::try_acquire(t.state_dir + "/lock");
    REQUIRE(lock);
    auto r = run_certfleet(cf_args(t, {"issue"}));
    CHECK(r.exit_code == 75);
    CHECK_THAT(r.err, Catch::Contains("lock"));
    // With --json, a document says so too (scripts parse stdout).
    auto js = run_certfleet(cf_args(t, {"--json", "renew"}));
    CHECK(js.exit_code == 75);
    auto doc = json::parse(js.out);
    CHECK(doc["exit_code"] == 75);
    CHECK_THAT(doc["error"].get<std::string>(), Catch::Contains("lock"));
}

TEST_CASE("External Account Binding: registration with the CA's kid and key", "[issue]") {
    const Lab& lab = Lab::get();
    auto with_eab = write_inventory("issue-eab", one_cert("eab.example.test"), [&](json& inv) {
        inv["acme"]["directory"] = lab.eab_directory;
        inv["acme"]["eab"] = {{"kid", lab.eab_kid}, {"hmac_key_file", lab.eab_key_file}};
    });
    auto r = run_certfleet(cf_args(with_eab, {"--json", "issue"}));
    INFO(r.err);
    CHECK(r.exit_code == 0);
    CHECK(json::parse(r.out)["certificates"][0]["action"] == "issued");

    auto without = write_inventory("issue-no-eab", one_cert("noeab.example.test"), [&](json& inv) {
        inv["acme"]["directory"] = lab.eab_directory;
    });
    auto f = run_certfleet(cf_args(without, {"--json", "issue"}));
    CHECK(f.exit_code == 2);
    auto c = json::parse(f.out)["certificates"][0];
    CHECK_THAT(c["hint"].get<std::string>(), Catch::Contains("acme.eab"));
}
