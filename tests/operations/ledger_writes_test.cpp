// What operations write to the ledger, and what they do when the write
// fails after a host, the CA or a notifier has acted: the operator is told
// (the outcome carries it, the exit code counts it), never silently dropped.
#include <mutex>

#include <catch2/catch.hpp>
#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/spdlog.h>

#include "operations/deploy.hpp"
#include "operations/issue.hpp"
#include "operations/notices.hpp"
#include "operations/recovery.hpp"
#include "support/deploy_test_support.hpp"
#include "support/ledger_faults.hpp"
#include "support/temp_files.hpp"

using namespace certfleet;
using operations::CertificateAction;
using operations::HostResult;
using state::EventKind;

namespace {

// One certificate, issued (in the store), deployed to one local host.
struct Fleet {
    testing::TempDir dir;
    inventory::Inventory inv;
    state::Store store;
    state::Ledger ledger;
    core::SystemClock clock;
    std::string version;

    Fleet()
        : store(std::move(state::Store::open(dir / "state")).value()),
          ledger(std::move(state::Ledger::open(dir / "ledger.sqlite")).value()) {
        inventory::CertificateSpec spec;
        spec.name = "media";
        spec.domains = {"media.example.test"};
        spec.deploy_to = {"edge-1"};
        inv.certificates["media"] = spec;
        inventory::Host host;
        host.name = "edge-1";
        host.transport = inventory::HostTransport::Local;
        host.settings.cert_root = dir / "live";
        host.settings.verify.enabled = false;
        inv.hosts["edge-1"] = host;
        auto m = distribute::test::make_material("media", "v1", 4242);
        auto added = store.add_version(
            "media", {m.cert_pem, m.chain_pem, m.fullchain_pem, m.key_pem}, clock.now());
        REQUIRE(added);
        version = *added;
    }
    operations::Context context() { return {inv, store, ledger, clock, nullptr, {}, nullptr}; }
    operations::DeployReport deploy() {
        auto ctx = context();
        return operations::run_deploy(ctx, {});
    }
};

}  // namespace

TEST_CASE("names of host results and certificate actions convert both ways", "[ledger-writes]") {
    const std::pair<HostResult, const char*> results[] = {
        {HostResult::Deployed, "deployed"},      {HostResult::Unchanged, "unchanged"},
        {HostResult::RolledBack, "rolled_back"}, {HostResult::Failed, "failed"},
        {HostResult::Skipped, "skipped"},        {HostResult::Planned, "planned"},
        {HostResult::Pinned, "pinned"},          {HostResult::NotStarted, "not_started"},
    };
    for (const auto& [result, name] : results) {
        CHECK(operations::deploy_result_name(result) == name);
        CHECK(operations::parse_deploy_result(name) == result);
    }
    CHECK_FALSE(operations::parse_deploy_result("rollback"));
    const std::pair<CertificateAction, const char*> actions[] = {
        {CertificateAction::Issued, "issued"},   {CertificateAction::Unchanged, "unchanged"},
        {CertificateAction::Planned, "planned"}, {CertificateAction::Deferred, "deferred"},
        {CertificateAction::Failed, "failed"},   {CertificateAction::NotStarted, "not_started"},
    };
    for (const auto& [action, name] : actions) {
        CHECK(operations::certificate_action_name(action) == name);
        CHECK(operations::parse_certificate_action(name) == action);
    }
    CHECK_FALSE(operations::parse_certificate_action("skipped"));
}

TEST_CASE("a deployment records the version it deployed in the event's column", "[ledger-writes]") {
    Fleet f;
    auto report = f.deploy();
    REQUIRE(report.hosts.size() == 1);
    CHECK(report.hosts[0].result == HostResult::Deployed);
    CHECK(report.hosts[0].ledger_error.empty());
    CHECK(report.exit_code() == 0);
    auto events = f.ledger.events("media");
    REQUIRE(events.size() == 1);
    CHECK(events[0].kind == EventKind::Deployed);
    CHECK(events[0].host == "edge-1");
    CHECK(events[0].version == f.version);
    CHECK(events[0].detail == "version " + f.version);
}

TEST_CASE("a deployment the ledger cannot record is an error naming host and next step",
          "[ledger-writes]") {
    Fleet f;
    testing::fail_ledger_writes(f.ledger.path(), "events");
    auto report = f.deploy();
    REQUIRE(report.hosts.size() == 1);
    const auto& host = report.hosts[0];
    CHECK(host.result == HostResult::Deployed);  // the host did act
    CHECK_THAT(host.ledger_error, Catch::Contains("media on edge-1") &&
                                      Catch::Contains(testing::kInjectedLedgerError) &&
                                      Catch::Contains("certfleet deploy media --host edge-1"));
    CHECK(report.exit_code() == 1);
    CHECK(f.ledger.events("media").empty());
}

TEST_CASE("a rollback the ledger cannot record is an error", "[ledger-writes]") {
    Fleet f;
    REQUIRE(f.deploy().hosts.at(0).result == HostResult::Deployed);
    testing::fail_ledger_writes(f.ledger.path(), "events");
    auto ctx = f.context();
    // Nothing older to return to: the rollback fails, and that must be recorded too.
    auto outcome = operations::run_rollback(ctx, {"media", "edge-1", "", false, ""});
    CHECK(outcome.result == HostResult::Failed);
    CHECK_THAT(outcome.ledger_error, Catch::Contains("rollback_failed") &&
                                         Catch::Contains(testing::kInjectedLedgerError));
    REQUIRE(f.ledger.events("media").size() == 1);  // only the deployment before
}

TEST_CASE("issue treats the version a revoked event names as due, by its column",
          "[ledger-writes]") {
    Fleet f;
    auto ctx = f.context();
    operations::IssueOptions dry;
    dry.dry_run = true;
    auto before = operations::run_issue(ctx, dry);
    REQUIRE(before.certificates.size() == 1);
    CHECK(before.certificates[0].action == CertificateAction::Unchanged);

    // Another version revoked, and a detail that names this version in passing: not due.
    REQUIRE(f.ledger.record_event({"media", "", EventKind::Revoked, "older",
                                   "serial 01 version " + f.version + " reason superseded",
                                   f.clock.now()}));
    CHECK(operations::run_issue(ctx, dry).certificates[0].action == CertificateAction::Unchanged);

    REQUIRE(f.ledger.record_event(
        {"media", "", EventKind::Revoked, f.version, "revoked", f.clock.now()}));
    auto after = operations::run_issue(ctx, dry);
    CHECK(after.certificates[0].action == CertificateAction::Planned);
    CHECK(after.certificates[0].reason == "current certificate was revoked");
}

namespace {

class CountingNotifier final : public hooks::Notifier {
public:
    std::string channel() const override { return "test channel"; }
    core::Status send(const std::vector<hooks::Notice>& notices) override {
        sent += static_cast<int>(notices.size());
        return {};
    }
    int sent = 0;
};

}  // namespace

TEST_CASE("notices sent but not remembered make the channel's result an error", "[ledger-writes]") {
    Fleet f;
    testing::fail_ledger_writes(f.ledger.path(), "notices");
    hooks::Notice n;
    n.event = "expiry_warning";
    n.severity = "warning";
    n.key = "cert:media";
    n.fingerprint = "warning|expiry|01";
    n.summary = "media: expires soon";
    auto notifier = std::make_unique<CountingNotifier>();
    CountingNotifier& counting = *notifier;
    std::vector<std::unique_ptr<hooks::Notifier>> channels;
    channels.push_back(std::move(notifier));
    auto results = operations::deliver_notices({n}, {"cert:"}, channels, nullptr, f.ledger,
                                               f.clock.now(), core::Seconds{86400});
    REQUIRE(results.size() == 1);
    CHECK(counting.sent == 1);
    CHECK(results[0].sent == 1);
    CHECK_THAT(results[0].error, Catch::Contains("could not remember") &&
                                     Catch::Contains(testing::kInjectedLedgerError));
}

TEST_CASE("bookkeeping the ledger cannot record is logged as an error with its cost and next step",
          "[ledger-writes]") {
    // -q keeps errors only: these must reach a cron mail, not vanish as warnings.
    auto sink = std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(16);
    auto previous = spdlog::default_logger();
    spdlog::set_default_logger(std::make_shared<spdlog::logger>("capture", sink));
    spdlog::set_level(spdlog::level::err);

    Fleet f;
    testing::fail_ledger_writes(f.ledger.path(), "orders");
    std::mutex mutex;
    {
        operations::RememberedOrder order(f.ledger, mutex, "media", f.clock);
        order.created("https://ca.test/order/1");
    }

    spdlog::set_default_logger(previous);
    spdlog::set_level(spdlog::level::info);
    auto lines = sink->last_formatted();
    REQUIRE(lines.size() == 1);  // never recorded: forgetting it deletes no row, and succeeds
    const std::string order_line = lines[0];
    CHECK(order_line.find("[error]") != std::string::npos);
    CHECK(order_line.find("media: the ledger could not record the CA's order "
                          "https://ca.test/order/1") != std::string::npos);
    CHECK(order_line.find(testing::kInjectedLedgerError) != std::string::npos);
    CHECK(order_line.find("cannot resume or clean up that order") != std::string::npos);
    CHECK(order_line.find("next step: make " + f.ledger.path() + " writable") != std::string::npos);
}
