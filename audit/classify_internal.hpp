// Helpers shared by the audit's classifiers (audit.cpp: hosts,
// audit_store.cpp: the manager's store and exposed keys). Internal to inventory/.
#pragma once

#include <string>
#include <vector>

#include "audit/classify.hpp"

namespace certfleet::audit::detail {

// `path` is strictly inside directory `dir`.
bool under(const std::string& path, const std::string& dir);
// One finding per (path, kind), in path order.
void dedupe(std::vector<AuditFinding>& findings);

}  // namespace certfleet::audit::detail
