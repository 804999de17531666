// The state directory a command works on: the store, the ledger and, for
// commands that change them, the state lock (held while this lives).
#pragma once

#include <optional>
#include <string>

#include "core/lock.hpp"
#include "core/result.hpp"
#include "state/ledger.hpp"
#include "state/store.hpp"

namespace certfleet::operations {

struct OpenState {
    state::Store store;
    state::Ledger ledger;
    std::optional<core::FileLock> lock;
};

// Creates the state directory and the ledger when missing. With `take_lock`
// it fails at once, with ErrorKind::Busy, when another run holds the lock
// (the only failure of that kind here).
core::Result<OpenState> open_state(const std::string& state_dir, bool take_lock);

// For status and --dry-run: writes nothing, not even a missing state
// directory; an empty in-memory ledger when the directory has none yet.
core::Result<OpenState> open_state_readonly(const std::string& state_dir);

}  // namespace certfleet::operations
