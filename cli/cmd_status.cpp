// certfleet status: every certificate in the inventory with what the store
// holds (serial, validity, renewal time). Host columns come with deployment.
#include <iostream>

#include <nlohmann/json.hpp>

#include "cli/common.hpp"
#include "cli/output.hpp"
#include "operations/fleet_status.hpp"
#include "renewal/policy.hpp"
#include "state/store_index.hpp"

namespace certfleet::cli {

namespace {
std::string join(const std::vector<std::string>& v, const char* sep) {
    std::string out;
    for (const auto& s : v)
        out += (out.empty() ? "" : sep) + s;
    return out;
}
}  // namespace

void add_status_command(CLI::App& app, Globals& g, int& exit_code) {
    auto* cmd = app.add_subcommand(
        "status", "Every certificate: domains, serial, not-after, renewal time, versions");
    auto names = std::make_shared<std::vector<std::string>>();
    auto at = std::make_shared<std::string>();
    cmd->add_option("CERT", *names, "Certificate names (default: all)");
    cmd->add_option("--at", *at, "Evaluate as of this RFC 3339 date or date-time")
        ->type_name("TIME");
    auto no_hosts = std::make_shared<bool>(false);
    cmd->add_flag("--no-hosts", *no_hosts,
                  "Store only: do not connect to hosts or probe what they serve");
    cmd->footer(
        "Per host: the version deployed (read over SSH), the serial it really serves\n"
        "(TLS handshake with SNI to its verify address) and a state: current, stale,\n"
        "missing, failed (last deployment failed) or unknown (unreachable).");
    cmd->callback([&g, &exit_code, names, at, no_hosts] {
        setup_logging(g);
        auto inv = load_inventory_or_exit(g);
        check_certificate_names(inv, *names);
        const core::TimePoint now = parse_at_or_exit(*at);
        State state = open_state_readonly(inv);  // status never writes
        std::map<std::string, std::vector<operations::HostCertStatus>> host_status;
        if (!*no_hosts)
            host_status =
                operations::collect_host_status(inv, state.store, state.ledger, *names, 32);
        std::vector<std::vector<std::string>> host_rows;
        nlohmann::json certs = nlohmann::json::array();
        std::vector<std::vector<std::string>> rows;
        std::vector<std::string> wanted;
        for (const auto& [name, _] : inv.certificates)
            if (names->empty() || std::find(names->begin(), names->end(), name) != names->end())
                wanted.push_back(name);
        // One ledger read for the whole fleet; no PEM parsing for issued versions.
        auto index = state::index_fleet(state.store, state.ledger, wanted);
        for (const auto& name : wanted) {
            const auto& spec = inv.certificates.at(name);
            const auto& current = index.current[name];
            auto latest = index.latest_issuance.find(name);
            std::string profile =
                latest == index.latest_issuance.end() ? std::string() : latest->second.profile;
            auto ari = index.ari.find(name);
            // The moment the last issue/run chose in the CA's ARI window, if the
            // ledger holds one for the current serial; status never asks the CA.
            auto decision = renewal::decide_renewal(
                spec, current, profile, inv.policy, now,
                ari == index.ari.end() ? std::nullopt : std::optional(ari->second));
            nlohmann::json j{
                {"name", name}, {"domains", spec.domains}, {"hosts", nlohmann::json::array()}};
            std::string cert_state = decision.due ? "due" : "ok";
            if (current) {
                j["serial"] = current->info.serial_hex;
                j["version"] = current->version;
                j["not_before"] = core::format_rfc3339(current->info.not_before);
                j["not_after"] = core::format_rfc3339(current->info.not_after);
                j["renew_at"] = core::format_rfc3339(decision.renew_at);
                if (now >= current->info.not_after)
                    cert_state = "expired";
            } else {
                for (const char* k : {"serial", "version", "not_before", "not_after", "renew_at"})
                    j[k] = nullptr;
                cert_state = "missing";
            }
            j["state"] = cert_state;
            for (const auto& h : host_status[name]) {
                j["hosts"].push_back({{"name", h.host},
                                      {"deployed_version", h.deployed_version},
                                      {"deployed_serial", h.deployed_serial},
                                      {"served_serial", h.served_serial},
                                      {"state", h.state},
                                      {"detail", h.detail}});
                host_rows.push_back({name, h.host, h.state,
                                     h.deployed_version.empty() ? "-" : h.deployed_version,
                                     h.served_serial.empty() ? "-" : h.served_serial, h.detail});
            }
            j["reason"] = decision.reason;
            certs.push_back(j);
            rows.push_back({name, join(spec.domains, ","), current ? current->info.serial_hex : "-",
                            current ? core::format_rfc3339(current->info.not_after) : "-",
                            current ? core::format_rfc3339(decision.renew_at) : "-", cert_state});
        }
        if (g.json)
            std::cout << nlohmann::json{{"certificates", certs}}.dump(2) << "\n";
        else {
            std::cout << format_table(
                {"CERTIFICATE", "DOMAINS", "SERIAL", "NOT AFTER", "RENEW AT", "STATE"}, rows);
            if (!host_rows.empty())
                std::cout << "\n"
                          << format_table({"CERTIFICATE", "HOST", "STATE", "DEPLOYED",
                                           "SERVED SERIAL", "DETAIL"},
                                          host_rows);
        }
        exit_code = kOk;
    });
}

}  // namespace certfleet::cli
