// certfleet revoke: revoke the store's current certificate at the CA (the
// use case is operations::revoke_current). The next `issue` treats a revoked
// certificate as due. Revocation cannot be undone, so it is confirmed on a
// terminal (--yes for scripts) and can be previewed (--dry-run).
#include <iostream>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "cli/common.hpp"
#include "core/strings.hpp"
#include "operations/revoke.hpp"

namespace certfleet::cli {

namespace {

struct RevokeArgs {
    std::string name;
    std::string reason = "unspecified";
    bool dry_run = false;
    bool yes = false;
};

// What the operator is about to revoke, looked at before anything is sent.
struct RevokePlan {
    std::string serial;
    std::string version;
    std::vector<std::string> hosts;  // serve (or have deployed) that serial
};

std::string next_step(const std::string& name) {
    return "run `certfleet renew " + name +
           "`: it issues a replacement and deploys it to every host of " + name;
}

std::string hosts_text(const std::vector<std::string>& hosts) {
    return hosts.empty() ? "no host serves it" : "served by " + core::join(hosts, ", ");
}

// Human lines and the exit code; the JSON document comes after.
int report_outcome(const Globals& g, const operations::RevokeOutcome& outcome,
                   const RevokePlan& plan) {
    using operations::RevokeResult;
    const std::string& name = outcome.certificate;
    switch (outcome.result) {
        case RevokeResult::NeverIssued:
            print_error("certificate '" + name + "' has never been issued; nothing to revoke");
            throw ExitRequest{kFailure};  // no JSON document, as before
        case RevokeResult::CaFailed:
            print_error("revoking certificate '" + name + "' (serial " + outcome.serial +
                            ") failed: " + outcome.error->message,
                        outcome.error->hint);
            return kFailure;
        case RevokeResult::Revoked:
        case RevokeResult::RevokedNotRecorded:
            if (!g.quiet && !g.json) {
                std::cout << "revoked " << name << " serial " << outcome.serial << "\n";
                if (!plan.hosts.empty())
                    std::cout << "  still served by: " << core::join(plan.hosts, ", ") << "\n";
                std::cout << "  next step: " << next_step(name) << "\n";
            }
            if (!outcome.error)
                return kOk;
            print_error(outcome.error->message, outcome.error->hint);
            return kFailure;
    }
    return kFailure;
}

nlohmann::json outcome_json(const operations::RevokeOutcome& outcome, const RevokePlan& plan) {
    return {{"certificate", outcome.certificate},
            {"serial", outcome.serial},
            {"revoked", outcome.revoked_at_ca()},
            {"dry_run", false},
            {"hosts", plan.hosts},
            {"next_step", outcome.revoked_at_ca() ? next_step(outcome.certificate) : ""},
            {"error",
             outcome.error ? nlohmann::json(outcome.error->message) : nlohmann::json(nullptr)}};
}

int show_dry_run(const Globals& g, const RevokeArgs& args, const RevokePlan& plan) {
    if (g.json) {
        print_json(nlohmann::json{{"certificate", args.name},
                                  {"serial", plan.serial},
                                  {"revoked", false},
                                  {"dry_run", true},
                                  {"hosts", plan.hosts},
                                  {"next_step", ""},
                                  {"error", nullptr}});
    } else if (!g.quiet) {
        std::cout << "would revoke " << args.name << " serial " << plan.serial << " (version "
                  << plan.version << ", reason " << args.reason << "); " << hosts_text(plan.hosts)
                  << "\nnothing was sent to the CA (dry run)\n";
    }
    return kOk;
}

// Revocation is final: a person confirms it, a script says --yes.
void confirm_or_exit(const RevokeArgs& args, const RevokePlan& plan) {
    if (args.yes)
        return;
    if (::isatty(STDIN_FILENO) != 1 || !stderr_is_terminal()) {
        print_error("revoking cannot be undone and there is no terminal to confirm it on",
                    "add --yes to revoke " + args.name + " serial " + plan.serial +
                        " (see first what it would do: --dry-run)");
        throw ExitRequest{kUsage};
    }
    std::cerr << "Revoke " << args.name << " serial " << plan.serial << " at the CA ("
              << hosts_text(plan.hosts) << ")? This cannot be undone. Type 'yes' to revoke: ";
    std::string answer;
    std::getline(std::cin, answer);
    if (core::trim(answer) != "yes") {
        print_error("not confirmed; nothing was revoked");
        throw ExitRequest{kFailure};
    }
}

int revoke(const Globals& g, const RevokeArgs& args) {
    auto inv = load_inventory_or_exit(g);
    check_certificate_names(inv, {args.name});
    State state = args.dry_run ? open_state_readonly(inv) : open_state(inv, true);
    RevokePlan plan;
    if (auto current = state.store.current(args.name)) {
        plan.serial = current->info.serial_hex;
        plan.version = current->version;
        plan.hosts =
            operations::hosts_serving(inv, state.store, state.ledger, args.name, plan.serial);
        if (args.dry_run)
            return show_dry_run(g, args, plan);
        confirm_or_exit(args, plan);
    }
    // CLI11 already checked the name against revocation_reason_names().
    operations::RevokeRequest request{args.name, *operations::parse_revocation_reason(args.reason)};
    auto outcome = operations::revoke_current(inv, state.store, state.ledger, request, &g_cancel);
    int code = report_outcome(g, outcome, plan);
    if (g.json)
        print_json(outcome_json(outcome, plan));
    return code;
}

}  // namespace

void add_revoke_command(CLI::App& app, Globals& g, int& exit_code) {
    auto* cmd = app.add_subcommand("revoke", "Revoke the current certificate at the CA");
    cmd->footer(
        "Revocation cannot be undone: on a terminal certfleet asks first; scripts add --yes.\n"
        "It prints the hosts still serving the revoked certificate; `status` shows them as\n"
        "revoked and `check` is CRITICAL until `certfleet renew CERT` replaces it.");
    auto args = std::make_shared<RevokeArgs>();
    cmd->add_option("CERT", args->name, "Certificate name")->required();
    cmd->add_option("--reason", args->reason,
                    "unspecified | keyCompromise | superseded | cessationOfOperation")
        ->check(CLI::IsMember(operations::revocation_reason_names()))
        ->capture_default_str();
    cmd->add_flag("--dry-run", args->dry_run,
                  "Show the serial and the hosts serving it; send nothing to the CA");
    cmd->add_flag("-y,--yes", args->yes, "Do not ask for confirmation (for scripts)");
    cmd->callback([&g, &exit_code, args] {
        setup_logging(g);
        exit_code = revoke(g, *args);
    });
}

}  // namespace certfleet::cli
