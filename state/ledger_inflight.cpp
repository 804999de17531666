// The ledger's record of what a run started and has not finished: DNS-01
// challenge records and ACME orders (schema v3), hooks owed (v4). See
// app/recovery.hpp.
#include "state/ledger.hpp"
#include "state/ledger_sql.hpp"

namespace certfleet::state {

using namespace detail;  // ledger_sql.hpp: the SQLite helpers every ledger file uses

core::Status Ledger::remember_challenges(const std::vector<PublishedChallenge>& records) {
    sqlite3* db = m_db.get();
    return in_transaction(db, [&] {
        return write_rows(db,
                          "INSERT OR REPLACE INTO challenges (cert, provider, fqdn, value, domain, "
                          "token, key_authorization, published_at) "
                          "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                          records, [](Statement& q, const PublishedChallenge& r) {
                              q.bind(1, r.cert).bind(2, r.provider).bind(3, r.fqdn);
                              q.bind(4, r.value).bind(5, r.domain).bind(6, r.token);
                              q.bind(7, r.key_authorization).bind(8, to_db(r.published_at));
                          });
    });
}

core::Status Ledger::forget_challenges(const std::vector<PublishedChallenge>& records) {
    sqlite3* db = m_db.get();
    return in_transaction(db, [&] {
        return write_rows(db, "DELETE FROM challenges WHERE cert = ?1 AND fqdn = ?2 AND value = ?3",
                          records, [](Statement& q, const PublishedChallenge& r) {
                              q.bind(1, r.cert).bind(2, r.fqdn).bind(3, r.value);
                          });
    });
}

std::vector<PublishedChallenge> Ledger::published_challenges() const {
    std::vector<PublishedChallenge> out;
    auto q = Statement::prepare(m_db.get(),
                                "SELECT cert, provider, fqdn, value, domain, token, "
                                "key_authorization, published_at FROM challenges "
                                "ORDER BY published_at, rowid");
    if (!q)
        return out;
    while (q->next())
        out.push_back(PublishedChallenge{q->text(0), q->text(1), q->text(2), q->text(3), q->text(4),
                                         q->text(5), q->text(6), from_db(q->integer(7))});
    return out;
}

core::Status Ledger::remember_order(const OpenOrder& order) {
    return write_row(m_db.get(),
                     "INSERT OR REPLACE INTO orders (cert, url, created_at) VALUES (?1, ?2, ?3)",
                     [&](Statement& q) {
                         q.bind(1, order.cert).bind(2, order.url).bind(3, to_db(order.created_at));
                     });
}

core::Status Ledger::forget_order(const std::string& cert, const std::string& url) {
    return write_row(m_db.get(), "DELETE FROM orders WHERE cert = ?1 AND url = ?2",
                     [&](Statement& q) { q.bind(1, cert).bind(2, url); });
}

std::vector<OpenOrder> Ledger::open_orders() const {
    std::vector<OpenOrder> out;
    auto q = Statement::prepare(
        m_db.get(), "SELECT cert, url, created_at FROM orders ORDER BY created_at, rowid");
    if (!q)
        return out;
    while (q->next())
        out.push_back(OpenOrder{q->text(0), q->text(1), from_db(q->integer(2))});
    return out;
}

core::Status Ledger::owe_hook(const std::string& event, core::TimePoint since) {
    return write_row(m_db.get(), "INSERT OR IGNORE INTO owed_hooks (event, since) VALUES (?1, ?2)",
                     [&](Statement& q) { q.bind(1, event).bind(2, to_db(since)); });
}

core::Status Ledger::settle_hook(const std::string& event) {
    return write_row(m_db.get(), "DELETE FROM owed_hooks WHERE event = ?1",
                     [&](Statement& q) { q.bind(1, event); });
}

std::optional<core::TimePoint> Ledger::hook_owed_since(const std::string& event) const {
    auto q = Statement::prepare(m_db.get(), "SELECT since FROM owed_hooks WHERE event = ?1");
    if (!q)
        return std::nullopt;
    q->bind(1, event);
    if (!q->next())
        return std::nullopt;
    return from_db(q->integer(0));
}

}  // namespace certfleet::state
