// certfleet run: the scheduled job (cron / systemd timer). Takes the state
// lock first (a second run exits 75 at once), then sleeps the jitter.
#include <iostream>

#include "cli/common.hpp"
#include "cli/output.hpp"
#include "operations/run.hpp"

namespace certfleet::cli {

namespace {

// What an interrupted run did; never a check line, which would say OK about
// a fleet nobody looked at.
void report_interrupted_run(const Globals& g, const operations::RunReport& report) {
    if (g.json) {
        auto doc = fleet_report_json(&report.issued, &report.deployed);
        doc["check"] = nullptr;
        doc["audit"] = nullptr;
        doc["notifications"] = nlohmann::json::array();
        doc["exit_code"] = 128 + g_signal.load();
        print_json(doc);
        return;
    }
    print_issue_report(report.issued, g.quiet);
    print_deploy_report(report.deployed, g.quiet);
    print_error(
        "the run was interrupted before its check: nothing was checked, audited or "
        "notified",
        "the next scheduled run does it (or run `certfleet run` now)");
}

core::Seconds jitter_or_exit(const std::string& jitter) {
    if (jitter.empty())
        return stderr_is_terminal() ? core::Seconds{0} : core::Seconds{300};
    // A bare 0 needs no unit: no wait is no wait in any unit.
    auto d = jitter == "0" ? std::optional<core::Seconds>(core::Seconds{0})
                           : core::parse_duration(jitter);
    if (!d) {
        print_error("--jitter '" + jitter + "' is not a duration", "use e.g. 0s, 90s, 5m or 1h");
        throw ExitRequest{kUsage};
    }
    return *d;
}

core::Seconds time_limit_or_exit(const std::string& limit) {
    auto d = core::parse_duration(limit);
    if (!d || d->count() <= 0) {
        print_error("--time-limit '" + limit + "' is not a positive duration",
                    "use e.g. 30m or 2h (below the timer's period)");
        throw ExitRequest{kUsage};
    }
    return *d;
}

void print_run_json(const operations::RunReport& report, int exit_code) {
    auto doc = fleet_report_json(&report.issued, &report.deployed);
    doc["check"] = check_report_json(report.check);
    if (report.audit)
        doc["audit"] = audit_report_json(*report.audit);
    doc["notifications"] = notifications_json(report.notifications);
    doc["exit_code"] = exit_code;
    print_json(doc);
}

void print_run_text(const Globals& g, const operations::RunReport& report) {
    print_issue_report(report.issued, g.quiet);
    print_deploy_report(report.deployed, g.quiet);
    // Quiet (cron): only a check that is not OK reaches the mail.
    if (!g.quiet || report.check.state() != renewal::Severity::Ok) {
        std::cout << core::terminal_safe(report.check.first_line()) << "\n";
        print_check_details(report.check, false);
    }
    if (report.audit)
        print_audit_report(*report.audit, true);  // only findings, even without -q
    print_delivery_failures(report);
}

int run_job(const Globals& g, const std::string& jitter, const std::string& time_limit,
            bool audit) {
    auto [inv, quarantined] = load_inventory_for_run_or_exit(g);
    operations::RunOptions options;
    options.quarantined = std::move(quarantined);
    options.jitter = jitter_or_exit(jitter);
    options.time_limit = time_limit_or_exit(time_limit);
    options.manager_host = this_host_name();
    options.audit = audit;
    FleetSession session(inv, g, /*dry_run=*/false);
    auto report = operations::run_scheduled(session.ctx(), options);
    const int exit_code = report.exit_code();
    if (report.cancelled && report.check.items.empty() && report.issued.certificates.empty())
        print_error("interrupted before the run started; nothing was done");
    else if (report.cancelled)
        report_interrupted_run(g, report);
    else if (g.json)
        print_run_json(report, exit_code);
    else
        print_run_text(g, report);
    return exit_code;
}

}  // namespace

void add_run_command(CLI::App& app, Globals& g, int& exit_code) {
    auto* cmd = app.add_subcommand(
        "run", "The scheduled job: renew what is due, deploy what is stale, check, notify");
    auto jitter = std::make_shared<std::string>();
    cmd->add_option("--jitter", *jitter,
                    "Sleep a random 0..DUR first (default 0s on a terminal, 5m otherwise; 0: no "
                    "wait) so many managers do not hit the CA at the same second")
        ->type_name("DUR");
    auto time_limit = std::make_shared<std::string>("50m");
    cmd->add_option("--time-limit", *time_limit,
                    "End the run by DUR after the jitter (default 50m): hosts not reached are "
                    "not started, hosts in flight stop and are swapped back, the report is "
                    "printed and the lock released. Each host also has its own host_timeout")
        ->type_name("DUR");
    auto no_audit = std::make_shared<bool>(false);
    cmd->add_flag("--no-audit", *no_audit,
                  "Skip the audit of hosts and store (e.g. when a separate timer runs "
                  "`certfleet audit`)");
    cmd->footer(
        "Steps: take the state lock (exit 75 at once if another run holds it), sleep the\n"
        "jitter, issue what is due (renew_before, ARI), deploy to every stale host (canary\n"
        "and waves), probe what every host serves, audit every host and the store (see\n"
        "`certfleet audit --help`), send notifications (notify: webhook,\n"
        "email, exec; identical notices at most once per policy.notify_interval, one\n"
        "\"resolved\" notice when a problem goes away), write the Prometheus textfile.\n\n"
        "Exit: 0 all fine; 1 something failed or needs attention; 2 everything attempted\n"
        "failed or something is critical; 75 locked. With -q only problems are printed,\n"
        "so cron mails only real trouble.\n\n"
        "Install: `certfleet schedule --systemd` (timer) or `certfleet schedule --cron`.");
    cmd->callback([&g, &exit_code, jitter, time_limit, no_audit] {
        setup_logging(g);
        exit_code = run_job(g, *jitter, *time_limit, !*no_audit);
    });
}

}  // namespace certfleet::cli
