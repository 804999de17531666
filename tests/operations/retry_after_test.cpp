// A CA's Retry-After across runs (issue #16, point 6): obeyed for at most a
// day, and --force retries at once (with a warning).
#include <atomic>

#include <catch2/catch.hpp>

#include "operations/issue.hpp"
#include "support/hostile_peer.hpp"
#include "support/temp_files.hpp"

using namespace certfleet;

TEST_CASE("a CA's Retry-After defers renewal for at most a day; --force retries at once",
          "[issue][retry_after]") {
    using namespace certfleet::test::hostile;
    std::atomic<int> requests{0};
    TcpPeer ca([&](Connection& c) {
        if (read_http_request(c)) {
            ++requests;
            c.send(http_response(404, "{}"));  // any answer: only whether it was asked counts
        }
    });
    testing::TempDir dir;
    inventory::Inventory inv;
    inv.acme.directory = ca.url("/directory");
    inventory::CertificateSpec spec;
    spec.name = "fresh";
    spec.domains = {"fresh.example.test"};
    inv.certificates["fresh"] = spec;
    auto store = std::move(state::Store::open(dir.path + "/state")).value();
    auto ledger = std::move(state::Ledger::open_in_memory()).value();
    core::SystemClock clock;
    const auto failed_at = std::chrono::time_point_cast<core::Seconds>(clock.now());
    REQUIRE(ledger.record_failure({"fresh", failed_at, "rate_limited",
                                   "too many certificates for this name",
                                   failed_at + core::Seconds(365 * 86400)}));
    operations::Context ctx{inv, store, ledger, clock, nullptr, {}, nullptr};
    operations::IssueOptions options;
    options.names = {"fresh"};

    auto deferred = operations::run_issue(ctx, options);
    REQUIRE(deferred.certificates.size() == 1);
    CHECK(deferred.certificates[0].action == operations::CertificateAction::Deferred);
    CHECK_THAT(deferred.certificates[0].reason,
               Catch::Contains("until " + core::format_rfc3339(failed_at + core::Seconds(86400))));
    CHECK(requests == 0);

    options.force = true;
    auto forced = operations::run_issue(ctx, options);
    REQUIRE(forced.certificates.size() == 1);
    CHECK(forced.certificates[0].action == operations::CertificateAction::Failed);
    CHECK(requests > 0);  // the CA was asked
}
