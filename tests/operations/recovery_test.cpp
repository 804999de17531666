// Crash recovery (app/recovery.hpp): what a run killed midway leaves behind
// is repaired by the next run. The end-to-end proof is the lab's crash test
// (tests/integration/crash_test.cpp); these cover the moments a SIGKILL
// cannot hit reliably there, and the failure paths.
#include "operations/recovery.hpp"

#include <catch2/catch.hpp>

#include "inventory/load.hpp"
#include "operations/run.hpp"
#include "support/ari_test_support.hpp"
#include "support/temp_files.hpp"

using namespace certfleet;
using certfleet::testing::TempDir;

namespace {

// An inventory with one certificate whose DNS provider is an exec script
// that logs every call, and fails `cleanup` while `fail_file` exists.
struct Setup {
    TempDir dir;
    std::string log = dir / "dns.log";
    std::string fail_file = dir / "fail-cleanup";
    inventory::Inventory inventory;

    Setup() {
        const std::string hook = dir / "dns-hook";
        std::ofstream(hook) << "#!/bin/sh\necho \"$1 $2 $3\" >> '" << log << "'\n"
                            << "[ \"$1\" = cleanup ] && [ -e '" << fail_file << "' ] && exit 1\n"
                            << "exit 0\n";
        std::filesystem::permissions(hook, std::filesystem::perms(0755));
        const std::string text = R"({
          "state_dir": "state",
          "acme": { "directory": "https://ca.invalid/dir" },
          "dns": { "providers": { "hook": { "type": "exec", "command": ")" +
                                 hook + R"(" } } },
          "certificates": { "site": { "domains": ["site.example"], "dns": "hook" } }
        })";
        auto loaded = inventory::parse_inventory(text, "inv.json", dir.path);
        REQUIRE(loaded.ok());
        inventory = std::move(*loaded.inventory);
    }
    std::string calls() const {
        std::ifstream in(log);
        std::stringstream s;
        s << in.rdbuf();
        return s.str();
    }
};

acme::dns::ChallengeRecord record(const std::string& fqdn, const std::string& value) {
    return {fqdn, value, "site.example", "token-" + value, "token-" + value + ".thumb"};
}

}  // namespace

TEST_CASE("recovery: challenge records a killed run published are removed by the next run",
          "[recovery]") {
    Setup s;
    auto store = state::Store::open(s.dir / "state");
    REQUIRE(store);
    auto ledger = state::Ledger::open(s.dir / "ledger.sqlite");
    REQUIRE(ledger);
    core::FixedClock clock(test::ari::at("2026-11-21T10:30:00Z"));
    operations::Context ctx{s.inventory, *store, *ledger, clock, nullptr, {}, nullptr};
    operations::DnsWiring wiring(s.inventory, nullptr);
    operations::AcmeSession session(s.inventory, s.dir / "accounts", nullptr);  // never contacted
    auto provider = wiring.provider_named("hook");
    REQUIRE(provider);
    std::mutex mutex;
    operations::RememberingProvider remembered(**provider, *ledger, mutex, "site", "hook", clock);

    // A normal issuance: remembered while published, forgotten once removed.
    const std::vector<acme::dns::ChallengeRecord> first = {
        record("_acme-challenge.site.example.", "v1")};
    REQUIRE(remembered.present(first));
    REQUIRE(ledger->published_challenges().size() == 1);
    REQUIRE(remembered.cleanup(first));
    CHECK(ledger->published_challenges().empty());

    // Killed after publishing: the records stay in the ledger (and the zone).
    const std::vector<acme::dns::ChallengeRecord> killed = {
        record("_acme-challenge.site.example.", "v2"),
        record("_acme-challenge.site.example.", "v3")};
    REQUIRE(remembered.present(killed));
    auto left = ledger->published_challenges();
    REQUIRE(left.size() == 2);
    CHECK(left[0].cert == "site");
    CHECK(left[0].provider == "hook");
    CHECK(left[1].key_authorization == "token-v3.thumb");

    // The next run cannot reach DNS: the records are kept for the one after.
    std::ofstream(s.fail_file) << "x";
    operations::recover_interrupted_runs(ctx, wiring, session);
    CHECK(ledger->published_challenges().size() == 2);
    std::filesystem::remove(s.fail_file);

    // The one after removes exactly those values, and forgets them.
    operations::recover_interrupted_runs(ctx, wiring, session);
    CHECK(ledger->published_challenges().empty());
    const std::string calls = s.calls();
    CHECK_THAT(calls, Catch::EndsWith("cleanup _acme-challenge.site.example. v2\n"
                                      "cleanup _acme-challenge.site.example. v3\n"));
    CHECK_THAT(calls, Catch::Contains("present _acme-challenge.site.example. v2\n"));

    // Nothing left: a later run calls nothing.
    operations::recover_interrupted_runs(ctx, wiring, session);
    CHECK(s.calls() == calls);
}

TEST_CASE("recovery: a store version without its ledger row gets the row", "[recovery]") {
    Setup s;
    auto store = state::Store::open(s.dir / "state");
    REQUIRE(store);
    auto ledger = state::Ledger::open(s.dir / "ledger.sqlite");
    REQUIRE(ledger);
    core::FixedClock clock(test::ari::at("2026-11-22T08:00:00Z"));
    operations::Context ctx{s.inventory, *store, *ledger, clock, nullptr, {}, nullptr};
    operations::DnsWiring wiring(s.inventory, nullptr);
    operations::AcmeSession session(s.inventory, s.dir / "accounts", nullptr);  // never contacted

    // A run stored a version and was killed before Ledger::record_issuance.
    auto key = core::PrivateKey::generate(core::KeyType::EcdsaP256);
    REQUIRE(key);
    const std::string cert = test::ari::make_cert(*key, 0x5eed, "", "site.example");
    auto version = store->add_version("site", {cert, "", cert, key->to_pem()},
                                      test::ari::at("2026-11-21T10:30:00Z"));
    REQUIRE(version);
    REQUIRE(ledger->issuances("site").empty());

    operations::recover_interrupted_runs(ctx, wiring, session);
    auto rows = ledger->issuances("site");
    REQUIRE(rows.size() == 1);
    CHECK(rows[0].version == *version);
    CHECK(rows[0].serial == "5EED");
    CHECK(rows[0].key_type == "ecdsa-p256");
    CHECK(rows[0].issued_at == test::ari::at("2026-11-21T10:30:00Z"));  // from the version name
    CHECK(rows[0].replaced_version.empty());

    // Recorded once: the next runs find it.
    operations::recover_interrupted_runs(ctx, wiring, session);
    CHECK(ledger->issuances("site").size() == 1);
}

namespace {

// An inventory with no certificates whose pre and post hooks log
// "$CERTFLEET_EVENT: $CERTFLEET_MESSAGE".
struct HookSetup {
    TempDir dir;
    std::string log = dir / "hooks.log";
    inventory::Inventory inventory;
    std::optional<state::Store> store;
    std::optional<state::Ledger> ledger;
    core::FixedClock clock{test::ari::at("2026-11-21T03:00:00Z")};
    hooks::HookRunner runner;
    std::optional<operations::Context> ctx;

    explicit HookSetup(bool with_post = true) {
        const std::string command =
            "echo \\\"$CERTFLEET_EVENT: $CERTFLEET_MESSAGE\\\" >> '" + log + "'";
        const std::string text =
            R"({ "state_dir": "state", "acme": { "directory": "https://ca.invalid/dir" },
                 "certificates": {},
                 "hooks": { "pre": ")" +
            command + "\"" + (with_post ? R"(, "post": ")" + command + "\"" : std::string()) +
            " } }";
        auto loaded = inventory::parse_inventory(text, "inv.json", dir.path);
        INFO(text);
        REQUIRE(loaded.ok());
        inventory = std::move(*loaded.inventory);
        auto opened_store = state::Store::open(dir / "state");
        REQUIRE(opened_store);
        store.emplace(std::move(*opened_store));
        auto opened_ledger = state::Ledger::open(dir / "ledger.sqlite");
        REQUIRE(opened_ledger);
        ledger.emplace(std::move(*opened_ledger));
        runner = operations::make_hook_runner(inventory);
        ctx.emplace(operations::Context{inventory, *store, *ledger, clock, nullptr, {}, &runner});
    }
    std::string calls() const {
        std::ifstream in(log);
        std::stringstream s;
        s << in.rdbuf();
        return s.str();
    }
};

}  // namespace

TEST_CASE("recovery: the post hook a run killed after its pre hook owes runs in the next run",
          "[recovery]") {
    HookSetup s;
    auto& ctx = *s.ctx;
    auto& ledger = s.ledger;
    auto& clock = s.clock;

    // A whole run: pre and post, nothing owed afterwards.
    operations::fire_hook(ctx, "pre");
    CHECK(ledger->hook_owed_since("post") == clock.now());
    operations::fire_hook(ctx, "post");
    CHECK_FALSE(ledger->hook_owed_since("post"));
    CHECK(s.calls() == "pre: \npost: \n");

    // Killed after pre: the next renewal runs the owed post before its own pre.
    operations::fire_hook(ctx, "pre");
    clock.set(test::ari::at("2026-11-21T15:00:00Z"));
    operations::fire_hook(ctx, "pre");
    operations::fire_hook(ctx, "post");
    CHECK(s.calls() ==
          "pre: \npost: \npre: \n"
          "post: the run started at 2026-11-21T03:00:00Z was interrupted after its pre hook; "
          "this is its post hook\n"
          "pre: \npost: \n");

    // Killed after pre, and the next run has nothing to issue (no pre of its
    // own): `run` still settles the debt, once.
    operations::fire_hook(ctx, "pre");
    const std::string before = s.calls();
    operations::RunOptions options;
    options.audit = false;
    operations::run_scheduled(ctx, options);
    CHECK(s.calls() == before +
                           "post: the run started at 2026-11-21T15:00:00Z was interrupted after "
                           "its pre hook; this is its post hook\n");
    CHECK_FALSE(ledger->hook_owed_since("post"));
    operations::run_scheduled(ctx, options);
    CHECK(s.calls() == before +
                           "post: the run started at 2026-11-21T15:00:00Z was interrupted after "
                           "its pre hook; this is its post hook\n");
}

TEST_CASE("recovery: without a post hook nothing is owed", "[recovery]") {
    HookSetup s(false);
    operations::fire_hook(*s.ctx, "pre");
    CHECK_FALSE(s.ledger->hook_owed_since("post"));
    CHECK(s.calls() == "pre: \n");
}
