// certfleet deploy: bring hosts to the manager's current version of each
// certificate — canary first, then waves; swap, test, reload, verify, roll back.
#include <iostream>

#include <spdlog/spdlog.h>

#include "cli/common.hpp"
#include "cli/output.hpp"
#include "operations/deploy.hpp"

namespace certfleet::cli {

void add_deploy_options(CLI::App* cmd, operations::DeployOptions& o) {
    cmd->add_option("--host", o.hosts, "Only this host (repeatable)")->type_name("HOST");
    cmd->add_option("--group", o.groups, "Only hosts in this group (repeatable)")
        ->type_name("GROUP");
    cmd->add_option("--concurrency", o.concurrency, "Hosts deployed at once")
        ->check(CLI::Range(1, 1024))
        ->capture_default_str();
}

void check_host_names(const inventory::Inventory& inv, const operations::DeployOptions& o) {
    for (const auto& h : o.hosts)
        if (!inv.hosts.count(h)) {
            print_error("no host named '" + h + "' in the inventory");
            throw ExitRequest{kUsage};
        }
    for (const auto& g : o.groups)
        if (!inv.groups.count(g)) {
            print_error("no group named '" + g + "' in the inventory");
            throw ExitRequest{kUsage};
        }
}

void add_deploy_command(CLI::App& app, Globals& g, int& exit_code) {
    auto* cmd = app.add_subcommand(
        "deploy", "Bring hosts to the manager's current version of each certificate");
    cmd->footer(
        "Per host: upload into a new version directory, fsync, check key and certificate match,\n"
        "swap `current` with one rename, run test_command (swap back on failure), reload, and\n"
        "verify by TLS that the host serves the new serial (else swap back and reload).\n"
        "Groups roll out canary first, then batches; a group stops after max_failures.\n"
        "A host with hand-managed files at the stable paths is adopted: the old pair is kept\n"
        "as a version that `rollback` can return to.");
    auto o = std::make_shared<operations::DeployOptions>();
    cmd->add_option("CERT", o->names, "Certificate names (default: all with deploy_to)");
    add_deploy_options(cmd, *o);
    cmd->add_flag("--force", o->force, "Redeploy even to hosts already on the current version");
    cmd->add_flag("--dry-run", o->dry_run,
                  "Show the rollout plan; connect to nothing, change nothing");
    cmd->callback([&g, &exit_code, o] {
        setup_logging(g);
        auto inv = load_inventory_or_exit(g);
        check_certificate_names(inv, o->names);
        check_host_names(inv, *o);
        FleetSession session(inv, g, o->dry_run);
        operations::Context& ctx = session.ctx();
        if (!o->dry_run)
            operations::fire_hook(ctx, "pre");
        auto report = operations::run_deploy(ctx, *o);
        if (!o->dry_run)
            operations::fire_hook(ctx, "post");
        if (g.json)
            print_json(fleet_report_json(nullptr, &report));
        else
            print_deploy_report(report, g.quiet);
        exit_code = report.exit_code();
    });
}

}  // namespace certfleet::cli
