#include "state/ledger.hpp"

#include <filesystem>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <sqlite3.h>

#include "support/temp_files.hpp"

using namespace certfleet;
using state::FailureRecord;
using state::IssuanceRecord;
using state::Ledger;
namespace stdfs = std::filesystem;

using namespace certfleet::testing;

namespace {

core::TimePoint at(const char* text) {
    return *core::parse_rfc3339(text);
}

IssuanceRecord sample(const std::string& cert, const std::string& version) {
    IssuanceRecord r;
    r.cert = cert;
    r.version = version;
    r.serial = "4f20a477";
    r.domains = {"example.org", "*.example.org"};
    r.key_type = "ecdsa-p384";
    r.profile = "tlsserver";
    r.not_before = at("2026-11-21T10:30:00Z");
    r.not_after = at("2027-02-19T10:30:00Z");
    r.order_url = "https://ca.example/order/1";
    r.issued_at = at("2026-11-21T10:31:00Z");
    r.replaced_version = "";
    return r;
}

FailureRecord failure(const char* when, const std::string& message,
                      std::optional<core::TimePoint> retry_after = std::nullopt) {
    return FailureRecord{"site", at(when), "acme", message, retry_after};
}

}  // namespace

TEST_CASE("ledger file is 0600 and issuances round trip across reopen", "[ledger]") {
    TempDir d;
    const std::string path = d.path + "/ledger.sqlite";
    mode_t old = ::umask(0);
    {
        auto ledger = Ledger::open(path);
        ::umask(old);
        REQUIRE(ledger);
        auto first = sample("site", "20261121T103000Z-4f20a477");
        REQUIRE(ledger->record_issuance(first));
        auto second = sample("site", "20270120T000000Z-00aa11bb");
        second.replaced_version = first.version;
        second.issued_at = at("2027-01-20T00:00:00Z");
        second.profile = "it's \"quoted\"; DROP TABLE issuances;--";
        REQUIRE(ledger->record_issuance(second));
        REQUIRE(ledger->record_issuance(sample("other", "v")));
    }
    struct stat st {};
    REQUIRE(::stat(path.c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);

    auto ledger = Ledger::open(path);
    REQUIRE(ledger);
    auto rows = ledger->issuances("site");
    REQUIRE(rows.size() == 2);
    const auto expected = sample("site", "20261121T103000Z-4f20a477");
    CHECK(rows[0].cert == "site");
    CHECK(rows[0].version == expected.version);
    CHECK(rows[0].serial == expected.serial);
    CHECK(rows[0].domains == expected.domains);
    CHECK(rows[0].key_type == "ecdsa-p384");
    CHECK(rows[0].profile == "tlsserver");
    CHECK(rows[0].not_before == expected.not_before);
    CHECK(rows[0].not_after == expected.not_after);
    CHECK(rows[0].order_url == expected.order_url);
    CHECK(rows[0].issued_at == expected.issued_at);
    CHECK(rows[0].replaced_version.empty());
    CHECK(rows[1].replaced_version == expected.version);
    CHECK(rows[1].profile == "it's \"quoted\"; DROP TABLE issuances;--");
    CHECK(ledger->issuances("other").size() == 1);
    CHECK(ledger->issuances("nobody").empty());

    Ledger moved = std::move(*ledger);
    CHECK(moved.issuances("site").size() == 2);
}

TEST_CASE("failure state counts consecutive failures until a success", "[ledger]") {
    TempDir d;
    auto ledger = Ledger::open(d.path + "/ledger.sqlite");
    REQUIRE(ledger);
    CHECK_FALSE(ledger->failure_state("site"));

    REQUIRE(ledger->record_failure(failure("2026-05-01T00:00:00Z", "dns timeout")));
    REQUIRE(ledger->record_failure(
        failure("2026-05-01T00:01:00Z", "rate limited", at("2026-05-02T00:00:00Z"))));
    REQUIRE(ledger->record_failure(failure("2026-05-01T00:11:00Z", "badNonce")));
    REQUIRE(
        ledger->record_failure(FailureRecord{"other", at("2026-05-01T00:00:00Z"), "dns", "x", {}}));

    auto s = ledger->failure_state("site");
    REQUIRE(s);
    CHECK(s->consecutive_failures == 3);
    CHECK(s->last_failure_at == at("2026-05-01T00:11:00Z"));
    CHECK(s->last_message == "badNonce");
    CHECK(s->retry_after == at("2026-05-02T00:00:00Z"));

    REQUIRE(ledger->clear_failures("site"));
    CHECK_FALSE(ledger->failure_state("site"));
    CHECK(ledger->failure_state("other")->consecutive_failures == 1);

    REQUIRE(
        ledger->record_failure(FailureRecord{"other", at("2026-05-01T00:05:00Z"), "dns", "y", {}}));
    CHECK_FALSE(ledger->failure_state("other")->retry_after);
    REQUIRE(ledger->record_issuance(sample("other", "v1")));  // a success ends the streak
    CHECK_FALSE(ledger->failure_state("other"));
}

TEST_CASE("ledger events round trip", "[ledger]") {
    TempDir d;
    auto ledger = Ledger::open(d.path + "/ledger.sqlite");
    REQUIRE(ledger);
    REQUIRE(ledger->record_event("site", "web-1", "deployed", "v2", at("2026-05-01T00:00:00Z")));
    REQUIRE(ledger->record_event("site", "web-2", "rolled_back", "nginx -t failed",
                                 at("2026-05-01T00:01:00Z")));
    REQUIRE(ledger->record_event("site", "web-3", "deployed", "now"));
    auto events = ledger->events("site");
    REQUIRE(events.size() == 3);
    CHECK(events[0].host == "web-1");
    CHECK(events[1].kind == "rolled_back");
    CHECK(events[1].detail == "nginx -t failed");
    CHECK(events[1].at == at("2026-05-01T00:01:00Z"));
    CHECK(events[2].at > at("2026-05-01T00:01:00Z"));
}

TEST_CASE("a ledger from a newer certfleet is refused", "[ledger]") {
    TempDir d;
    const std::string path = d.path + "/ledger.sqlite";
    REQUIRE(Ledger::open(path));
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
    REQUIRE(sqlite3_exec(db, "PRAGMA user_version = 99", nullptr, nullptr, nullptr) == SQLITE_OK);
    sqlite3_close(db);
    auto again = Ledger::open(path);
    REQUIRE_FALSE(again);
    CHECK_THAT(again.error().message, Catch::Contains("schema version 99"));
    CHECK_FALSE(Ledger::open(d.path + "/missing-dir/ledger.sqlite"));
}

namespace {

// A new ledger turned into an older schema by `sql`, then opened again (the
// migration under test).
Ledger reopened_after(const std::string& path, const char* sql) {
    REQUIRE(Ledger::open(path));
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
    REQUIRE(sqlite3_exec(db, sql, nullptr, nullptr, nullptr) == SQLITE_OK);
    sqlite3_close(db);
    auto ledger = Ledger::open(path);
    REQUIRE(ledger);
    return std::move(*ledger);
}

}  // namespace

TEST_CASE("a v2 ledger gains the in-flight tables: challenges (by cert, name, value), orders",
          "[ledger]") {
    TempDir d;
    auto ledger = reopened_after(d.path + "/ledger.sqlite",
                                 "DROP TABLE challenges; DROP TABLE orders; DROP TABLE owed_hooks; "
                                 "PRAGMA user_version = 2");
    state::PublishedChallenge a{"site", "bind", "_acme-challenge.example.org.", "v1", "example.org",
                                "t1",   "t1.k", at("2026-05-01T00:00:00Z")};
    auto b = a;
    b.value = "v2";  // a wildcard's value beside the apex's, at the same name
    auto other = a;
    other.cert = "other";
    REQUIRE(ledger.remember_challenges({a, b, other}));
    REQUIRE(ledger.remember_challenges({a}));  // again: still one row
    CHECK(ledger.published_challenges().size() == 3);
    REQUIRE(ledger.forget_challenges({a}));
    auto left = ledger.published_challenges();
    REQUIRE(left.size() == 2);
    CHECK(left[0].value == "v2");
    CHECK(left[0].published_at == at("2026-05-01T00:00:00Z"));
    CHECK(left[1].cert == "other");

    REQUIRE(ledger.remember_order({"site", "https://ca/order/1", at("2026-05-01T00:00:00Z")}));
    REQUIRE(ledger.remember_order({"site", "https://ca/order/2", at("2026-05-01T00:01:00Z")}));
    REQUIRE(ledger.forget_order("site", "https://ca/order/1"));
    auto orders = ledger.open_orders();
    REQUIRE(orders.size() == 1);
    CHECK(orders[0].url == "https://ca/order/2");
    CHECK(orders[0].created_at == at("2026-05-01T00:01:00Z"));
}

TEST_CASE("a v3 ledger gains owed hooks: owed once, from the first time, until settled",
          "[ledger]") {
    TempDir d;
    auto ledger =
        reopened_after(d.path + "/ledger.sqlite", "DROP TABLE owed_hooks; PRAGMA user_version = 3");
    CHECK_FALSE(ledger.hook_owed_since("post"));
    REQUIRE(ledger.owe_hook("post", at("2026-05-01T00:00:00Z")));
    REQUIRE(ledger.owe_hook("post", at("2026-05-02T00:00:00Z")));  // still the first run's
    CHECK(ledger.hook_owed_since("post") == at("2026-05-01T00:00:00Z"));
    REQUIRE(ledger.settle_hook("post"));
    CHECK_FALSE(ledger.hook_owed_since("post"));
    REQUIRE(ledger.settle_hook("post"));  // nothing owed: fine
}
