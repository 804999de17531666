#include "operations/open_state.hpp"

#include <sys/stat.h>

namespace certfleet::operations {

core::Result<OpenState> open_state(const std::string& state_dir, bool take_lock) {
    auto store = state::Store::open(state_dir);
    if (!store)
        return core::fail(store.error().kind, store.error().message,
                          "check --state-dir / state_dir and that this user may write there");
    std::optional<core::FileLock> lock;
    if (take_lock) {
        auto acquired = core::FileLock::try_acquire(store->lock_path());
        if (!acquired)
            return acquired.failure();
        lock.emplace(std::move(*acquired));
    }
    auto ledger = state::Ledger::open(store->ledger_path());
    if (!ledger)
        return ledger.failure();
    return OpenState{std::move(*store), std::move(*ledger), std::move(lock)};
}

core::Result<OpenState> open_state_readonly(const std::string& state_dir) {
    auto store = state::Store::open_readonly(state_dir);
    struct stat st {};
    bool has_ledger = ::stat(store.ledger_path().c_str(), &st) == 0;
    auto ledger =
        has_ledger ? state::Ledger::open(store.ledger_path()) : state::Ledger::open_in_memory();
    if (!ledger)
        return ledger.failure();
    return OpenState{std::move(store), std::move(*ledger), std::nullopt};
}

}  // namespace certfleet::operations
