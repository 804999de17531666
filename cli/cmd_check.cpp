// certfleet check: expiry warnings in the Nagios plugin convention (docs/exit-codes.md).
// First line "CERTFLEET OK|WARNING|CRITICAL|UNKNOWN - ...", exit 0/1/2/3.
#include <iostream>

#include <nlohmann/json.hpp>

#include "cli/common.hpp"
#include "cli/output.hpp"
#include "operations/check.hpp"

namespace certfleet::cli {

void add_check_command(CLI::App& app, Globals& g, int& exit_code) {
    auto* cmd =
        app.add_subcommand("check",
                           "Expiry warnings in the Nagios plugin convention (exit 0 OK, 1 WARNING, "
                           "2 CRITICAL, 3 UNKNOWN)");
    auto options = std::make_shared<operations::CheckOptions>();
    auto at = std::make_shared<std::string>();
    cmd->add_flag("--probe", options->probe,
                  "Also TLS-connect to every host's verify address and check what it really "
                  "serves (expiry, serial, name)");
    cmd->add_option("--at", *at,
                    "Evaluate as of this RFC 3339 date or date-time: what will be in trouble "
                    "by then")
        ->type_name("TIME");
    cmd->footer(
        "Thresholds come from policy.warn_before / critical_before (durations like \"21d\"\n"
        "or fractions of the lifetime like \"0.2\"). A failing renewal is a WARNING until\n"
        "expiry makes it CRITICAL. With --probe, a host serving an older serial is a\n"
        "WARNING, one serving a certificate not valid for its name is CRITICAL, and a host\n"
        "that cannot be reached is UNKNOWN unless something worse is found.\n"
        "A duration reaching back past the renewal moment (21d on 6-day certificates)\n"
        "is scaled into the time renewal leaves: warn at 2/3 of it, critical at 1/4.\n\n"
        "Nagios / Icinga:  command_line  certfleet -c /etc/certfleet/certfleet.json check "
        "--probe\n"
        "Forecast:         certfleet check --at 2027-01-01");
    cmd->callback([&g, &exit_code, options, at] {
        setup_logging(g);
        // Monitoring reads stdout and the plugin codes 0-3: an inventory it
        // cannot judge is UNKNOWN there, not a 78 it would call out of bounds.
        auto inv =
            load_inventory_or_exit(g, kUnknown, [&g](const std::vector<std::string>& errors) {
                const std::string summary = "CERTFLEET UNKNOWN - inventory invalid: " +
                                            (errors.empty() ? "" : errors.front());
                if (g.json)
                    print_json(nlohmann::json{{"state", "UNKNOWN"},
                                              {"summary", summary},
                                              {"items", nlohmann::json::array()},
                                              {"errors", errors}});
                else
                    std::cout << summary << "\n";
            });
        options->at = parse_at_or_exit(*at);
        State state = open_state_readonly(inv);
        auto report = operations::run_check(inv, state.store, state.ledger, *options);
        if (g.json) {
            print_json(check_report_json(report));
        } else {
            std::cout << core::terminal_safe(report.first_line()) << "\n";
            print_check_details(report, g.verbose > 0);
        }
        exit_code = report.exit_code();
    });
}

}  // namespace certfleet::cli
