// certfleet status: every certificate in the inventory with what the store
// holds (serial, validity, renewal time). Host columns come with deployment.
// The report is operations::collect_status; this file parses and renders.
#include <iostream>

#include <nlohmann/json.hpp>

#include "cli/common.hpp"
#include "cli/output.hpp"
#include "core/strings.hpp"
#include "operations/status.hpp"

namespace certfleet::cli {

namespace {

struct StatusArgs {
    std::vector<std::string> names;
    std::string at;
    bool no_hosts = false;
};

nlohmann::json host_json(const operations::HostCertStatus& h) {
    return {{"name", h.host},
            {"deployed_version", h.deployed_version},
            {"deployed_serial", h.deployed_serial},
            {"served_serial", h.served_serial},
            {"state", operations::host_state_name(h.state)},
            {"detail", h.detail}};
}

nlohmann::json certificate_json(const operations::CertificateStatus& c) {
    nlohmann::json j{{"name", c.name},
                     {"domains", c.domains},
                     {"hosts", nlohmann::json::array()},
                     {"state", std::string(operations::certificate_state_name(c.state))},
                     {"reason", c.reason}};
    if (c.current) {
        j["serial"] = c.current->serial;
        j["version"] = c.current->version;
        j["not_before"] = core::format_rfc3339(c.current->not_before);
        j["not_after"] = core::format_rfc3339(c.current->not_after);
        j["renew_at"] = core::format_rfc3339(c.current->renew_at);
        j["revoked"] = nullptr;
        if (const auto& r = c.current->revoked)
            j["revoked"] = {{"at", core::format_rfc3339(r->at)}, {"reason", r->reason}};
    } else {
        for (const char* k :
             {"serial", "version", "not_before", "not_after", "renew_at", "revoked"})
            j[k] = nullptr;
    }
    j["failure"] = nullptr;
    if (const auto& f = c.failure)
        j["failure"] = {{"last_at", core::format_rfc3339(f->last_failure_at)},
                        {"attempts", f->consecutive_failures},
                        {"message", f->last_message}};
    for (const auto& h : c.hosts)
        j["hosts"].push_back(host_json(h));
    return j;
}

nlohmann::json status_json(const operations::StatusReport& report) {
    nlohmann::json certs = nlohmann::json::array();
    for (const auto& c : report.certificates)
        certs.push_back(certificate_json(c));
    return {{"certificates", certs}};
}

std::vector<std::string> certificate_row(const operations::CertificateStatus& c) {
    const auto& cur = c.current;
    return {
        c.name, core::join(c.domains, ","), cur ? cur->serial : "-",
        cur ? core::format_rfc3339(cur->not_after) : "-",
        cur ? core::format_rfc3339(cur->renew_at) : "-",
        std::string(operations::certificate_state_name(c.state)) + (c.failure ? ", failing" : ""),
        // Ok needs no explanation; anything else says why.
        c.state == operations::CertificateState::Ok && !c.failure ? "" : c.reason};
}

std::vector<std::string> host_row(const std::string& cert, const operations::HostCertStatus& h) {
    return {cert,
            h.host,
            std::string(operations::host_state_name(h.state)),
            h.deployed_version.empty() ? "-" : h.deployed_version,
            h.served_serial.empty() ? "-" : h.served_serial,
            h.detail};
}

void print_status_tables(const operations::StatusReport& report) {
    std::vector<std::vector<std::string>> rows, host_rows;
    for (const auto& c : report.certificates) {
        rows.push_back(certificate_row(c));
        for (const auto& h : c.hosts)
            host_rows.push_back(host_row(c.name, h));
    }
    std::cout << format_table(
        {"CERTIFICATE", "DOMAINS", "SERIAL", "NOT AFTER", "RENEW AT", "STATE", "DETAIL"}, rows);
    if (!host_rows.empty())
        std::cout << "\n"
                  << format_table(
                         {"CERTIFICATE", "HOST", "STATE", "DEPLOYED", "SERVED SERIAL", "DETAIL"},
                         host_rows);
}

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
        std::cout << status_json(report).dump(2) << "\n";
    else
        print_status_tables(report);
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
