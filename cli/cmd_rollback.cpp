// certfleet rollback: swap one host back to the previous (or a named) version.
#include <iostream>

#include "cli/common.hpp"
#include "cli/output.hpp"
#include "operations/deploy.hpp"

namespace certfleet::cli {

void add_rollback_command(CLI::App& app, Globals& g, int& exit_code) {
    auto* cmd = app.add_subcommand(
        "rollback", "Swap a host back to the previous (or named) version; test, reload, verify");
    cmd->footer(
        "The versions a host keeps are listed by `certfleet status`; an adopted\n"
        "hand-managed pair is kept as version 00000000T000000Z-adopted-<hash>.");
    auto o = std::make_shared<operations::RollbackOptions>();
    cmd->add_option("CERT", o->certificate, "Certificate name")->required();
    cmd->add_option("--host", o->host, "Host to roll back")->required();
    cmd->add_option("--to", o->version, "Version to return to (default: the previous one)")
        ->type_name("VERSION");
    cmd->add_flag("--force", o->force, "Also to a version the CA revoked");
    cmd->callback([&g, &exit_code, o] {
        setup_logging(g);
        auto inv = load_inventory_or_exit(g);
        check_certificate_names(inv, {o->certificate});
        if (!inv.hosts.count(o->host)) {
            print_error("no host named '" + o->host + "' in the inventory");
            throw ExitRequest{kUsage};
        }
        State state = open_state(inv, true);
        core::SystemClock clock;
        operations::Context ctx{inv, state.store, state.ledger, clock, &g_cancel, {}};
        auto outcome = operations::run_rollback(ctx, *o);
        if (outcome.no_such_version) {
            print_error(outcome.error, outcome.hint);
            throw ExitRequest{kUsage};
        }
        if (outcome.refused) {
            print_error(outcome.error, outcome.hint);
            throw ExitRequest{kPartial};
        }
        operations::DeployReport report{{outcome}};
        if (g.json)
            std::cout << fleet_report_json(nullptr, &report).dump(2) << "\n";
        else
            print_deploy_report(report, g.quiet);
        const bool recorded = outcome.ledger_error.empty();
        exit_code =
            outcome.result == operations::HostResult::RolledBack && recorded ? kOk : kFailure;
    });
}

}  // namespace certfleet::cli
