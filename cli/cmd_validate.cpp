// certfleet validate: parse and check the inventory and every file it refers
// to; report every problem at once (exit 78), warnings never fail. With
// --online, one read-only call per DNS provider checks its credentials.
#include <iostream>

#include <nlohmann/json.hpp>

#include "cli/common.hpp"
#include "operations/dns_wiring.hpp"

namespace certfleet::cli {
namespace {

nlohmann::json access_json(const operations::ProviderAccess& a) {
    nlohmann::json j{{"provider", a.provider},
                     {"type", a.type},
                     {"checked", !a.error && a.check.checked},
                     {"ok", !a.error && a.check.checked && a.check.problems.empty()},
                     {"notes", a.check.notes},
                     {"problems", a.check.problems}};
    if (a.error) {
        j["error"] = a.error->message;
        j["hint"] = a.error->hint;
    }
    return j;
}

void print_access(const operations::ProviderAccess& a) {
    const std::string who = "dns provider '" + a.provider + "' (" + a.type + "): ";
    if (a.error) {
        std::cout << who << "FAILED: " << a.error->message << "\n";
        if (!a.error->hint.empty())
            std::cout << "  next step: " << a.error->hint << "\n";
        return;
    }
    if (!a.check.checked) {
        std::cout << who << "not checked (" << a.type << " has no read-only call)\n";
        return;
    }
    std::cout << who << (a.check.problems.empty() ? "OK" : "PROBLEMS") << "\n";
    for (const auto& note : a.check.notes)
        std::cout << "  ok: " << note << "\n";
    for (const auto& problem : a.check.problems)
        std::cout << "  problem: " << problem << "\n";
}

// True when every provider that could be checked answered and saw every name.
bool check_dns_online(const inventory::Inventory& inv, bool json, nlohmann::json& out) {
    operations::DnsWiring wiring(inv, nullptr);
    bool ok = true;
    out = nlohmann::json::array();
    for (const auto& access : wiring.check_access()) {
        ok = ok && !access.error && access.check.problems.empty();
        out.push_back(access_json(access));
        if (!json)
            print_access(access);
    }
    return ok;
}

// Every DNS provider built from its settings, offline (secrets read, each
// type's own checks): what the inventory's schema alone cannot see.
std::vector<std::string> provider_setting_errors(const inventory::Inventory& inv,
                                                 const std::string& path) {
    operations::DnsWiring wiring(inv, nullptr);
    std::vector<std::string> out;
    for (const auto& [name, error] : wiring.settings_errors())
        out.push_back(path + ": dns.providers." + name + ": " + error.describe());
    return out;
}

void print_summary(const std::string& path, const inventory::Inventory& inv, std::size_t warnings) {
    std::cout << path << ": OK (" << inv.certificates.size() << " certificates, "
              << inv.hosts.size() << " hosts, " << inv.dns.providers.size() << " DNS providers";
    if (warnings > 0)
        std::cout << ", " << warnings << " warning(s)";
    std::cout << ")\n";
}

}  // namespace

void add_validate_command(CLI::App& app, Globals& g, int& exit_code) {
    auto* cmd = app.add_subcommand(
        "validate",
        "Parse and check the inventory and the files it references; list every problem");
    static bool online = false;
    cmd->add_flag("--online", online,
                  "Also make one read-only call per DNS provider (list zones) with its "
                  "credentials, and report per provider whether they work and see the zone of "
                  "every certificate's challenge name (acme-dns: whether the CNAME is in place)");
    cmd->footer(
        "Problems are printed as FILE:LINE:COL: json.path: message. Exit 0 when valid "
        "(warnings allowed), 78 when not. With --online, also 78 when a DNS provider refuses "
        "its credentials, cannot be reached, or cannot see a challenge name's zone; the "
        "message names the permission the provider needs. rfc2136 and exec providers have "
        "no read-only call and are reported as not checked.");
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
        if (result.ok())
            for (const auto& e : provider_setting_errors(*result.inventory, path)) {
                if (!g.json)
                    std::cerr << e << "\n";
                errors.push_back(e);
            }
        const bool valid = errors.empty();
        nlohmann::json dns = nullptr;
        const bool dns_ok = !online || !valid || check_dns_online(*result.inventory, g.json, dns);
        if (g.json) {
            nlohmann::json out{{"valid", valid}, {"errors", errors}, {"warnings", warnings}};
            if (online)
                out["dns_providers"] = dns;
            print_json(out);
        } else if (valid) {
            print_summary(path, *result.inventory, warnings.size());
        } else {
            std::cerr << path << ": " << errors.size() << " error(s)\n";
        }
        exit_code = valid && dns_ok ? kOk : kInvalidInventory;
    });
}

}  // namespace certfleet::cli
