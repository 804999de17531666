// Human tables and SPEC §6 JSON for command results.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

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

}  // namespace certfleet::cli
