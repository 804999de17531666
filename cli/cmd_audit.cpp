// certfleet audit: what is really on the hosts and in the store (docs/commands.md).
#include <iostream>

#include "cli/common.hpp"
#include "cli/output.hpp"
#include "operations/audit.hpp"

namespace certfleet::cli {

void add_audit_command(CLI::App& app, Globals& g, int& exit_code) {
    auto* cmd = app.add_subcommand(
        "audit", "Find orphan certificates, stale deployments and exposed keys on every host");
    auto options = std::make_shared<operations::AuditOptions>();
    auto at = std::make_shared<std::string>();
    cmd->add_option("--host", options->hosts,
                    "Audit only this host (repeatable); without it, every host and the store");
    cmd->add_option("--concurrency", options->concurrency, "Hosts audited at once")
        ->check(CLI::Range(1, 256))
        ->capture_default_str();
    auto no_probe = std::make_shared<bool>(false);
    cmd->add_flag("--no-probe", *no_probe, "Do not TLS-connect to check what hosts really serve");
    cmd->add_option("--at", *at, "Judge expiry as of this RFC 3339 date or date-time")
        ->type_name("TIME");
    cmd->footer(
        "Per host (over SSH, or locally): the files the web server loads (the output of\n"
        "audit.config_dump_command, default `nginx -T`, includes followed; when it fails,\n"
        "the configuration files are read directly), everything under cert_root and\n"
        "audit.scan_dirs. Every PEM file is parsed; CA certificates are not findings.\n\n"
        "Findings (kind):\n"
        "  orphan           a certificate certfleet does not manage for that host, a\n"
        "                   certificate directory the inventory no longer has, a key in\n"
        "                   the store that belongs to no certificate\n"
        "  stale            a managed certificate that is not the store's current version\n"
        "  expired/expiring an expired certificate anywhere; a current one near expiry\n"
        "  key_exposed      a private key readable beyond key_mode/key_group, or owned by\n"
        "                   someone other than root and the deploying user\n"
        "  key_mismatch     a certificate loaded with a key that does not belong to it\n"
        "  served_mismatch  the TLS handshake shows another serial than the files hold\n"
        "  missing          a host that should serve a certificate but has none\n\n"
        "Exit: 0 no findings, 1 findings, 2 some host could not be audited.\n"
        "Reads only: nothing on the hosts or in the store is changed. `run` audits too\n"
        "and notifies new findings.");
    cmd->callback([&g, &exit_code, options, at, no_probe] {
        options->limits.probe = !*no_probe;
        setup_logging(g);
        auto inv = load_inventory_or_exit(g);
        for (const auto& h : options->hosts)
            if (!inv.hosts.count(h)) {
                print_error("no host '" + h + "' in " + inv.path,
                            "certfleet validate lists the hosts; names are case-sensitive");
                throw ExitRequest{kUsage};
            }
        options->now = parse_at_or_exit(*at);
        auto progress = progress_printer(g);
        if (progress)
            options->progress = [progress](const std::string& host, const std::string& step) {
                progress(host, step);
            };
        State state = open_state_readonly(inv);
        auto report = operations::run_audit(inv, state.store, state.ledger, *options);
        if (g.json)
            print_json(audit_report_json(report));
        else
            print_audit_report(report, g.quiet);
        exit_code = audit_exit_code(report);
    });
}

}  // namespace certfleet::cli
