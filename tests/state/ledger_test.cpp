#include "state/ledger.hpp"

#include <filesystem>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <sqlite3.h>

#include "support/ledger_faults.hpp"
#include "support/temp_files.hpp"

using namespace certfleet;
using state::EventKind;
using state::EventRecord;
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
    CHECK(rows[0].serial == "4F20A477");  // read back as openssl prints it
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
    REQUIRE(ledger->record_event(
        {"site", "web-1", EventKind::Deployed, "v2", "version v2", at("2026-05-01T00:00:00Z")}));
    REQUIRE(ledger->record_event({"site", "web-2", EventKind::RolledBack, "v2",
                                  "version v1: nginx -t failed", at("2026-05-01T00:01:00Z")}));
    REQUIRE(ledger->record_event({"site", "", EventKind::Revoked, "v1",
                                  "serial 01 version v1 reason superseded",
                                  at("2026-05-01T00:02:00Z")}));
    auto events = ledger->events("site");
    REQUIRE(events.size() == 3);
    CHECK(events[0].host == "web-1");
    CHECK(events[0].version == "v2");
    CHECK(events[1].kind == EventKind::RolledBack);
    CHECK(events[1].version == "v2");
    CHECK(events[1].detail == "version v1: nginx -t failed");
    CHECK(events[1].at == at("2026-05-01T00:01:00Z"));

    auto revoked = ledger->events_of_kind(EventKind::Revoked);
    REQUIRE(revoked.size() == 1);
    CHECK(revoked[0].version == "v1");
    CHECK(revoked[0].host.empty());
    // status, check and rollback read serial and reason back from the detail.
    auto revocations = ledger->revocations();
    REQUIRE(revocations.size() == 1);
    CHECK(revocations[0].cert == "site");
    CHECK(revocations[0].version == "v1");
    CHECK(revocations[0].serial == "01");
    CHECK(revocations[0].reason == "superseded");
    CHECK(revocations[0].at == at("2026-05-01T00:02:00Z"));
    auto latest = ledger->latest_host_events();  // revocations name no host
    REQUIRE(latest.size() == 2);
    CHECK(latest.at({"site", "web-2"}).kind == EventKind::RolledBack);
    CHECK(latest.at({"site", "web-2"}).version == "v2");
}

TEST_CASE("event kinds convert both ways by the names the ledger stores", "[ledger]") {
    const std::pair<EventKind, const char*> all[] = {
        {EventKind::Deployed, "deployed"},      {EventKind::Unchanged, "unchanged"},
        {EventKind::RolledBack, "rolled_back"}, {EventKind::Failed, "failed"},
        {EventKind::Rollback, "rollback"},      {EventKind::RollbackFailed, "rollback_failed"},
        {EventKind::Revoked, "revoked"},
    };
    for (const auto& [kind, name] : all) {
        CHECK(state::event_kind_name(kind) == name);
        CHECK(state::parse_event_kind(name) == kind);
    }
    CHECK_FALSE(state::parse_event_kind("Deployed"));
    CHECK_FALSE(state::parse_event_kind(""));
}

TEST_CASE("a failed event write is returned, not lost", "[ledger]") {
    TempDir d;
    const std::string path = d.path + "/ledger.sqlite";
    auto ledger = Ledger::open(path);
    REQUIRE(ledger);
    testing::fail_ledger_writes(path, "events");
    auto st = ledger->record_event(
        {"site", "web-1", EventKind::Deployed, "v1", "version v1", at("2026-05-01T00:00:00Z")});
    REQUIRE_FALSE(st);
    CHECK_THAT(st.error().message, Catch::Contains(testing::kInjectedLedgerError));
    CHECK(ledger->events("site").empty());
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

// The events table as schemas v1 to v4 had it (no version column).
constexpr const char* kEventsBeforeV5 =
    "DROP TABLE events; CREATE TABLE events (id INTEGER PRIMARY KEY, cert TEXT NOT NULL, "
    "host TEXT NOT NULL, kind TEXT NOT NULL, detail TEXT NOT NULL, at INTEGER NOT NULL); "
    "CREATE INDEX events_by_cert ON events(cert, at);";

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
    const std::string downgrade = std::string(kEventsBeforeV5) +
                                  "DROP TABLE challenges; DROP TABLE orders; "
                                  "DROP TABLE owed_hooks; PRAGMA user_version = 2";
    auto ledger = reopened_after(d.path + "/ledger.sqlite", downgrade.c_str());
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
    const std::string downgrade =
        std::string(kEventsBeforeV5) + "DROP TABLE owed_hooks; PRAGMA user_version = 3";
    auto ledger = reopened_after(d.path + "/ledger.sqlite", downgrade.c_str());
    CHECK_FALSE(ledger.hook_owed_since("post"));
    REQUIRE(ledger.owe_hook("post", at("2026-05-01T00:00:00Z")));
    REQUIRE(ledger.owe_hook("post", at("2026-05-02T00:00:00Z")));  // still the first run's
    CHECK(ledger.hook_owed_since("post") == at("2026-05-01T00:00:00Z"));
    REQUIRE(ledger.settle_hook("post"));
    CHECK_FALSE(ledger.hook_owed_since("post"));
    REQUIRE(ledger.settle_hook("post"));  // nothing owed: fine
}

TEST_CASE("a v4 ledger gains events.version, taken once from each old row's detail", "[ledger]") {
    TempDir d;
    // Rows as certfleet before v5 wrote them: the version only in the text.
    const std::string downgrade =
        std::string(kEventsBeforeV5) +
        "INSERT INTO events (cert, host, kind, detail, at) VALUES "
        "('site', '', 'revoked', 'serial 4f20a477 version 20261121T103000Z-4f20a477 reason "
        "keyCompromise', 1),"
        "('site', 'web-1', 'deployed', 'version 20261121T103000Z-4f20a477', 2),"
        "('site', 'web-2', 'failed', 'version 20261001T000000Z-00aa11bb: nginx -t failed', 3),"
        "('site', 'web-1', 'rollback', 'to version 00000000T000000Z-adopted-9f3e', 4),"
        "('site', 'web-3', 'failed', 'version : cannot connect (no version yet)', 5),"
        "('site', 'web-4', 'failed', 'upload failed: subversion 2 of the file', 6);"
        "PRAGMA user_version = 4";
    auto ledger = reopened_after(d.path + "/ledger.sqlite", downgrade.c_str());
    auto events = ledger.events("site");
    REQUIRE(events.size() == 6);
    CHECK(events[0].kind == EventKind::Revoked);
    CHECK(events[0].version == "20261121T103000Z-4f20a477");
    CHECK(events[1].version == "20261121T103000Z-4f20a477");
    CHECK(events[2].version == "20261001T000000Z-00aa11bb");
    CHECK(events[2].detail == "version 20261001T000000Z-00aa11bb: nginx -t failed");
    CHECK(events[3].kind == EventKind::Rollback);
    CHECK(events[3].version == "00000000T000000Z-adopted-9f3e");
    CHECK(events[4].version.empty());  // the failure named no version
    CHECK(events[5].version.empty());  // "subversion" is not the label
    auto revoked = ledger.events_of_kind(EventKind::Revoked);
    REQUIRE(revoked.size() == 1);
    CHECK(revoked[0].version == "20261121T103000Z-4f20a477");

    // Once: a row written now keeps its own version, and reopening changes nothing.
    REQUIRE(ledger.record_event({"site", "web-1", EventKind::Deployed, "v9",
                                 "version of the future", at("2026-05-01T00:00:00Z")}));
    auto again = Ledger::open(d.path + "/ledger.sqlite");
    REQUIRE(again);
    auto after = again->events("site");
    REQUIRE(after.size() == 7);
    CHECK(after[6].version == "v9");
    CHECK(after[4].version.empty());
}
