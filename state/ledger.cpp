#include "state/ledger.hpp"

#include <cerrno>
#include <cstdint>
#include <fcntl.h>
#include <sys/stat.h>
#include <system_error>
#include <unistd.h>
#include <utility>

#include <nlohmann/json.hpp>
#include <sqlite3.h>

#include "core/crypto.hpp"
#include "core/enum_names.hpp"
#include "state/ledger_sql.hpp"

namespace certfleet::state {

using core::fail;
using core::Result;
using core::Status;

using namespace detail;  // ledger_sql.hpp: the SQLite helpers every ledger file uses

namespace {

constexpr int kSchemaVersion = 5;

constexpr const char* kSchemaV1 = R"sql(
CREATE TABLE issuances (
  id INTEGER PRIMARY KEY, cert TEXT NOT NULL, version TEXT NOT NULL, serial TEXT NOT NULL,
  domains TEXT NOT NULL, key_type TEXT NOT NULL, profile TEXT NOT NULL,
  not_before INTEGER NOT NULL, not_after INTEGER NOT NULL, order_url TEXT NOT NULL,
  issued_at INTEGER NOT NULL, replaced_version TEXT NOT NULL);
CREATE INDEX issuances_by_cert ON issuances(cert, issued_at);
CREATE TABLE failures (
  id INTEGER PRIMARY KEY, cert TEXT NOT NULL, at INTEGER NOT NULL, error_kind TEXT NOT NULL,
  message TEXT NOT NULL, retry_after INTEGER);
CREATE INDEX failures_by_cert ON failures(cert);
CREATE TABLE events (
  id INTEGER PRIMARY KEY, cert TEXT NOT NULL, host TEXT NOT NULL, kind TEXT NOT NULL,
  detail TEXT NOT NULL, at INTEGER NOT NULL);
CREATE INDEX events_by_cert ON events(cert, at);
)sql";

// v2: ACME Renewal Information state and notification de-duplication.
constexpr const char* kSchemaV2 = R"sql(
CREATE TABLE ari (
  cert TEXT PRIMARY KEY, serial TEXT NOT NULL, window_start INTEGER NOT NULL,
  window_end INTEGER NOT NULL, chosen_at INTEGER NOT NULL, next_poll INTEGER NOT NULL,
  explanation_url TEXT NOT NULL);
CREATE TABLE notices (
  channel TEXT NOT NULL, key TEXT NOT NULL, fingerprint TEXT NOT NULL, severity TEXT NOT NULL,
  summary TEXT NOT NULL, first_sent INTEGER NOT NULL, last_sent INTEGER NOT NULL,
  PRIMARY KEY (channel, key));
)sql";

// v3: what a run started and has not finished, for crash recovery: DNS-01
// records published and not yet removed, orders created and not yet done.
constexpr const char* kSchemaV3 = R"sql(
CREATE TABLE challenges (
  cert TEXT NOT NULL, provider TEXT NOT NULL, fqdn TEXT NOT NULL, value TEXT NOT NULL,
  domain TEXT NOT NULL, token TEXT NOT NULL, key_authorization TEXT NOT NULL,
  published_at INTEGER NOT NULL, PRIMARY KEY (cert, fqdn, value));
CREATE TABLE orders (
  cert TEXT NOT NULL, url TEXT NOT NULL, created_at INTEGER NOT NULL, PRIMARY KEY (cert, url));
)sql";

// v4: a `post` hook owed by a run killed after its `pre` hook (whatever
// `pre` stopped or opened stays so until `post` runs).
constexpr const char* kSchemaV4 = R"sql(
CREATE TABLE owed_hooks (event TEXT PRIMARY KEY, since INTEGER NOT NULL);
)sql";

// v5: the certificate version an event concerns, in a column of its own
// (before, only the free-text detail named it). Old rows get it from their
// detail once, in migrate_event_versions.
constexpr const char* kSchemaV5 = R"sql(
ALTER TABLE events ADD COLUMN version TEXT NOT NULL DEFAULT '';
)sql";

Result<int> user_version(sqlite3* db) {
    auto st = Statement::prepare(db, "PRAGMA user_version");
    if (!st)
        return st.failure();
    if (!st->next())
        return db_failure(db, "read schema version");
    return static_cast<int>(st->integer(0));
}

// Every writer before v5 named the version in the detail, after "version ":
// "version V[: error]" (deployments), "to version V[: error]" (rollbacks),
// "serial S version V reason R" (revocations). Versions have no spaces or colons.
std::string version_in_detail(const std::string& detail) {
    static const std::string kLabel = "version ";
    size_t at = 0;
    while ((at = detail.find(kLabel, at)) != std::string::npos) {
        if (at == 0 || detail[at - 1] == ' ')
            break;
        at += kLabel.size();
    }
    if (at == std::string::npos)
        return "";
    const size_t from = at + kLabel.size();
    const size_t end = detail.find_first_of(" :,", from);
    return detail.substr(from, end == std::string::npos ? std::string::npos : end - from);
}

core::Status migrate_event_versions(sqlite3* db) {
    std::vector<std::pair<int64_t, std::string>> found;
    {
        auto rows = Statement::prepare(db, "SELECT id, detail FROM events");
        if (!rows)
            return rows.failure();
        while (rows->next())
            if (auto version = version_in_detail(rows->text(1)); !version.empty())
                found.emplace_back(rows->integer(0), std::move(version));
    }
    for (const auto& [id, version] : found) {
        auto update = Statement::prepare(db, "UPDATE events SET version = ?1 WHERE id = ?2");
        if (!update)
            return update.failure();
        update->bind(1, version).bind(2, id);
        if (auto st = update->run(); !st)
            return st;
    }
    return {};
}

core::Status migrate(sqlite3* db, const std::string& path) {
    Transaction tx(db);
    if (auto st = tx.begin(); !st)
        return st;
    // Read under the write lock: two runs opening a new ledger must not both create it.
    auto version = user_version(db);
    if (!version)
        return version.failure();
    if (*version > kSchemaVersion) {
        return fail(core::ErrorKind::Io,
                    "ledger " + path + " has schema version " + std::to_string(*version) +
                        ", newer than this certfleet (" + std::to_string(kSchemaVersion) + ")",
                    "upgrade certfleet");
    }
    if (*version < 1) {
        if (auto st = exec(db, kSchemaV1); !st)
            return st;
    }
    if (*version < 2) {
        if (auto st = exec(db, kSchemaV2); !st)
            return st;
    }
    if (*version < 3) {
        if (auto st = exec(db, kSchemaV3); !st)
            return st;
    }
    if (*version < 4) {
        if (auto st = exec(db, kSchemaV4); !st)
            return st;
    }
    if (*version < 5) {
        if (auto st = exec(db, kSchemaV5); !st)
            return st;
        if (auto st = migrate_event_versions(db); !st)
            return st;
    }
    if (*version != kSchemaVersion) {
        std::string pragma = "PRAGMA user_version = " + std::to_string(kSchemaVersion);
        if (auto st = exec(db, pragma.c_str()); !st)
            return st;
    }
    return tx.commit();
}

}  // namespace

void Ledger::Closer::operator()(sqlite3* db) const {
    sqlite3_close_v2(db);
}

Result<Ledger> Ledger::open(const std::string& path) {
    // Create it ourselves so the mode is exact; SQLite gives -wal/-shm the same mode.
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd >= 0) {
        ::fchmod(fd, 0600);
        ::close(fd);
    } else if (errno != EEXIST) {
        return fail(core::ErrorKind::Io,
                    "cannot create ledger " + path + ": " + std::generic_category().message(errno));
    }
    sqlite3* raw = nullptr;
    int rc = sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READWRITE, nullptr);
    Ledger ledger(raw, path);
    if (rc != SQLITE_OK) {
        return fail(core::ErrorKind::Io, "cannot open ledger " + path + ": " +
                                             (raw ? sqlite3_errmsg(raw) : sqlite3_errstr(rc)));
    }
    sqlite3_busy_timeout(raw, 5000);
    if (auto st = exec(raw, "PRAGMA journal_mode = WAL"); !st)
        return st.failure();
    // FULL: the few writes per run must survive a power cut, at negligible cost.
    if (auto st = exec(raw, "PRAGMA synchronous = FULL"); !st)
        return st.failure();
    if (auto st = migrate(raw, path); !st)
        return st.failure();
    return ledger;
}

Result<Ledger> Ledger::open_in_memory() {
    sqlite3* raw = nullptr;
    int rc = sqlite3_open_v2(":memory:", &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
    Ledger ledger(raw, ":memory:");
    if (rc != SQLITE_OK)
        return fail(core::ErrorKind::Io,
                    std::string("cannot open an in-memory ledger: ") + sqlite3_errstr(rc));
    if (auto st = migrate(raw, ":memory:"); !st)
        return st.failure();
    return ledger;
}

core::Status Ledger::record_issuance(const IssuanceRecord& r) {
    sqlite3* db = m_db.get();
    const std::string domains = nlohmann::json(r.domains).dump();
    return in_transaction(db, [&]() -> core::Status {
        auto recorded = write_row(
            db,
            "INSERT INTO issuances (cert, version, serial, domains, key_type, profile, "
            "not_before, not_after, order_url, issued_at, replaced_version) "
            "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            [&](Statement& q) {
                q.bind(1, r.cert).bind(2, r.version).bind(3, r.serial).bind(4, domains);
                q.bind(5, r.key_type).bind(6, r.profile).bind(7, to_db(r.not_before));
                q.bind(8, to_db(r.not_after)).bind(9, r.order_url).bind(10, to_db(r.issued_at));
                q.bind(11, r.replaced_version);
            });
        if (!recorded)
            return recorded;
        return write_row(db, "DELETE FROM failures WHERE cert = ?1",
                         [&](Statement& q) { q.bind(1, r.cert); });
    });
}

core::Status Ledger::record_failure(const FailureRecord& r) {
    return write_row(m_db.get(),
                     "INSERT INTO failures (cert, at, error_kind, message, retry_after) "
                     "VALUES (?1, ?2, ?3, ?4, ?5)",
                     [&](Statement& q) {
                         q.bind(1, r.cert).bind(2, to_db(r.at)).bind(3, r.error_kind);
                         q.bind(4, r.message).bind(5, r.retry_after);
                     });
}

core::Status Ledger::clear_failures(const std::string& cert) {
    return write_row(m_db.get(), "DELETE FROM failures WHERE cert = ?1",
                     [&](Statement& q) { q.bind(1, cert); });
}

namespace {

constexpr core::EnumNames<EventKind> kEventKindNames[] = {
    {EventKind::Deployed, "deployed"},      {EventKind::Unchanged, "unchanged"},
    {EventKind::RolledBack, "rolled_back"}, {EventKind::Failed, "failed"},
    {EventKind::Rollback, "rollback"},      {EventKind::RollbackFailed, "rollback_failed"},
    {EventKind::Revoked, "revoked"},        {EventKind::Unpinned, "unpinned"},
};

}  // namespace

std::string_view event_kind_name(EventKind kind) {
    return core::enum_name(kEventKindNames, kind, "unknown");
}

std::optional<EventKind> parse_event_kind(std::string_view name) {
    return core::enum_from_name(kEventKindNames, name);
}

core::Status Ledger::record_event(const EventRecord& e) {
    const std::string kind(event_kind_name(e.kind));
    return write_row(m_db.get(),
                     "INSERT INTO events (cert, host, kind, version, detail, at) "
                     "VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                     [&](Statement& q) {
                         q.bind(1, e.cert).bind(2, e.host).bind(3, kind).bind(4, e.version);
                         q.bind(5, e.detail).bind(6, to_db(e.at));
                     });
}

namespace {

constexpr const char* kIssuanceColumns =
    "SELECT cert, version, serial, domains, key_type, profile, not_before, not_after, "
    "order_url, issued_at, replaced_version FROM issuances ";

IssuanceRecord issuance_row(const Statement& q) {
    IssuanceRecord r;
    r.cert = q.text(0);
    r.version = q.text(1);
    r.serial = core::canonical_serial(q.text(2));  // older versions wrote lower case
    auto domains = nlohmann::json::parse(q.text(3), nullptr, false);
    if (domains.is_array()) {
        for (const auto& d : domains) {
            if (d.is_string())
                r.domains.push_back(d.get<std::string>());
        }
    }
    r.key_type = q.text(4);
    r.profile = q.text(5);
    r.not_before = from_db(q.integer(6));
    r.not_after = from_db(q.integer(7));
    r.order_url = q.text(8);
    r.issued_at = from_db(q.integer(9));
    r.replaced_version = q.text(10);
    return r;
}

}  // namespace

std::vector<IssuanceRecord> Ledger::issuances(const std::string& cert) const {
    std::vector<IssuanceRecord> out;
    const std::string sql =
        std::string(kIssuanceColumns) + "WHERE cert = ?1 ORDER BY issued_at, id";
    auto q = Statement::prepare(m_db.get(), sql.c_str());
    if (!q)
        return out;
    q->bind(1, cert);
    while (q->next())
        out.push_back(issuance_row(*q));
    return out;
}

std::vector<IssuanceRecord> Ledger::all_issuances() const {
    std::vector<IssuanceRecord> out;
    const std::string sql = std::string(kIssuanceColumns) + "ORDER BY issued_at, id";
    auto q = Statement::prepare(m_db.get(), sql.c_str());
    if (!q)
        return out;
    while (q->next())
        out.push_back(issuance_row(*q));
    return out;
}

std::optional<FailureState> Ledger::failure_state(const std::string& cert) const {
    auto q = Statement::prepare(
        m_db.get(),
        "SELECT COUNT(*), MAX(at), MAX(retry_after), (SELECT message FROM failures WHERE cert = "
        "?1 ORDER BY at DESC, id DESC LIMIT 1) FROM failures WHERE cert = ?1");
    if (!q)
        return std::nullopt;
    q->bind(1, cert);
    if (!q->next() || q->integer(0) == 0)
        return std::nullopt;
    FailureState s;
    s.consecutive_failures = static_cast<int>(q->integer(0));
    s.last_failure_at = from_db(q->integer(1));
    if (!q->is_null(2))
        s.retry_after = from_db(q->integer(2));
    s.last_message = q->text(3);
    return s;
}

std::vector<EventRecord> Ledger::events(const std::string& cert) const {
    std::vector<EventRecord> out;
    const std::string sql = std::string(detail::kEventColumns) + "WHERE cert = ?1 ORDER BY at, id";
    auto q = Statement::prepare(m_db.get(), sql.c_str());
    if (!q)
        return out;
    q->bind(1, cert);
    while (q->next())
        if (auto e = detail::event_row(*q))
            out.push_back(std::move(*e));
    return out;
}

}  // namespace certfleet::state
