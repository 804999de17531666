// certfleet validate: parse and check the inventory and every file it refers
// to; report every problem at once (exit 78), warnings never fail.
#include <iostream>

#include <nlohmann/json.hpp>

#include "cli/common.hpp"

namespace certfleet::cli {

void add_validate_command(CLI::App& app, Globals& g, int& exit_code) {
    auto* cmd = app.add_subcommand(
        "validate",
        "Parse and check the inventory and the files it references; list every problem");
    cmd->footer(
        "Problems are printed as FILE:LINE:COL: json.path: message. Exit 0 when valid "
        "(warnings allowed), 78 when not.");
    cmd->callback([&g, &exit_code] {
        setup_logging(g);
        std::string path = g.config.empty() ? default_config_path() : g.config;
        auto result = inventory::load_inventory(path);
        nlohmann::json errors = nlohmann::json::array(), warnings = nlohmann::json::array();
        for (const auto& d : result.diagnostics) {
            if (!g.json)
                std::cerr << d.format() << "\n";
            (d.warning ? warnings : errors).push_back(d.format());
        }
        if (g.json) {
            std::cout << nlohmann::json{{"valid", result.ok()},
                                        {"errors", errors},
                                        {"warnings", warnings}}
                             .dump(2)
                      << "\n";
        } else if (result.ok()) {
            const auto& inv = *result.inventory;
            std::cout << path << ": OK (" << inv.certificates.size() << " certificates, "
                      << inv.hosts.size() << " hosts, " << inv.dns.providers.size()
                      << " DNS providers";
            if (!warnings.empty())
                std::cout << ", " << warnings.size() << " warning(s)";
            std::cout << ")\n";
        } else {
            std::cerr << path << ": " << errors.size() << " error(s)\n";
        }
        exit_code = result.ok() ? kOk : kInvalidInventory;
    });
}

}  // namespace certfleet::cli
