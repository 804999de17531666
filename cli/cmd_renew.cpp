// certfleet renew: issue what is due, then deploy. With --host H (--group G):
// only the certificates H (G's hosts) serve, deployed only there.
#include <iostream>

#include <nlohmann/json.hpp>

#include "cli/common.hpp"
#include "cli/output.hpp"
#include "core/strings.hpp"
#include "operations/deploy.hpp"
#include "operations/renew.hpp"

namespace certfleet::cli {

void add_deploy_options(CLI::App* cmd, operations::DeployOptions& o);
void check_host_names(const inventory::Inventory& inv, const operations::DeployOptions& o);

void add_renew_command(CLI::App& app, Globals& g, int& exit_code) {
    auto* cmd = app.add_subcommand("renew", "Issue what is due (or --force), then deploy it");
    cmd->footer(
        "`certfleet renew --host cdn-3` renews only the certificates cdn-3 serves and\n"
        "deploys them only to cdn-3; `--group cdn` does the same for the group's hosts.");
    auto o = std::make_shared<operations::DeployOptions>();
    cmd->add_option("CERT", o->names, "Certificate names (default: all)");
    cmd->add_option("--host", o->hosts,
                    "Only the certificates this host serves, deployed only to it")
        ->type_name("HOST");
    cmd->add_option("--group", o->groups,
                    "Only the certificates this group's hosts serve, deployed only to its hosts")
        ->type_name("GROUP");
    cmd->add_flag("--force", o->force, "Issue even if not due");
    cmd->add_flag("--dry-run", o->dry_run,
                  "Plan only: no ACME order, no DNS change, no host touched");
    cmd->callback([&g, &exit_code, o] {
        setup_logging(g);
        auto inv = load_inventory_or_exit(g);
        check_certificate_names(inv, o->names);
        check_host_names(inv, *o);
        auto names = operations::certificates_to_renew(inv, o->names, o->hosts, o->groups);
        if (!names) {
            print_error(names.error().message);
            throw ExitRequest{kUsage};
        }
        FleetSession session(inv, g, o->dry_run);
        operations::Context& ctx = session.ctx();
        operations::IssueOptions issue;
        issue.names = *names;
        issue.force = o->force;
        issue.dry_run = o->dry_run;
        if (!o->dry_run)
            operations::fire_hook(ctx, "pre");
        auto issued = operations::run_issue(ctx, issue);
        operations::DeployOptions deploy = *o;
        deploy.names = *names;
        for (const auto& c : issued.certificates)
            if (c.action == operations::CertificateAction::Planned)
                deploy.planned_issues.push_back(c.name);
        deploy.force = false;  // --force re-issues; hosts already current stay untouched
        auto deployed = operations::run_deploy(ctx, deploy);
        if (!o->dry_run)
            operations::fire_hook(ctx, "post");
        const auto behind = operations::hosts_left_behind(inv, issued, deployed);
        if (g.json) {
            auto doc = fleet_report_json(&issued, &deployed);
            doc["left_on_older_version"] = nlohmann::json::array();
            for (const auto& l : behind)
                doc["left_on_older_version"].push_back(
                    {{"certificate", l.certificate}, {"hosts", l.hosts}});
            print_json(doc);
        } else {
            print_issue_report(issued, g.quiet);
            print_deploy_report(deployed, g.quiet);
            if (!g.quiet)
                for (const auto& l : behind)
                    std::cout << "note: " << l.certificate << " has a new version; "
                              << core::join(l.hosts, ", ")
                              << " still run the older one (`certfleet deploy " << l.certificate
                              << "` brings them current)\n";
        }
        // The worse of the two stages: a renewal that failed entirely is a
        // failure even when every host stayed healthy on its old version.
        exit_code = std::max(issued.exit_code(), deployed.exit_code());
    });
}

}  // namespace certfleet::cli
