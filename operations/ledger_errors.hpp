// A ledger write that failed after the CA, DNS or a host already acted: the
// operator must see it even under -q (error level), with what it costs and
// the next step. The writes whose failure changes an outcome (issuance,
// deployment, rollback, failure, notices) carry it in that outcome instead.
#pragma once

#include <string_view>

#include "core/result.hpp"
#include "state/ledger.hpp"

namespace certfleet::operations {

// Logs "<subject>: the ledger could not record <what>: <error>; <consequence>;
// next step: make <ledger path> writable (space, permissions)".
void log_unrecorded(const state::Ledger& ledger, std::string_view subject, std::string_view what,
                    const core::Error& error, std::string_view consequence);

}  // namespace certfleet::operations
