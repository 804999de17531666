// The ledger: an append-mostly SQLite record of issuances, renewal failures
// (for back-off) and deployment events. SQLite gives crash-safe transactions
// without a server; WAL lets `status` read while a run writes.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"
#include "core/time.hpp"

struct sqlite3;

namespace certfleet::state {

struct IssuanceRecord {
    std::string cert;
    std::string version;
    std::string serial;
    std::vector<std::string> domains;
    std::string key_type;  // "ecdsa-p256", ...
    std::string profile;
    core::TimePoint not_before{};
    core::TimePoint not_after{};
    std::string order_url;
    core::TimePoint issued_at{};
    std::string replaced_version;  // empty for the first issuance
};

struct FailureRecord {
    std::string cert;
    core::TimePoint at{};
    std::string error_kind;  // e.g. "rate_limited", "dns"
    std::string message;
    std::optional<core::TimePoint> retry_after;  // the CA's Retry-After, if any
};

// Failures since the last success (or clear_failures).
struct FailureState {
    int consecutive_failures = 0;
    core::TimePoint last_failure_at{};
    std::string last_message;
    std::optional<core::TimePoint> retry_after;  // latest Retry-After among them
};

// What an event records. The names are the ledger's `kind` column and what
// `check`, `audit` and `status` show, so they never change.
enum class EventKind {
    Deployed,        // "deployed": a host now has the version
    Unchanged,       // "unchanged": it already had it
    RolledBack,      // "rolled_back": a deployment failed after the reload and was undone
    Failed,          // "failed": a deployment did not activate the version
    Rollback,        // "rollback": an operator's rollback succeeded
    RollbackFailed,  // "rollback_failed"
    Revoked,         // "revoked": the CA revoked the version (host is empty)
    Unpinned,        // "unpinned": an operator lifted the pin a rollback set
};

// A successful `rollback` pins its (certificate, host) to the version it
// returned to: deploy, renew and run leave that host alone until `deploy
// --force` there (a Deployed event) or `rollback --unpin` (Unpinned) comes
// later. So a pair is pinned exactly when its newest event is a Rollback.
inline bool pins_host(EventKind newest_event_kind) {
    return newest_event_kind == EventKind::Rollback;
}

std::string_view event_kind_name(EventKind kind);
// nullopt for a name no certfleet writes.
std::optional<EventKind> parse_event_kind(std::string_view name);

struct EventRecord {
    std::string cert;
    std::string host;  // empty when the event concerns no host (revoked)
    EventKind kind = EventKind::Deployed;
    std::string version;  // the certificate version acted on (schema v5)
    std::string detail;   // for people; never parsed
    core::TimePoint at{};
};

// A revocation the ledger records: a Revoked event, with the serial and the
// RFC 5280 reason `revoke` wrote into its detail.
struct Revocation {
    std::string cert;
    std::string version;
    std::string serial;
    std::string reason;  // "keyCompromise", … ("unspecified" when not recorded)
    core::TimePoint at{};
};

// ACME Renewal Information (RFC 9773) for a certificate's current serial: the
// window the CA suggested, the random moment chosen inside it (kept, so every
// run and `status` agree on it), and when the CA wants to be asked again.
struct AriRecord {
    std::string cert;
    std::string serial;
    core::TimePoint window_start{};
    core::TimePoint window_end{};
    core::TimePoint chosen_at{};
    core::TimePoint next_poll{};
    std::string explanation_url;
};

// A problem a notification channel has been told about, so identical notices
// are not repeated within policy.notify_interval and a fixed problem gets
// exactly one "resolved" notice.
struct NoticeRecord {
    std::string channel;      // which notifier, e.g. "webhook https://hooks.example.org/…"
    std::string key;          // the problem's identity, e.g. "expiry:site"
    std::string fingerprint;  // what makes two notices identical (severity, serial, …)
    std::string severity;     // "warning" | "critical"
    std::string summary;      // one line, repeated in the "resolved" notice
    core::TimePoint first_sent{};
    core::TimePoint last_sent{};
};

// A DNS-01 TXT record certfleet publishes for a certificate's order, with
// what its provider needs to remove it again (exec "raw" mode wants the
// token and key authorization; neither is secret).
struct PublishedChallenge {
    std::string cert;
    std::string provider;  // the inventory's dns.providers name
    std::string fqdn;      // absolute, trailing dot
    std::string value;
    std::string domain;
    std::string token;
    std::string key_authorization;
    core::TimePoint published_at{};
};

// An ACME order created and not yet finished (issued, or failed and cleaned
// up): one a killed run abandoned is cleaned up by the next run.
struct OpenOrder {
    std::string cert;
    std::string url;
    core::TimePoint created_at{};
};

class Ledger {
public:
    // Creates the file (0600) and schema when missing; WAL, busy timeout 5 s.
    static core::Result<Ledger> open(const std::string& path);
    // An empty ledger that lives only in memory: what --dry-run and read-only
    // commands use when the state directory has no ledger yet.
    static core::Result<Ledger> open_in_memory();

    // Also clears the certificate's failures: a success ends the streak.
    core::Status record_issuance(const IssuanceRecord& r);
    core::Status record_failure(const FailureRecord& r);
    core::Status clear_failures(const std::string& cert);
    core::Status record_event(const EventRecord& event);

    std::vector<IssuanceRecord> issuances(const std::string& cert) const;      // oldest first
    std::optional<FailureState> failure_state(const std::string& cert) const;  // nullopt: none
    std::vector<EventRecord> events(const std::string& cert) const;            // oldest first

    // Whole-fleet reads for check / run, one query each (10,000 certificates
    // must not mean 10,000 queries per kind).
    std::map<std::string, FailureState> all_failure_states() const;  // by certificate
    std::vector<IssuanceRecord> all_issuances() const;  // every certificate, oldest first
    std::map<std::string, AriRecord> all_ari() const;   // by certificate
    // The newest event of every (certificate, host) pair that names a host.
    std::map<std::pair<std::string, std::string>, EventRecord> latest_host_events() const;
    // Every event of one kind (e.g. Revoked), all certificates, oldest first.
    std::vector<EventRecord> events_of_kind(EventKind kind) const;
    // Every revocation, all certificates, oldest first (one query).
    std::vector<Revocation> revocations() const;

    std::optional<AriRecord> ari(const std::string& cert) const;
    core::Status save_ari(const AriRecord& r);  // replaces the certificate's record

    std::vector<NoticeRecord> notices(const std::string& channel) const;
    // One transaction: insert or replace `sent`, delete `resolved` keys.
    core::Status save_notices(const std::string& channel, const std::vector<NoticeRecord>& sent,
                              const std::vector<std::string>& resolved);

    // What a run started at the CA and in DNS and has not finished.
    // Challenge records are remembered before the DNS update is sent and
    // forgotten once they are removed: what a killed run left in a zone is
    // found, and removed, by the next run. Keyed by (cert, fqdn, value).
    core::Status remember_challenges(const std::vector<PublishedChallenge>& records);
    core::Status forget_challenges(const std::vector<PublishedChallenge>& records);
    std::vector<PublishedChallenge> published_challenges() const;  // oldest first
    // Orders likewise: remembered when the CA created them, forgotten when
    // the issuance ended either way.
    core::Status remember_order(const OpenOrder& order);
    core::Status forget_order(const std::string& cert, const std::string& url);
    std::vector<OpenOrder> open_orders() const;  // oldest first
    // A hook a run owes: `post` from just before `pre` runs until `post` has
    // run, so a run killed in between is followed by `post` in the next one.
    core::Status owe_hook(const std::string& event, core::TimePoint since);
    core::Status settle_hook(const std::string& event);
    std::optional<core::TimePoint> hook_owed_since(const std::string& event) const;

    const std::string& path() const { return m_path; }

private:
    struct Closer {
        void operator()(sqlite3* db) const;
    };
    Ledger(sqlite3* db, std::string path) : m_db(db), m_path(std::move(path)) {}
    std::unique_ptr<sqlite3, Closer> m_db;
    std::string m_path;
};

}  // namespace certfleet::state
