// revoke's use case against a scripted fake CA: the reason names, what is
// sent and recorded, and a revocation the ledger cannot record.
#include "operations/revoke.hpp"

#include <catch2/catch.hpp>
#include <sqlite3.h>

#include "support/deploy_test_support.hpp"
#include "support/temp_files.hpp"

using namespace certfleet;
using operations::RevokeResult;

namespace {

// Answers the directory and nonces itself; every POST (the revokeCert
// request) gets `revoke_status`.
class FakeCa : public core::HttpClient {
public:
    int revoke_status = 200;
    std::vector<core::HttpRequest> posts;

    core::Result<core::HttpResponse> send(const core::HttpRequest& req) override {
        core::HttpResponse r;
        r.headers.emplace_back("replay-nonce", "n" + std::to_string(++m_nonces));
        if (req.method == "GET") {
            r.status = 200;
            r.body = nlohmann::json{{"newNonce", "https://ca/nonce"},
                                    {"newAccount", "https://ca/acct"},
                                    {"newOrder", "https://ca/order"},
                                    {"revokeCert", "https://ca/revoke"}}
                         .dump();
        } else if (req.method == "HEAD") {
            r.status = 200;
        } else {
            posts.push_back(req);
            r.status = revoke_status;
            if (revoke_status != 200)
                r.body = nlohmann::json{{"type", "urn:ietf:params:acme:error:unauthorized"},
                                        {"detail", "not your certificate"}}
                             .dump();
        }
        return r;
    }

private:
    int m_nonces = 0;
};

struct Fixture {
    testing::TempDir dir;
    state::Store store = std::move(state::Store::open(dir.path + "/state")).value();
    state::Ledger ledger = std::move(state::Ledger::open(store.ledger_path())).value();
    FakeCa ca;
    acme::AcmeClient client{ca, "https://ca/dir"};
    core::PrivateKey account_key = *core::PrivateKey::generate(core::KeyType::EcdsaP256);
    int client_requests = 0;

    Fixture() {
        REQUIRE(client.connect());
        client.use_account(account_key, "https://ca/acct/1");
    }
    std::string issue(const std::string& cert) {
        auto m = distribute::test::make_material(cert, "v1", 4242);
        REQUIRE(store.add_version(cert, {m.cert_pem, m.chain_pem, m.fullchain_pem, m.key_pem},
                                  core::SystemClock().now()));
        return m.serial_hex;
    }
    operations::RevokeOutcome revoke(const std::string& cert, acme::RevocationReason reason) {
        return operations::revoke_current(store, ledger, {cert, reason}, [this] {
            ++client_requests;
            return core::Result<acme::AcmeClient*>(&client);
        });
    }
};

// What a full disk or a damaged ledger looks like to record_event.
void break_events_table(const std::string& ledger_path) {
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open(ledger_path.c_str(), &db) == SQLITE_OK);
    CHECK(sqlite3_exec(db, "DROP TABLE events", nullptr, nullptr, nullptr) == SQLITE_OK);
    sqlite3_close(db);
}

}  // namespace

TEST_CASE("revocation reasons convert both ways by their RFC 5280 names", "[revoke]") {
    using acme::RevocationReason;
    CHECK(operations::revocation_reason_names() ==
          std::vector<std::string>{"unspecified", "keyCompromise", "superseded",
                                   "cessationOfOperation"});
    for (const auto& name : operations::revocation_reason_names()) {
        auto reason = operations::parse_revocation_reason(name);
        REQUIRE(reason);
        CHECK(operations::revocation_reason_name(*reason) == name);
    }
    CHECK(operations::parse_revocation_reason("keyCompromise") == RevocationReason::KeyCompromise);
    CHECK(operations::parse_revocation_reason("superseded") == RevocationReason::Superseded);
    CHECK_FALSE(operations::parse_revocation_reason("KeyCompromise"));
    CHECK_FALSE(operations::parse_revocation_reason(""));
}

TEST_CASE("revoking a certificate never issued asks no CA", "[revoke]") {
    Fixture f;
    auto outcome = f.revoke("site", acme::RevocationReason::Unspecified);
    CHECK(outcome.result == RevokeResult::NeverIssued);
    CHECK_FALSE(outcome.revoked_at_ca());
    CHECK(outcome.serial.empty());
    CHECK(f.client_requests == 0);
}

TEST_CASE("a revocation is sent with its reason and recorded for issue to find", "[revoke]") {
    Fixture f;
    std::string serial = f.issue("site");
    auto outcome = f.revoke("site", acme::RevocationReason::Superseded);
    CHECK(outcome.result == RevokeResult::Revoked);
    CHECK(outcome.revoked_at_ca());
    CHECK_FALSE(outcome.error);
    CHECK(outcome.serial == serial);
    CHECK(outcome.version == *f.store.current_version("site"));
    REQUIRE(f.ca.posts.size() == 1);
    CHECK(f.ca.posts[0].url == "https://ca/revoke");
    auto events = f.ledger.events("site");
    REQUIRE(events.size() == 1);
    CHECK(events[0].host.empty());
    // operations/issue.cpp finds revoked versions by these events.
    CHECK(events[0].kind == state::EventKind::Revoked);
    CHECK(events[0].version == outcome.version);
    CHECK(events[0].detail ==
          "serial " + serial + " version " + outcome.version + " reason superseded");
}

TEST_CASE("a CA that refuses revokes nothing and records nothing", "[revoke]") {
    Fixture f;
    std::string serial = f.issue("site");
    f.ca.revoke_status = 403;
    auto outcome = f.revoke("site", acme::RevocationReason::KeyCompromise);
    CHECK(outcome.result == RevokeResult::CaFailed);
    CHECK_FALSE(outcome.revoked_at_ca());
    CHECK(outcome.serial == serial);
    REQUIRE(outcome.error);
    CHECK_THAT(outcome.error->message, Catch::Contains("not your certificate"));
    CHECK(f.ledger.events("site").empty());
}

TEST_CASE("a CA that cannot be reached is a failure before any request", "[revoke]") {
    Fixture f;
    f.issue("site");
    auto outcome = operations::revoke_current(
        f.store, f.ledger, {"site", acme::RevocationReason::Unspecified}, [] {
            return core::Result<acme::AcmeClient*>(core::fail(core::ErrorKind::Network, "refused"));
        });
    CHECK(outcome.result == RevokeResult::CaFailed);
    REQUIRE(outcome.error);
    CHECK(outcome.error->message == "refused");
    CHECK(f.ca.posts.empty());
}

TEST_CASE("a revocation the ledger cannot record is an error with the next step", "[revoke]") {
    Fixture f;
    std::string serial = f.issue("site");
    break_events_table(f.store.ledger_path());
    auto outcome = f.revoke("site", acme::RevocationReason::KeyCompromise);
    CHECK(outcome.result == RevokeResult::RevokedNotRecorded);
    CHECK(outcome.revoked_at_ca());  // the CA did revoke it
    CHECK(f.ca.posts.size() == 1);
    REQUIRE(outcome.error);
    // Says what happened, naming the certificate and serial...
    CHECK_THAT(outcome.error->message, Catch::Contains("'site'") && Catch::Contains(serial) &&
                                           Catch::Contains("revoked at the CA") &&
                                           Catch::Contains("could not record"));
    // ...and what to do: replace it, as issue no longer knows it is due.
    CHECK_THAT(outcome.error->hint, Catch::Contains("certfleet renew --force site") &&
                                        Catch::Contains("do not revoke it again"));
}
