// certfleet status: every certificate in the inventory with what the store
// holds (serial, validity, renewal time). Host columns come with deployment.
// The report is operations::collect_status; this file parses and renders.
#include <iostream>

#include <nlohmann/json.hpp>

#include "cli/common.hpp"
#include "operations/status.hpp"
#include "report/status_report.hpp"

namespace certfleet::cli {

namespace {

struct StatusArgs {
    std::vector<std::string> names;
    std::string at;
    bool no_hosts = false;
};

void show_status(const Globals& g, const StatusArgs& args) {
    auto inv = load_inventory_or_exit(g);
    check_certificate_names(inv, args.names);
    operations::StatusOptions options;
    options.names = args.names;
    options.now = parse_at_or_exit(args.at);
    options.probe_hosts = !args.no_hosts;
    State state = open_state_readonly(inv);  // status never writes
    auto report = operations::collect_status(inv, state.store, state.ledger, options);
    if (g.json)
        print_json(report::status_json(report));
    else
        std::cout << report::status_tables(report);
}

}  // namespace

void add_status_command(CLI::App& app, Globals& g, int& exit_code) {
    auto* cmd = app.add_subcommand(
        "status", "Every certificate: domains, serial, not-after, renewal time, versions");
    auto args = std::make_shared<StatusArgs>();
    cmd->add_option("CERT", args->names, "Certificate names (default: all)");
    cmd->add_option("--at", args->at, "Evaluate as of this RFC 3339 date or date-time")
        ->type_name("TIME");
    cmd->add_flag("--no-hosts", args->no_hosts,
                  "Store only: do not connect to hosts or probe what they serve");
    cmd->footer(
        "Per host: the version deployed (read over SSH), the serial it really serves\n"
        "(TLS handshake with SNI to its verify address) and a state: current, stale,\n"
        "missing, failed (last deployment failed) or unknown (unreachable).");
    cmd->callback([&g, &exit_code, args] {
        setup_logging(g);
        show_status(g, *args);
        exit_code = kOk;
    });
}

}  // namespace certfleet::cli
