// Human tables and SPEC §6 JSON for command results.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "app/audit.hpp"
#include "app/check.hpp"
#include "app/deploy.hpp"
#include "app/issue.hpp"

namespace certfleet::cli {

// Left-aligned columns, widths fitted to the content.
std::string format_table(const std::vector<std::string>& header,
                         const std::vector<std::vector<std::string>>& rows);

nlohmann::json issue_report_json(const app::IssueReport& report);
void print_issue_report(const app::IssueReport& report, bool quiet);

nlohmann::json host_outcome_json(const app::HostOutcome& h);
// SPEC §6 document for issue / deploy / renew: {"certificates":[…],"hosts":[…]}.
nlohmann::json fleet_report_json(const app::IssueReport* issued, const app::DeployReport* deployed);
void print_deploy_report(const app::DeployReport& report, bool quiet);

// SPEC §6 document for check: {"state","summary","items":[…]}.
nlohmann::json check_report_json(const app::CheckReport& report);
// The items that are not OK (all with `verbose`), one table row each.
void print_check_details(const app::CheckReport& report, bool verbose);

// SPEC §6 document for audit: {"findings":[…],"hosts_failed":[…]} plus
// "unchecked" (what could not be looked at) and "summary".
nlohmann::json audit_report_json(const app::AuditReport& report);
// Findings grouped by host, each with its next step; what was not audited.
void print_audit_report(const app::AuditReport& report, bool quiet);
// "3 findings (orphan 1, key_exposed 2) on 2 hosts; 1 host not audited"
std::string audit_summary(const app::AuditReport& report);
// SPEC §1: 2 when a host could not be audited, else 1 with findings, else 0.
int audit_exit_code(const app::AuditReport& report);

}  // namespace certfleet::cli
