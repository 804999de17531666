// A ledger whose writes to one table fail, as on a full disk or a damaged
// file: a trigger in the database file itself, so the Ledger under test is
// the real one and needs no seam. (chmod cannot do this: the tests run as
// root, and the Ledger's connection is already open.)
#pragma once

#include <string>

#include <catch2/catch.hpp>
#include <sqlite3.h>

namespace certfleet::testing {

inline constexpr const char* kInjectedLedgerError = "disk I/O error (injected)";

// From now on every INSERT, UPDATE and DELETE on `table` of the ledger at
// `ledger_path` fails with kInjectedLedgerError.
inline void fail_ledger_writes(const std::string& ledger_path, const std::string& table) {
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open(ledger_path.c_str(), &db) == SQLITE_OK);
    std::string sql;
    for (const char* op : {"INSERT", "UPDATE", "DELETE"})
        sql += "CREATE TRIGGER fail_" + std::string(op) + "_" + table + " BEFORE " + op + " ON " +
               table + " BEGIN SELECT RAISE(ABORT, '" + kInjectedLedgerError + "'); END;";
    CHECK(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr) == SQLITE_OK);
    sqlite3_close(db);
}

}  // namespace certfleet::testing
