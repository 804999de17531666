// Loading and validating the inventory file (docs/inventory.md). Every problem is
// reported in one pass, each with the line and column it comes from.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"
#include "inventory/model.hpp"
#include "inventory/secrets.hpp"

namespace certfleet::inventory {

struct Diagnostic {
    std::string file;
    int line = 0;  // 0: the file as a whole (e.g. it cannot be read)
    int column = 0;
    std::string path;  // JSON path like "certificates.site.domains[1]"; "" for the document
    std::string message;
    bool warning = false;
    // A secret others can read (or a file others could forge): shown even
    // under -q, since cron mails only what -q prints.
    bool security = false;

    // "FILE:LINE:COL: json.path: message"; warnings: "FILE:LINE:COL: warning: json.path: message"
    std::string format() const;
};

struct LoadResult {
    std::optional<Inventory> inventory;   // set only when there are no errors
    std::vector<Diagnostic> diagnostics;  // sorted by position; warnings included

    bool ok() const;  // no errors (warnings allowed)
};

// The inventory file's text and the directory its relative paths resolve
// against. The error's message is the reason alone ("No such file or directory").
struct InventoryFile {
    std::string text;
    std::string base_dir;
};
core::Result<InventoryFile> read_inventory_file(const std::string& path);

LoadResult load_inventory(const std::string& path);
// `file_name` is only used in diagnostics; relative paths resolve against `base_dir`.
LoadResult parse_inventory(std::string_view text, const std::string& file_name,
                           const std::string& base_dir);
// Only the sections `run` needs to say that an inventory is invalid:
// state_dir, notify, hooks and policy (its defaults when it is the broken
// part). `inventory` is set when those are valid; it has no certificates,
// hosts, acme or dns.
LoadResult parse_alarm_sections(std::string_view text, const std::string& file_name,
                                const std::string& base_dir);

}  // namespace certfleet::inventory
