// `run` with an inventory whose errors all sit inside some certificate or
// host entries: those entries are set aside (quarantined) and the rest of
// the fleet is still renewed and deployed. An error anywhere else (acme, dns,
// notify, policy, defaults, groups, a provider entries use) keeps the whole
// inventory invalid: nothing can be trusted then.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "inventory/load.hpp"

namespace certfleet::inventory {

enum class EntryKind { Certificate, Host };

struct QuarantinedEntry {
    EntryKind kind = EntryKind::Certificate;
    std::string name;
    std::vector<std::string> errors;  // Diagnostic::format() of each
};

struct QuarantineResult {
    std::optional<Inventory> inventory;  // the fleet without the quarantined entries
    std::vector<QuarantinedEntry> quarantined;
};

// nullopt when `invalid` (a failed load of `text`) has an error outside
// certificate and host entries, or the fleet without them is still invalid.
std::optional<QuarantineResult> quarantine_entries(const LoadResult& invalid, std::string_view text,
                                                   const std::string& file_name,
                                                   const std::string& base_dir);

// load_inventory(path), and when it fails, quarantine_entries on it.
struct RunLoad {
    LoadResult load;
    std::optional<QuarantineResult> quarantine;  // set when the failure could be contained
    // When it could not: the sections needed to raise the alarm (state_dir,
    // notify, hooks, policy; see parse_alarm_sections), if those are valid.
    std::optional<Inventory> alarm;
};
RunLoad load_inventory_for_run(const std::string& path);

}  // namespace certfleet::inventory
