// certfleet issue: obtain the certificates that are due (or the named ones
// with --force) into the manager's store. No deployment.
#include <iostream>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "cli/common.hpp"
#include "cli/output.hpp"
#include "operations/issue.hpp"

namespace certfleet::cli {

void add_issue_command(CLI::App& app, Globals& g, int& exit_code) {
    auto* cmd = app.add_subcommand(
        "issue",
        "Obtain certificates that are due (or the named ones with --force); no deployment");
    cmd->footer(
        "A certificate is due when it was never issued, its domains, key type or profile changed,\n"
        "or it is inside its renewal window (policy.renew_before). Several certificates are\n"
        "obtained concurrently; failures back off (1m, 10m, 100m, then daily) and a CA's\n"
        "rate-limit retry time is always obeyed.");
    struct Opts {
        std::vector<std::string> names;
        bool force = false, dry_run = false;
        int concurrency = 8;
    };
    auto opts = std::make_shared<Opts>();
    cmd->add_option("CERT", opts->names, "Certificate names (default: all)");
    cmd->add_flag("--force", opts->force, "Issue even if not due");
    cmd->add_flag("--dry-run", opts->dry_run,
                  "Show what would be issued; no ACME order, no DNS change, nothing written");
    cmd->add_option("--concurrency", opts->concurrency, "Certificates obtained at once")
        ->check(CLI::Range(1, 64))
        ->capture_default_str();
    cmd->callback([&g, &exit_code, opts] {
        setup_logging(g);
        auto inv = load_inventory_or_exit(g);
        check_certificate_names(inv, opts->names);
        FleetSession session(inv, g, opts->dry_run);
        operations::Context& ctx = session.ctx();
        operations::IssueOptions options;
        options.names = opts->names;
        options.force = opts->force;
        options.dry_run = opts->dry_run;
        options.concurrency = opts->concurrency;
        if (!opts->dry_run)
            operations::fire_hook(ctx, "pre");
        auto report = operations::run_issue(ctx, options);
        if (!opts->dry_run)
            operations::fire_hook(ctx, "post");
        if (g.json)
            print_json(issue_report_json(report));
        else
            print_issue_report(report, g.quiet);
        exit_code = report.exit_code();
    });
}

}  // namespace certfleet::cli
