// Human tables and the JSON of docs/json.md for command results.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "operations/audit.hpp"
#include "operations/check.hpp"
#include "operations/deploy.hpp"
#include "operations/issue.hpp"

namespace certfleet::cli {

// Left-aligned columns, widths fitted to the content.
std::string format_table(const std::vector<std::string>& header,
                         const std::vector<std::vector<std::string>>& rows);

nlohmann::json issue_report_json(const operations::IssueReport& report);
void print_issue_report(const operations::IssueReport& report, bool quiet);

nlohmann::json host_outcome_json(const operations::HostOutcome& h);
// The docs/json.md document for issue / deploy / renew: {"certificates":[…],"hosts":[…]}.
nlohmann::json fleet_report_json(const operations::IssueReport* issued,
                                 const operations::DeployReport* deployed);
void print_deploy_report(const operations::DeployReport& report, bool quiet);

// The docs/json.md document for check: {"state","summary","items":[…]}.
nlohmann::json check_report_json(const operations::CheckReport& report);
// The items that are not OK (all with `verbose`), one table row each.
void print_check_details(const operations::CheckReport& report, bool verbose);

// The docs/json.md document for audit: {"findings":[…],"hosts_failed":[…]} plus
// "unchecked" (what could not be looked at) and "summary".
nlohmann::json audit_report_json(const operations::AuditReport& report);
// Findings grouped by host, each with its next step; what was not audited.
void print_audit_report(const operations::AuditReport& report, bool quiet);
// "3 findings (orphan 1, key_exposed 2) on 2 hosts; 1 host not audited"
std::string audit_summary(const operations::AuditReport& report);
// docs/exit-codes.md: 2 when a host could not be audited, else 1 with findings, else 0.
int audit_exit_code(const operations::AuditReport& report);

}  // namespace certfleet::cli
