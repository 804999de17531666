// status's report from the store and the ledger: each certificate's state as
// of a given moment, the name filter, and host columns for a local host.
#include "operations/status.hpp"

#include <catch2/catch.hpp>

#include "support/deploy_test_support.hpp"
#include "support/temp_files.hpp"

using namespace certfleet;
using operations::CertificateState;

namespace {

constexpr long kDay = 86400;

struct Fixture {
    testing::TempDir dir;
    inventory::Inventory inv;
    state::Store store = std::move(state::Store::open(dir.path + "/state")).value();
    state::Ledger ledger = std::move(state::Ledger::open_in_memory()).value();
    core::TimePoint issued_at = core::SystemClock().now();
    std::string serial;

    Fixture() {
        inv.policy.renew_before = core::Seconds(30 * kDay);
        for (const char* name : {"media", "site"}) {
            inventory::CertificateSpec spec;
            spec.name = name;
            spec.domains = {"media.example.test"};
            inv.certificates[name] = spec;
        }
        // Only media is issued: valid from an hour ago for 90 days.
        auto m = distribute::test::make_material("media", "v1", 4242);
        serial = m.serial_hex;
        REQUIRE(store.add_version("media", {m.cert_pem, m.chain_pem, m.fullchain_pem, m.key_pem},
                                  issued_at));
    }
    operations::StatusReport status(long days_from_now, std::vector<std::string> names = {}) {
        operations::StatusOptions options;
        options.names = std::move(names);
        options.now = issued_at + core::Seconds(days_from_now * kDay);
        options.probe_hosts = false;
        return operations::collect_status(inv, store, ledger, options);
    }
};

const operations::CertificateStatus& status_of(const operations::StatusReport& report,
                                               const std::string& name) {
    for (const auto& c : report.certificates)
        if (c.name == name)
            return c;
    FAIL("no status for " << name);
    throw std::logic_error("unreachable");
}

}  // namespace

TEST_CASE("status names each certificate's state as of the moment asked", "[status]") {
    Fixture f;
    auto now = f.status(0);
    REQUIRE(now.certificates.size() == 2);
    CHECK(now.certificates[0].name == "media");  // inventory order
    const auto& media = status_of(now, "media");
    CHECK(media.state == CertificateState::Ok);
    CHECK(media.domains == std::vector<std::string>{"media.example.test"});
    REQUIRE(media.current);
    CHECK(media.current->serial == f.serial);
    CHECK(media.current->version == *f.store.current_version("media"));
    CHECK(media.current->renew_at == media.current->not_after - core::Seconds(30 * kDay));
    CHECK(media.hosts.empty());

    const auto& site = status_of(now, "site");
    CHECK(site.state == CertificateState::Missing);
    CHECK_FALSE(site.current);
    CHECK_FALSE(site.reason.empty());

    auto later = f.status(70);  // inside the last 30 days
    CHECK(status_of(later, "media").state == CertificateState::Due);
    auto after = f.status(91);
    CHECK(status_of(after, "media").state == CertificateState::Expired);
    CHECK_THAT(status_of(after, "media").reason, Catch::Contains("expired"));
}

TEST_CASE("status reports only the certificates named", "[status]") {
    Fixture f;
    auto report = f.status(0, {"site"});
    REQUIRE(report.certificates.size() == 1);
    CHECK(report.certificates[0].name == "site");
}

TEST_CASE("status state names are the documented ones", "[status]") {
    CHECK(operations::certificate_state_name(CertificateState::Ok) == "ok");
    CHECK(operations::certificate_state_name(CertificateState::Due) == "due");
    CHECK(operations::certificate_state_name(CertificateState::Expired) == "expired");
    CHECK(operations::certificate_state_name(CertificateState::Missing) == "missing");
}

TEST_CASE("status adds what each host has deployed to its certificate", "[status]") {
    Fixture f;
    inventory::Host web;
    web.name = "web";
    web.transport = inventory::HostTransport::Local;
    web.settings.cert_root = f.dir.path + "/live";  // nothing deployed yet
    web.settings.verify.enabled = false;
    f.inv.hosts["web"] = web;
    f.inv.certificates["media"].deploy_to = {"web"};
    operations::StatusOptions options;
    options.now = f.issued_at;
    auto report = operations::collect_status(f.inv, f.store, f.ledger, options);
    const auto& media = status_of(report, "media");
    REQUIRE(media.hosts.size() == 1);
    CHECK(media.hosts[0].host == "web");
    CHECK(media.hosts[0].state == operations::HostState::Missing);
    CHECK(status_of(report, "site").hosts.empty());
}
