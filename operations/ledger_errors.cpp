#include "operations/ledger_errors.hpp"

#include <spdlog/spdlog.h>

namespace certfleet::operations {

void log_unrecorded(const state::Ledger& ledger, std::string_view subject, std::string_view what,
                    const core::Error& error, std::string_view consequence) {
    spdlog::error(
        "{}: the ledger could not record {}: {}; {}; next step: make {} writable "
        "(space, permissions)",
        subject, what, error.message, consequence, ledger.path());
}

}  // namespace certfleet::operations
