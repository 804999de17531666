// Crash safety (issue #6): `certfleet renew --force` over the lab fleet is
// SIGKILLed at many moments — during the order, the DNS update, the
// clean-up, the download, the upload, the swap, the reload, the
// verification, and at plain time offsets between log lines — and after each
// kill the scheduled job runs once, as it would from its timer after a
// crash nobody noticed (`run`, not `renew --force`: the repair must not
// depend on an operator re-typing the command; `run` renews what is due,
// deploys what is stale and checks what is served). Then store, ledger,
// hosts, nginx and the zone must agree, nothing half-written may be
// referenced, and the repair must not have ordered more than it needed.
//
// One flow over one state directory (no SECTIONs: each would repeat the
// whole setup); each kill point starts from what the one before left.
#include <fstream>

#include <catch2/catch.hpp>

#include "crash_checks.hpp"
#include "crash_support.hpp"
#include "fleet_support.hpp"

using namespace certfleet;
using namespace certfleet::testing;
using nlohmann::json;

namespace {

// In the order they run. A line is matched against certfleet's -vv log
// (src/acme/issuer.cpp progress steps, src/distribute/*.cpp deploy steps);
// a line that never shows up fails the test (the log changed: update it).
const std::vector<KillPoint> kKillPoints = {
    // The first run starts from an empty state: both certificates must be
    // issued by the repair, with at most one order each.
    {.name = "order created",
     .line = R"(: order \S+ is pending)",
     .repair_log = "deactivated pending authorization"},
    {.name = "TXT records published",
     .line = "published; waiting for DNS propagation",
     .repair_log = R"(removing \d+ challenge record\(s\) an interrupted run left)"},
    {.name = "TXT records being removed", .line = "validated; removing"},
    {.name = "certificate being downloaded", .line = R"(: downloading https://)"},
    {.name = "stored, before any deployment", .line = R"(info: \S+: issued serial)"},
    {.name = "adopting hand-managed files",
     .line = "adopting the hand-managed files",
     .hand_managed_www = true},
    {.name = "upload to the canary", .line = "uploading versions/"},
    {.name = "upload in a later wave", .line = "uploading versions/", .occurrence = 3},
    {.name = "swap of current", .line = "swapping current -> ", .occurrence = 2},
    {.name = "reload", .line = "reloading: ", .occurrence = 4},
    {.name = "verification", .line = "verifying what ", .occurrence = 6},
    // Between the lines: fractions of a whole run's duration (measured once;
    // ~3 s in the lab: issuance < 1 s, then the deployment).
    {.name = "15 % in", .at_fraction = 0.15},
    {.name = "45 % in", .at_fraction = 0.45},
    {.name = "80 % in", .at_fraction = 0.8},
};

const std::vector<CrashCert> kCerts = {
    {.name = "media",
     .sni = "media.example.test",
     .challenge_names = {"_acme-challenge.media.example.test."}},
    {.name = "www",
     .sni = "www.example.test",
     .challenge_names = {"_acme-challenge.www.example.test.", "_acme-challenge.example.test."}},
};

std::string last_lines(const std::string& text, size_t n) {
    if (text.empty())
        return text;  // a run killed before it printed anything
    size_t pos = text.size();
    for (size_t i = 0; i <= n && pos != std::string::npos && pos > 0; ++i)
        pos = text.rfind('\n', pos - 1);
    return pos == std::string::npos ? text : text.substr(pos + 1);
}

struct Stopwatch {
    std::chrono::steady_clock::time_point last = std::chrono::steady_clock::now();
    long lap() {
        const auto now = std::chrono::steady_clock::now();
        const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now - last).count();
        last = now;
        return static_cast<long>(ms);
    }
};

// One line on what a kill left, for the summary file.
std::string describe_state(const TestInventory& t) {
    auto store = state::Store::open_readonly(t.state_dir);
    std::string out;
    for (const auto& c : kCerts) {
        auto version = store.current_version(c.name).value_or("none");
        int at_version = 0, leftovers = 0;
        for (const auto& h : Lab::get().hosts()) {
            const std::string dir = h.cert_root + "/" + c.name;
            at_version += link_text(dir + "/current") == "versions/" + version ? 1 : 0;
            std::error_code ec;
            for (std::filesystem::directory_iterator it(dir + "/versions", ec), end;
                 !ec && it != end; it.increment(ec))
                leftovers += it->path().filename().string().rfind(".tmp-", 0) == 0 ? 1 : 0;
        }
        int txt = 0;
        for (const auto& [name, values] : challenge_txt({c}))
            txt += static_cast<int>(values.size());
        out += c.name + ": store " + version + ", " + std::to_string(at_version) +
               " host(s) on it, " + std::to_string(leftovers) + " host .tmp, " +
               std::to_string(txt) + " TXT; ";
    }
    return out + std::to_string(store_leftovers(t.state_dir, kCerts).size()) + " store .tmp";
}

}  // namespace

TEST_CASE("SIGKILL anywhere in renew --force: the next scheduled run repairs everything",
          "[crash]") {
    const Lab& lab = Lab::get();
    REQUIRE(lab.hosts().size() >= 4);
    SavedHostCerts saved({"media", "www"});
    const auto txt_before = challenge_txt(kCerts);
    auto t = write_fleet_inventory("crash", [](json& inv) {
        inv["certificates"]["www"] = {{"domains", {"www.example.test", "example.test"}},
                                      {"dns", "lab-bind"},
                                      {"deploy_to", {"cdn"}}};
    });
    const std::string pebble_log = lab.dir + "/logs/pebble.log";
    std::ofstream summary(t.dir + "/crash-summary.txt");

    const std::vector<std::string> renew = cf_args(t, {"-vv", "renew", "--force"});
    long whole_run_ms = 0;  // measured before the first kill by time
    for (const auto& point : kKillPoints) {
        INFO("kill point: " << point.name);
        if (point.line.empty() && whole_run_ms == 0) {
            Stopwatch whole;
            REQUIRE(run_certfleet(renew).exit_code == 0);
            whole_run_ms = whole.lap();
        }
        Stopwatch watch;
        if (point.hand_managed_www)
            saved.restore("www");
        auto killed = run_and_kill(
            renew, point, static_cast<long>(point.at_fraction * static_cast<double>(whole_run_ms)));
        INFO("killed run (exit " << killed.exit_code << ", trigger " << killed.trigger
                                 << "), last lines:\n"
                                 << last_lines(killed.err, 12));
        if (!point.line.empty())
            CHECK(killed.killed);
        check_never_half(t.state_dir, kCerts);
        const std::string left = describe_state(t);
        const long killed_ms = watch.lap();

        // What the repair may order: a certificate the store has no version of.
        auto store = state::Store::open_readonly(t.state_dir);
        std::set<std::string> needing;
        for (const auto& c : kCerts)
            if (!store.current(c.name))
                needing.insert(c.name);

        const auto offset = file_size(pebble_log);
        auto rerun = run_certfleet(cf_args(t, {"--json", "run", "--jitter", "0s", "--no-audit"}));
        const long repair_ms = watch.lap();
        INFO("repair run: exit " << rerun.exit_code << "\n" << rerun.err << rerun.out);
        CHECK(rerun.exit_code == 0);
        if (!point.repair_log.empty())
            CHECK(std::regex_search(rerun.err, std::regex(point.repair_log)));
        REQUIRE(rerun.exit_code != 75);  // a stale lock would stop every later run
        const int orders = orders_in_pebble_log(pebble_log, offset);
        std::set<std::string> issued;
        const json report = json::parse(rerun.out);
        for (const auto& c : report["certificates"])
            if (c["action"] == "issued")
                issued.insert(c["name"].get<std::string>());
        CHECK(issued == needing);
        CHECK(orders == static_cast<int>(issued.size()));  // one order each, none extra

        check_consistent(t.state_dir, kCerts, txt_before);
        summary << point.name << " (whole run " << whole_run_ms << " ms) | "
                << (killed.killed ? "killed at " : "not killed ") << killed.trigger << " | "
                << killed_ms << " + " << repair_ms << " + " << watch.lap() << " ms | left: " << left
                << " | repair: " << issued.size() << " issued, " << orders << " order(s)\n";
    }
}
