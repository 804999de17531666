// check's evaluation of the store and the ledger, and the notices it leads
// to, delivered through a fake channel with de-duplication kept in a real
// (in-memory) ledger: what `run` does after renewing and deploying.
#include "operations/check.hpp"

#include <catch2/catch.hpp>

#include "operations/notices.hpp"
#include "state/store_index.hpp"
#include "support/deploy_test_support.hpp"
#include "support/temp_files.hpp"

using namespace certfleet;
using core::Seconds;
using operations::CheckKind;
using renewal::Severity;

namespace {

constexpr long kDay = 86400;

class RecordingNotifier final : public hooks::Notifier {
public:
    std::string channel() const override { return "test channel"; }
    core::Status send(const std::vector<hooks::Notice>& notices) override {
        if (fail_next) {
            fail_next = false;
            return core::fail(core::ErrorKind::Network, "receiver down");
        }
        batches.push_back(notices);
        return {};
    }
    std::vector<std::vector<hooks::Notice>> batches;
    bool fail_next = false;
};

struct Fixture {
    testing::TempDir dir;
    inventory::Inventory inv;
    state::Store store;
    state::Ledger ledger;

    Fixture()
        : store(std::move(state::Store::open(dir.path + "/state")).value()),
          ledger(std::move(state::Ledger::open_in_memory()).value()) {
        inventory::CertificateSpec spec;
        spec.name = "media";
        spec.domains = {"media.example.test"};
        spec.deploy_to = {"edge-1"};
        inv.certificates["media"] = spec;
        inventory::Host host;
        host.name = "edge-1";
        host.transport = inventory::HostTransport::Local;
        host.settings.verify.enabled = false;
        inv.hosts["edge-1"] = host;
        auto m = distribute::test::make_material("media", "v1", 4242);
        REQUIRE(store.add_version("media", {m.cert_pem, m.chain_pem, m.fullchain_pem, m.key_pem},
                                  core::SystemClock().now()));
    }

    operations::CheckReport check(core::Seconds ahead = Seconds{0}) {
        operations::CheckOptions o;
        o.at = core::SystemClock().now() + ahead;
        return operations::run_check(inv, store, ledger, o);
    }
};

}  // namespace

TEST_CASE("check: store expiry, renewal failures and failed deployments", "[check]") {
    Fixture f;
    auto ok = f.check();
    REQUIRE(ok.items.size() == 1);
    CHECK(ok.state() == Severity::Ok);
    CHECK(ok.exit_code() == 0);
    INFO(ok.first_line());
    CHECK(ok.first_line().rfind("CERTFLEET OK - 1 checked, all OK; next expiry: media in ", 0) ==
          0);

    // The material lives 90 days: 80 days on it is inside the 21d warning.
    auto later = f.check(Seconds{80 * kDay + 3600});
    CHECK(later.exit_code() == 1);
    CHECK(later.items[0].kind == CheckKind::Expiry);
    INFO(later.first_line());
    CHECK(later.first_line().rfind("CERTFLEET WARNING - media: expires in 9d", 0) == 0);
    CHECK(f.check(Seconds{85 * kDay}).exit_code() == 2);

    REQUIRE(f.ledger.record_failure(
        {"media", core::SystemClock().now(), "dns", "DNS update refused (NOTAUTH)", std::nullopt}));
    auto failing = f.check();
    CHECK(failing.exit_code() == 1);
    CHECK(failing.items[0].kind == CheckKind::RenewalFailing);
    CHECK(failing.items[0].message.find("DNS update refused (NOTAUTH)") != std::string::npos);

    const auto now = core::SystemClock().now();
    REQUIRE(f.ledger.record_event({"media", "edge-1", state::EventKind::RolledBack, "v1",
                                   "version v1: nginx -t failed", now}));
    auto deploy = f.check();
    REQUIRE(deploy.items.size() == 2);
    CHECK(deploy.items[1].host == "edge-1");
    CHECK(deploy.items[1].kind == CheckKind::DeployFailed);
    CHECK(deploy.items[1].message.find("nginx -t failed") != std::string::npos);
    CHECK(deploy.items[1].failed_deployment == state::EventKind::RolledBack);
    // The notice says "rollback" from the ledger's event kind, not from the text.
    auto notices = operations::notices_from_check(f.inv, deploy);
    REQUIRE(notices.size() == 2);
    CHECK(notices[1].event == "rollback");
    CHECK(notices[1].key == "deploy:media@edge-1");
    REQUIRE(f.ledger.record_event({"media", "edge-1", state::EventKind::Failed, "v1",
                                   "version v1: rolled_back is only a word here", now}));
    auto failed = f.check();
    CHECK(failed.items[1].failed_deployment == state::EventKind::Failed);
    CHECK(operations::notices_from_check(f.inv, failed)[1].event == "deployment_failure");
    // A later success clears it.
    REQUIRE(f.ledger.record_event(
        {"media", "edge-1", state::EventKind::Deployed, "v1", "version v1", now}));
    CHECK(f.check().items.size() == 1);

    // Not issued yet is a warning that says what to run.
    f.inv.certificates["fresh"] = f.inv.certificates["media"];
    f.inv.certificates["fresh"].name = "fresh";
    auto fresh = f.check();
    CHECK(fresh.items[0].certificate == "fresh");
    CHECK(fresh.items[0].kind == CheckKind::NotIssued);
    CHECK(fresh.items[0].message.find("certfleet issue fresh") != std::string::npos);
}

TEST_CASE("notices: sent once, repeated after notify_interval, resolved once", "[check]") {
    Fixture f;
    std::vector<std::unique_ptr<hooks::Notifier>> notifiers;
    notifiers.push_back(std::make_unique<RecordingNotifier>());
    auto& channel = static_cast<RecordingNotifier&>(*notifiers[0]);
    const auto interval = Seconds{kDay};
    const auto t0 = core::SystemClock().now();
    auto deliver = [&](const operations::CheckReport& report, core::TimePoint now) {
        return operations::deliver_notices(operations::notices_from_check(f.inv, report),
                                           operations::evaluated_prefixes(false), notifiers,
                                           nullptr, f.ledger, now, interval);
    };

    auto warning = f.check(Seconds{80 * kDay});
    auto notices = operations::notices_from_check(f.inv, warning);
    REQUIRE(notices.size() == 1);
    CHECK(notices[0].key == "cert:media");
    CHECK(notices[0].event == "expiry_warning");
    CHECK(notices[0].domains == std::vector<std::string>{"media.example.test"});
    CHECK(notices[0].detail.find("Next step") != std::string::npos);

    // A channel that fails is not marked as told: the next run tries again.
    channel.fail_next = true;
    auto failed = deliver(warning, t0);
    REQUIRE(failed.size() == 1);
    CHECK_FALSE(failed[0].error.empty());
    CHECK(channel.batches.empty());

    CHECK(deliver(warning, t0)[0].sent == 1);
    CHECK(deliver(warning, t0 + Seconds{3600})[0].sent == 0);
    CHECK(deliver(warning, t0 + interval - Seconds{1})[0].sent == 0);
    CHECK(deliver(warning, t0 + interval)[0].sent == 1);  // the repeat
    REQUIRE(channel.batches.size() == 2);

    // Escalation is news at once.
    auto critical = f.check(Seconds{85 * kDay});
    CHECK(deliver(critical, t0 + interval + Seconds{60})[0].sent == 1);
    CHECK(channel.batches.back()[0].severity == "critical");

    // Fixed: one "resolved" notice, then silence.
    auto fine = f.check();
    CHECK(deliver(fine, t0 + interval + Seconds{120})[0].sent == 1);
    CHECK(channel.batches.back()[0].event == "resolved");
    CHECK(deliver(fine, t0 + interval + Seconds{180})[0].sent == 0);
    CHECK(f.ledger.notices("test channel").empty());
}

TEST_CASE("fleet index: issued versions come from the ledger, others from the files", "[check]") {
    Fixture f;
    auto version = f.store.current_version("media");
    REQUIRE(version);
    // Not in the ledger (adopted or imported): parsed from cert.pem.
    auto parsed = state::index_fleet(f.store, f.ledger, {"media", "absent"});
    REQUIRE(parsed.current["media"]);
    CHECK(parsed.current["media"]->info.serial_hex == "1092");  // 4242
    CHECK_FALSE(parsed.current["absent"]);

    // Issued: the ledger row is used and the PEM is not read (a marker serial
    // shows which source answered).
    state::IssuanceRecord r;
    r.cert = "media";
    r.version = *version;
    r.serial = "1ed6e5";  // not the file's serial, so the test sees which was used
    r.domains = {"media.example.test"};
    r.key_type = "ecdsa-p384";
    r.profile = "shortlived";
    r.not_before = core::SystemClock().now();
    r.not_after = r.not_before + Seconds{6 * kDay};
    REQUIRE(f.ledger.record_issuance(r));
    auto indexed = state::index_fleet(f.store, f.ledger, {"media"});
    REQUIRE(indexed.current["media"]);
    CHECK(indexed.current["media"]->info.serial_hex == "1ED6E5");
    CHECK(indexed.current["media"]->key_type == core::KeyType::EcdsaP384);
    CHECK(indexed.latest_issuance["media"].profile == "shortlived");
}
