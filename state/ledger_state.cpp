// The ledger's small state tables: ARI windows and notification de-duplication.
#include "core/crypto.hpp"
#include "state/ledger.hpp"
#include "state/ledger_sql.hpp"

namespace certfleet::state {

using namespace detail;  // ledger_sql.hpp: the SQLite helpers every ledger file uses

std::map<std::string, FailureState> Ledger::all_failure_states() const {
    std::map<std::string, FailureState> out;
    auto q = Statement::prepare(
        m_db.get(),
        "SELECT f.cert, COUNT(*), MAX(f.at), MAX(f.retry_after), (SELECT message FROM failures "
        "WHERE cert = f.cert ORDER BY at DESC, id DESC LIMIT 1) FROM failures f GROUP BY f.cert");
    if (!q)
        return out;
    while (q->next()) {
        FailureState s;
        s.consecutive_failures = static_cast<int>(q->integer(1));
        s.last_failure_at = from_db(q->integer(2));
        if (!q->is_null(3))
            s.retry_after = from_db(q->integer(3));
        s.last_message = q->text(4);
        out.emplace(q->text(0), std::move(s));
    }
    return out;
}

std::map<std::pair<std::string, std::string>, EventRecord> Ledger::latest_host_events() const {
    std::map<std::pair<std::string, std::string>, EventRecord> out;
    auto q = Statement::prepare(m_db.get(),
                                "SELECT e.cert, e.host, e.kind, e.version, e.detail, e.at "
                                "FROM events e "
                                "JOIN (SELECT MAX(id) AS id FROM events WHERE host != '' "
                                "GROUP BY cert, host) newest ON e.id = newest.id");
    if (!q)
        return out;
    while (q->next()) {
        if (auto r = detail::event_row(*q))
            out.emplace(std::make_pair(r->cert, r->host), std::move(*r));
    }
    return out;
}

std::vector<EventRecord> Ledger::events_of_kind(EventKind kind) const {
    std::vector<EventRecord> out;
    const std::string sql = std::string(detail::kEventColumns) + "WHERE kind = ?1 ORDER BY at, id";
    auto q = Statement::prepare(m_db.get(), sql.c_str());
    if (!q)
        return out;
    const std::string name(event_kind_name(kind));
    q->bind(1, name);
    while (q->next())
        if (auto r = detail::event_row(*q))
            out.push_back(std::move(*r));
    return out;
}

namespace {

constexpr const char* kAriColumns =
    "SELECT cert, serial, window_start, window_end, chosen_at, next_poll, explanation_url "
    "FROM ari ";

AriRecord ari_row(const Statement& q) {
    return AriRecord{q.text(0),
                     core::canonical_serial(q.text(1)),
                     from_db(q.integer(2)),
                     from_db(q.integer(3)),
                     from_db(q.integer(4)),
                     from_db(q.integer(5)),
                     q.text(6)};
}

}  // namespace

namespace {

// The word after `label ` in a Revoked event's detail, which `revoke` writes
// as "serial S version V reason R" (none of S, V, R holds a space).
std::string detail_word(const std::string& detail, const std::string& label) {
    const std::string key = label + " ";
    size_t at = detail.rfind(key);
    if (at == std::string::npos || (at != 0 && detail[at - 1] != ' '))
        return {};
    at += key.size();
    return detail.substr(at, detail.find(' ', at) - at);
}

}  // namespace

std::vector<Revocation> Ledger::revocations() const {
    std::vector<Revocation> out;
    for (auto& e : events_of_kind(EventKind::Revoked)) {
        std::string reason = detail_word(e.detail, "reason");
        out.push_back({e.cert, e.version, core::canonical_serial(detail_word(e.detail, "serial")),
                       reason.empty() ? "unspecified" : reason, e.at});
    }
    return out;
}

std::optional<AriRecord> Ledger::ari(const std::string& cert) const {
    const std::string sql = std::string(kAriColumns) + "WHERE cert = ?1";
    auto q = Statement::prepare(m_db.get(), sql.c_str());
    if (!q)
        return std::nullopt;
    q->bind(1, cert);
    if (!q->next())
        return std::nullopt;
    return ari_row(*q);
}

std::map<std::string, AriRecord> Ledger::all_ari() const {
    std::map<std::string, AriRecord> out;
    auto q = Statement::prepare(m_db.get(), kAriColumns);
    if (!q)
        return out;
    while (q->next()) {
        auto r = ari_row(*q);
        out.emplace(r.cert, std::move(r));
    }
    return out;
}

core::Status Ledger::save_ari(const AriRecord& r) {
    return write_row(
        m_db.get(),
        "INSERT OR REPLACE INTO ari (cert, serial, window_start, window_end, chosen_at, "
        "next_poll, explanation_url) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        [&](Statement& q) {
            q.bind(1, r.cert).bind(2, r.serial).bind(3, to_db(r.window_start));
            q.bind(4, to_db(r.window_end)).bind(5, to_db(r.chosen_at));
            q.bind(6, to_db(r.next_poll)).bind(7, r.explanation_url);
        });
}

std::vector<NoticeRecord> Ledger::notices(const std::string& channel) const {
    std::vector<NoticeRecord> out;
    auto q = Statement::prepare(m_db.get(),
                                "SELECT key, fingerprint, severity, summary, first_sent, last_sent "
                                "FROM notices WHERE channel = ?1 ORDER BY key");
    if (!q)
        return out;
    q->bind(1, channel);
    while (q->next())
        out.push_back(NoticeRecord{channel, q->text(0), q->text(1), q->text(2), q->text(3),
                                   from_db(q->integer(4)), from_db(q->integer(5))});
    return out;
}

core::Status Ledger::save_notices(const std::string& channel, const std::vector<NoticeRecord>& sent,
                                  const std::vector<std::string>& resolved) {
    sqlite3* db = m_db.get();
    return in_transaction(db, [&]() -> core::Status {
        auto saved = write_rows(db,
                                "INSERT OR REPLACE INTO notices (channel, key, fingerprint, "
                                "severity, summary, first_sent, last_sent) VALUES "
                                "(?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                                sent, [&](Statement& q, const NoticeRecord& r) {
                                    q.bind(1, channel).bind(2, r.key).bind(3, r.fingerprint);
                                    q.bind(4, r.severity).bind(5, r.summary);
                                    q.bind(6, to_db(r.first_sent)).bind(7, to_db(r.last_sent));
                                });
        if (!saved)
            return saved;
        return write_rows(
            db, "DELETE FROM notices WHERE channel = ?1 AND key = ?2", resolved,
            [&](Statement& q, const std::string& key) { q.bind(1, channel).bind(2, key); });
    });
}

}  // namespace certfleet::state
