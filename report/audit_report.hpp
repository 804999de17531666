// What `audit` (and the audit part of `run`) shows: findings grouped by host
// with their next steps, and the JSON document of docs/json.md.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "operations/audit.hpp"

namespace certfleet::report {

// {"findings":[…],"hosts_failed":[…]} plus "unchecked" (what could not be
// looked at), "summary" and "exit_code".
nlohmann::json audit_report_json(const operations::AuditReport& report);
// Findings grouped by host, each with its next step; what was not audited;
// the summary line. With `quiet` nothing when there is nothing to act on.
std::string audit_text(const operations::AuditReport& report, bool quiet);
// "3 findings (orphan 1, key_exposed 2) on 2 hosts (4 hosts audited)"
std::string audit_summary(const operations::AuditReport& report);
// docs/exit-codes.md: 2 when a host could not be audited, else 1 with findings, else 0.
int audit_exit_code(const operations::AuditReport& report);

}  // namespace certfleet::report
