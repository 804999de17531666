// SQLite helpers shared by the ledger's source files (not a public API).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include <sqlite3.h>

#include "core/result.hpp"
#include "core/time.hpp"
#include "state/ledger.hpp"

namespace certfleet::state::detail {

inline int64_t to_db(core::TimePoint t) {
    return t.time_since_epoch().count();
}
inline core::TimePoint from_db(int64_t v) {
    return core::TimePoint(core::Seconds(v));
}

inline core::Failure db_failure(sqlite3* db, const std::string& what) {
    return core::fail(core::ErrorKind::Io, "ledger: " + what + ": " + sqlite3_errmsg(db));
}

// Prepared statement with positional binds. Strings are bound without copying
// (no destructor), so every bound string must outlive step().
class Statement {
public:
    static core::Result<Statement> prepare(sqlite3* db, const char* sql) {
        sqlite3_stmt* raw = nullptr;
        if (sqlite3_prepare_v2(db, sql, -1, &raw, nullptr) != SQLITE_OK) {
            return db_failure(db, "prepare");
        }
        return Statement(db, raw);
    }
    Statement& bind(int i, const std::string& s) {
        sqlite3_bind_text64(m_stmt.get(), i, s.data(), s.size(), nullptr, SQLITE_UTF8);
        return *this;
    }
    Statement& bind(int i, int64_t v) {
        sqlite3_bind_int64(m_stmt.get(), i, v);
        return *this;
    }
    Statement& bind(int i, const std::optional<core::TimePoint>& t) {
        if (t) {
            sqlite3_bind_int64(m_stmt.get(), i, to_db(*t));
        } else {
            sqlite3_bind_null(m_stmt.get(), i);
        }
        return *this;
    }
    bool next() { return sqlite3_step(m_stmt.get()) == SQLITE_ROW; }
    core::Status run() {
        if (sqlite3_step(m_stmt.get()) != SQLITE_DONE)
            return db_failure(m_db, "write");
        return {};
    }
    std::string text(int col) const {
        auto p = sqlite3_column_text(m_stmt.get(), col);
        auto n = sqlite3_column_bytes(m_stmt.get(), col);
        return p ? std::string(reinterpret_cast<const char*>(p), static_cast<size_t>(n))
                 : std::string();
    }
    int64_t integer(int col) const { return sqlite3_column_int64(m_stmt.get(), col); }
    bool is_null(int col) const { return sqlite3_column_type(m_stmt.get(), col) == SQLITE_NULL; }

private:
    struct Finalizer {
        void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
    };
    Statement(sqlite3* db, sqlite3_stmt* s) : m_db(db), m_stmt(s) {}
    sqlite3* m_db;
    std::unique_ptr<sqlite3_stmt, Finalizer> m_stmt;
};

// The events table's columns in the order event_row reads them.
inline constexpr const char* kEventColumns =
    "SELECT cert, host, kind, version, detail, at FROM events ";

// nullopt for a kind no certfleet writes (nothing reads what it cannot name).
inline std::optional<EventRecord> event_row(const Statement& q) {
    auto kind = parse_event_kind(q.text(2));
    if (!kind)
        return std::nullopt;
    return EventRecord{q.text(0), q.text(1), *kind, q.text(3), q.text(4), from_db(q.integer(5))};
}

inline core::Status exec(sqlite3* db, const char* sql) {
    if (sqlite3_exec(db, sql, nullptr, nullptr, nullptr) != SQLITE_OK) {
        return db_failure(db, sql);
    }
    return {};
}

// Rolls back unless committed, so an early return never leaves a write open.
class Transaction {
public:
    explicit Transaction(sqlite3* db) : m_db(db) {}
    ~Transaction() {
        if (m_open)
            sqlite3_exec(m_db, "ROLLBACK", nullptr, nullptr, nullptr);
    }
    Transaction(const Transaction&) = delete;
    Transaction& operator=(const Transaction&) = delete;
    // IMMEDIATE: take the write lock up front so busy_timeout applies here,
    // not as a deadlock-prone upgrade halfway through.
    core::Status begin() {
        if (auto st = exec(m_db, "BEGIN IMMEDIATE"); !st)
            return st;
        m_open = true;
        return {};
    }
    core::Status commit() {
        if (auto st = exec(m_db, "COMMIT"); !st)
            return st;
        m_open = false;
        return {};
    }

private:
    sqlite3* m_db;
    bool m_open = false;
};

// One write: prepare `sql`, let `bind(Statement&)` fill its parameters, run it.
template <class Bind>
core::Status write_row(sqlite3* db, const char* sql, Bind bind) {
    auto q = Statement::prepare(db, sql);
    if (!q)
        return q.failure();
    bind(*q);
    return q->run();
}

// The same write once per item, `bind(Statement&, item)`; stops at the first failure.
template <class Items, class Bind>
core::Status write_rows(sqlite3* db, const char* sql, const Items& items, Bind bind) {
    for (const auto& item : items)
        if (auto st = write_row(db, sql, [&](Statement& q) { bind(q, item); }); !st)
            return st;
    return {};
}

// `body()` inside one IMMEDIATE transaction: all of its writes or none.
template <class Body>
core::Status in_transaction(sqlite3* db, Body body) {
    Transaction tx(db);
    if (auto st = tx.begin(); !st)
        return st;
    if (auto st = body(); !st)
        return st;
    return tx.commit();
}

}  // namespace certfleet::state::detail
