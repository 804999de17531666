// What issue, deploy, renew, rollback, check and run show: their tables (on
// stdout), the next steps that go with them (on stderr) and the JSON
// documents of docs/json.md. Pure functions of the typed reports, so every
// state's rendering is pinned by golden tests (tests/report/).
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "operations/check.hpp"
#include "operations/deploy.hpp"
#include "operations/issue.hpp"
#include "operations/notices.hpp"

namespace certfleet::report {

// CERTIFICATE ACTION SERIAL NOT AFTER DETAIL; with `quiet` only failed rows.
// Empty when there is no row.
std::string issue_table(const operations::IssueReport& report, bool quiet);
// "NAME: next step: …" and ledger errors, one line each.
std::string issue_notes(const operations::IssueReport& report);
nlohmann::json issue_report_json(const operations::IssueReport& report);

// CERTIFICATE HOST RESULT VERSION DETAIL; with `quiet` only trouble.
std::string deploy_table(const operations::DeployReport& report, bool quiet);
// "CERT on HOST: next step: …" for hosts not settled, and ledger errors.
std::string deploy_notes(const operations::DeployReport& report);
nlohmann::json host_outcome_json(const operations::HostOutcome& h);

// The document for issue / deploy / renew: {"certificates":[…],"hosts":[…],
// "interrupted"}; `interrupted_by` is the signal number (0: not interrupted).
nlohmann::json fleet_report_json(const operations::IssueReport* issued,
                                 const operations::DeployReport* deployed, int interrupted_by);

// SEVERITY CERTIFICATE HOST SOURCE DETAIL for the items that are not OK
// (all with `verbose`). Empty when there is no row.
std::string check_table(const operations::CheckReport& report, bool verbose);
// {"state","summary","items":[…]}
nlohmann::json check_report_json(const operations::CheckReport& report);

// [{"channel","sent","error"}] for run's notifications, one per channel.
nlohmann::json notifications_json(const std::vector<operations::ChannelResult>& results);

}  // namespace certfleet::report
