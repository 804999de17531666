#include "cli/output.hpp"

#include <iostream>

#include "cli/common.hpp"
#include "core/untrusted_text.hpp"

namespace certfleet::cli {

void print_issue_report(const operations::IssueReport& report, bool quiet) {
    std::cout << core::terminal_safe(report::issue_table(report, quiet));
    std::cerr << core::terminal_safe(report::issue_notes(report));
}

void print_deploy_report(const operations::DeployReport& report, bool quiet) {
    std::cout << core::terminal_safe(report::deploy_table(report, quiet));
    std::cerr << core::terminal_safe(report::deploy_notes(report));
}

void print_check_details(const operations::CheckReport& report, bool verbose) {
    std::cout << core::terminal_safe(report::check_table(report, verbose));
}

void print_audit_report(const operations::AuditReport& report, bool quiet) {
    std::cout << core::terminal_safe(report::audit_text(report, quiet));
}

void print_delivery_failures(const operations::RunReport& report) {
    for (const auto& n : report.notifications)
        if (!n.error.empty())
            print_error("notification via " + n.channel + " failed: " + n.error,
                        "it will be retried on the next run");
    for (const auto& e : report.metrics_errors)
        print_error("metrics textfile " + e);
}

nlohmann::json fleet_report_json(const operations::IssueReport* issued,
                                 const operations::DeployReport* deployed) {
    return report::fleet_report_json(issued, deployed, g_signal.load());
}

}  // namespace certfleet::cli
