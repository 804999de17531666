// certfleet rollback: swap one host back to the previous (or a named)
// version, which pins it there; --list shows the versions a host keeps,
// --unpin lifts the pin.
#include <iostream>

#include <nlohmann/json.hpp>

#include "cli/common.hpp"
#include "cli/output.hpp"
#include "operations/deploy.hpp"

namespace certfleet::cli {

namespace {

struct RollbackArgs {
    operations::RollbackOptions options;
    bool list = false;
    bool unpin = false;
};

std::string version_note(const distribute::HostVersion& v,
                         const operations::HostVersionListing& listing) {
    std::vector<std::string> notes;
    if (v.current)
        notes.emplace_back(listing.pin
                               ? "current, pinned since " + core::format_rfc3339(listing.pin->at)
                               : "current");
    if (auto r = listing.revoked.find(v.version); r != listing.revoked.end())
        notes.push_back("revoked at " + core::format_rfc3339(r->second.at) + " (" +
                        r->second.reason + ")");
    if (!v.problem.empty())
        notes.push_back(v.problem);
    std::string out;
    for (const auto& n : notes)
        out += (out.empty() ? "" : "; ") + n;
    return out;
}

void show_versions(const Globals& g, operations::Context& ctx, const RollbackArgs& args) {
    const auto& o = args.options;
    auto listing = operations::list_host_versions(ctx, o.certificate, o.host);
    if (!listing) {
        print_error("cannot list the versions of " + o.certificate + " on " + o.host + ": " +
                        listing.error().message,
                    listing.error().hint);
        throw ExitRequest{kFailure};
    }
    if (g.json) {
        nlohmann::json versions = nlohmann::json::array();
        for (const auto& v : listing->versions) {
            auto r = listing->revoked.find(v.version);
            versions.push_back(
                {{"version", v.version},
                 {"current", v.current},
                 {"serial", v.serial},
                 {"not_after", v.not_after ? nlohmann::json(core::format_rfc3339(*v.not_after))
                                           : nlohmann::json(nullptr)},
                 {"revoked", r != listing->revoked.end()}});
        }
        nlohmann::json pin = nullptr;
        if (listing->pin)
            pin = {{"version", listing->pin->version},
                   {"at", core::format_rfc3339(listing->pin->at)},
                   {"detail", listing->pin->detail}};
        print_json(nlohmann::json{{"certificate", o.certificate},
                                  {"host", o.host},
                                  {"pinned", pin},
                                  {"versions", versions}});
        return;
    }
    std::vector<std::vector<std::string>> rows;
    for (const auto& v : listing->versions)
        rows.push_back({v.version, v.serial.empty() ? "-" : v.serial,
                        v.not_after ? core::format_rfc3339(*v.not_after) : "-",
                        version_note(v, *listing)});
    std::cout << format_table({"VERSION", "SERIAL", "NOT AFTER", "NOTE"}, rows);
}

int lift_pin(const Globals& g, operations::Context& ctx, const RollbackArgs& args) {
    const auto& o = args.options;
    auto lifted = operations::unpin(ctx, o.certificate, o.host);
    if (!lifted) {
        print_error(
            "could not unpin " + o.certificate + " on " + o.host + ": " + lifted.error().message,
            lifted.error().hint);
        return kFailure;
    }
    if (g.json)
        print_json(nlohmann::json{
            {"certificate", o.certificate}, {"host", o.host}, {"unpinned", *lifted}});
    else if (!g.quiet)
        std::cout << (*lifted ? "unpinned " + o.certificate + " on " + o.host +
                                    ": the next deploy, renew or run brings it to the current "
                                    "version"
                              : o.certificate + " on " + o.host + " was not pinned")
                  << "\n";
    return kOk;
}

int roll_back(const Globals& g, operations::Context& ctx, const RollbackArgs& args) {
    auto outcome = operations::run_rollback(ctx, args.options);
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
        print_json(fleet_report_json(nullptr, &report));
    else
        print_deploy_report(report, g.quiet);
    if (outcome.result == operations::HostResult::RolledBack && !g.quiet && !g.json)
        std::cout << "pinned: deploy, renew and run leave " << args.options.host
                  << " on this version until `certfleet rollback " << args.options.certificate
                  << " --host " << args.options.host << " --unpin` (or `certfleet deploy "
                  << args.options.certificate << " --host " << args.options.host << " --force`)\n";
    const bool recorded = outcome.ledger_error.empty();
    return outcome.result == operations::HostResult::RolledBack && recorded ? kOk : kFailure;
}

}  // namespace

void add_rollback_command(CLI::App& app, Globals& g, int& exit_code) {
    auto* cmd = app.add_subcommand(
        "rollback", "Swap a host back to the previous (or named) version; test, reload, verify");
    cmd->footer(
        "A rollback pins the host to that version: deploy, renew and run leave it alone\n"
        "(and say so) until `rollback CERT --host HOST --unpin` or `deploy CERT --host HOST\n"
        "--force`. `--list` shows the versions the host keeps; an adopted hand-managed pair\n"
        "is kept as version 00000000T000000Z-adopted-<hash>.");
    auto args = std::make_shared<RollbackArgs>();
    auto& o = args->options;
    cmd->add_option("CERT", o.certificate, "Certificate name")->required();
    cmd->add_option("--host", o.host, "Host to roll back")->required();
    auto* to =
        cmd->add_option("--to", o.version, "Version to return to (default: the previous one)")
            ->type_name("VERSION");
    auto* force = cmd->add_flag("--force", o.force, "Also to a version the CA revoked");
    auto* reason = cmd->add_option("--reason", o.reason,
                                   "Why, kept with the pin and shown by status (free text)")
                       ->type_name("TEXT");
    auto* list = cmd->add_flag("--list", args->list,
                               "List the versions on the host (serial, expiry, current, pinned, "
                               "revoked); change nothing");
    auto* unpin = cmd->add_flag("--unpin", args->unpin,
                                "Lift the pin: the next deploy brings the host current again");
    for (auto* opt : {to, force, reason}) {
        list->excludes(opt);
        unpin->excludes(opt);
    }
    list->excludes(unpin);
    cmd->callback([&g, &exit_code, args] {
        setup_logging(g);
        const auto& opts = args->options;
        auto inv = load_inventory_or_exit(g);
        check_certificate_names(inv, {opts.certificate});
        if (!inv.hosts.count(opts.host)) {
            print_error("no host named '" + opts.host + "' in the inventory");
            throw ExitRequest{kUsage};
        }
        State state = args->list ? open_state_readonly(inv) : open_state(inv, true);
        core::SystemClock clock;
        operations::Context ctx{inv, state.store, state.ledger, clock, &g_cancel, {}};
        if (args->list) {
            show_versions(g, ctx, *args);
            exit_code = kOk;
        } else if (args->unpin) {
            exit_code = lift_pin(g, ctx, *args);
        } else {
            exit_code = roll_back(g, ctx, *args);
        }
    });
}

}  // namespace certfleet::cli
