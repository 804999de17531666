// Printing the report/ renderings: tables to stdout, next steps to stderr.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "operations/run.hpp"
#include "report/audit_report.hpp"
#include "report/fleet_report.hpp"
#include "report/table.hpp"

namespace certfleet::cli {

using report::audit_exit_code;
using report::audit_report_json;
using report::audit_summary;
using report::check_report_json;
using report::format_table;
using report::issue_report_json;
using report::notifications_json;

void print_issue_report(const operations::IssueReport& report, bool quiet);
void print_deploy_report(const operations::DeployReport& report, bool quiet);
// The items that are not OK (all with `verbose`), one table row each.
void print_check_details(const operations::CheckReport& report, bool verbose);
void print_audit_report(const operations::AuditReport& report, bool quiet);
// Channels and metrics textfiles a run could not deliver to, as errors.
void print_delivery_failures(const operations::RunReport& report);

// report::fleet_report_json, "interrupted" from the signal this process got.
nlohmann::json fleet_report_json(const operations::IssueReport* issued,
                                 const operations::DeployReport* deployed);

}  // namespace certfleet::cli
