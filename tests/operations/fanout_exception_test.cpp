// Every fan-out of the use cases turns an exception in one item into that
// item's error in its own terms (a failed certificate, a failed host, an
// UNKNOWN probe, an audit host failure, an unknown status row) instead of
// std::terminate, and the other items still run.
#include <atomic>
#include <filesystem>
#include <stdexcept>

#include <catch2/catch.hpp>

#include "operations/audit.hpp"
#include "operations/check.hpp"
#include "operations/deploy.hpp"
#include "operations/fleet_status.hpp"
#include "operations/issue.hpp"
#include "support/deploy_test_support.hpp"
#include "support/hostile_peer.hpp"
#include "support/temp_files.hpp"

using namespace certfleet;
using operations::CheckKind;

namespace {

bool has_text(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

// A store holding version v1 of "media", deployed to the local hosts edge-1
// and edge-2 (cert_root in the temporary directory, no TLS verification).
struct Fleet {
    testing::TempDir dir;
    inventory::Inventory inv;
    state::Store store;
    state::Ledger ledger;

    Fleet()
        : store(std::move(state::Store::open(dir.path + "/state")).value()),
          ledger(std::move(state::Ledger::open_in_memory()).value()) {
        inventory::CertificateSpec spec;
        spec.name = "media";
        spec.domains = {"media.example.test"};
        spec.deploy_to = {"edge-1", "edge-2"};
        inv.certificates["media"] = spec;
        for (const char* name : {"edge-1", "edge-2"}) {
            inventory::Host host;
            host.name = name;
            host.transport = inventory::HostTransport::Local;
            host.settings.cert_root = dir.path + "/" + name;
            std::filesystem::create_directories(host.settings.cert_root);
            host.settings.verify.enabled = false;
            inv.hosts[name] = host;
        }
        auto m = distribute::test::make_material("media", "v1", 4242);
        REQUIRE(store.add_version("media", {m.cert_pem, m.chain_pem, m.fullchain_pem, m.key_pem},
                                  core::SystemClock().now()));
    }
};

// Throws once armed: the seam to make a worker's code throw part-way.
class BreakingClock final : public core::Clock {
public:
    core::TimePoint now() const override {
        if (armed)
            throw std::runtime_error("the clock broke");
        return core::SystemClock().now();
    }
    mutable std::atomic<bool> armed{false};
};

}  // namespace

TEST_CASE("deploy: a host whose deployment throws is a failed host with the reason",
          "[fanout][deploy]") {
    Fleet f;
    core::SystemClock clock;
    operations::Context ctx{f.inv, f.store, f.ledger, clock, nullptr, {}, nullptr};
    ctx.progress = [](const std::string&, const std::string& step) {
        if (step.find("edge-2: deploying") != std::string::npos)
            throw std::runtime_error("progress display broke");
    };
    operations::DeployOptions options;
    auto report = operations::run_deploy(ctx, options);
    REQUIRE(report.hosts.size() == 2);
    const auto& edge1 = report.hosts[0];
    const auto& edge2 = report.hosts[1];
    CHECK(edge1.host == "edge-1");
    CHECK_FALSE(has_text(edge1.error, "unexpectedly"));
    CHECK(edge2.host == "edge-2");
    CHECK(edge2.result == operations::HostResult::Failed);
    CHECK(has_text(edge2.error, "'media' to edge-2 failed unexpectedly: progress display broke"));
    CHECK(report.exit_code() != 0);
}

TEST_CASE("check: a probe that throws makes its item UNKNOWN, the others are probed",
          "[fanout][check]") {
    Fleet f;
    f.inv.hosts["edge-1"].settings.verify.enabled = true;
    f.inv.hosts["edge-1"].settings.verify.port = 1001;
    f.inv.hosts["edge-2"].settings.verify.enabled = true;
    f.inv.hosts["edge-2"].settings.verify.port = 1002;
    operations::CheckOptions options;
    options.at = core::SystemClock().now();
    options.probe = true;
    options.probe_with = [](const std::string&, int port, const std::string&,
                            core::Seconds) -> core::Result<distribute::ServedCertificate> {
        if (port == 1002)
            throw std::runtime_error("prober broke");
        return core::fail(core::ErrorKind::Network, "connection refused");
    };
    auto report = operations::run_check(f.inv, f.store, f.ledger, options);
    REQUIRE(report.items.size() == 3);  // the store's, then one per host
    const auto& edge1 = report.items[1];
    const auto& edge2 = report.items[2];
    CHECK(edge1.host == "edge-1");
    CHECK(has_text(edge1.message, "connection refused"));
    CHECK(edge2.host == "edge-2");
    CHECK(edge2.kind == CheckKind::ProbeFailed);
    CHECK(edge2.severity == renewal::Severity::Unknown);
    CHECK(has_text(edge2.message, "probe of 127.0.0.1:1002 failed: prober broke"));
}

TEST_CASE("audit: a host whose audit throws is a failed host, the others are audited",
          "[fanout][audit]") {
    Fleet f;
    operations::AuditOptions options;
    // Not in the inventory (the CLI checks --host; a caller might not):
    // looking it up throws inside the worker.
    options.hosts = {"edge-1", "ghost"};
    options.limits.probe = false;
    auto report = operations::run_audit(f.inv, f.store, f.ledger, options);
    CHECK(report.hosts_audited == std::vector<std::string>{"edge-1"});
    REQUIRE(report.hosts_failed.size() == 1);
    CHECK(report.hosts_failed[0].host == "ghost");
    CHECK(has_text(report.hosts_failed[0].error, "audit of this host failed: "));
}

TEST_CASE("status: a host whose status throws shows unknown rows with the reason",
          "[fanout][status]") {
    Fleet f;
    // A group naming a host the inventory lacks (load-time validation
    // rejects it; this caller skipped it): looking it up throws in the worker.
    inventory::Group group;
    group.name = "edge";
    group.hosts = {"edge-1", "ghost"};
    f.inv.groups["edge"] = group;
    f.inv.certificates["media"].deploy_to = {"edge"};
    auto status = operations::collect_host_status(f.inv, f.store, f.ledger, {}, 4);
    REQUIRE(status["media"].size() == 2);
    const auto& edge1 = status["media"][0];
    const auto& ghost = status["media"][1];
    CHECK(edge1.host == "edge-1");
    CHECK_FALSE(has_text(edge1.detail, "status of this host failed"));
    CHECK(ghost.host == "ghost");
    CHECK(ghost.state == operations::HostState::Unknown);
    CHECK(has_text(ghost.detail, "status of this host failed: "));
}

TEST_CASE("issue: a certificate whose issuance throws is failed with a message naming it",
          "[fanout][issue]") {
    using namespace certfleet::test::hostile;
    // A CA whose directory is missing: the issuance fails at once (no retry),
    // and recording that failure reads the clock, which then throws.
    TcpPeer ca([](Connection& c) {
        if (read_http_request(c))
            c.send(http_response(404, "{}"));
    });
    Fleet f;
    f.inv.acme.directory = ca.url("/directory");
    inventory::CertificateSpec fresh = f.inv.certificates["media"];
    fresh.name = "fresh";
    f.inv.certificates["fresh"] = fresh;
    BreakingClock clock;
    operations::Context ctx{f.inv, f.store, f.ledger, clock, nullptr, {}, nullptr};
    operations::IssueOptions options;
    options.names = {"fresh"};
    options.before_work = [&] { clock.armed = true; };
    auto report = operations::run_issue(ctx, options);
    REQUIRE(report.certificates.size() == 1);
    const auto& out = report.certificates[0];
    CHECK(out.action == operations::CertificateAction::Failed);
    CHECK(has_text(out.error, "certificate 'fresh' failed unexpectedly: the clock broke"));
    CHECK(report.exit_code() == 2);
}
