// certfleet revoke: revoke the store's current certificate at the CA (the
// use case is operations::revoke_current). The next `issue` treats a revoked
// certificate as due.
#include <iostream>

#include <nlohmann/json.hpp>

#include "cli/common.hpp"
#include "operations/revoke.hpp"

namespace certfleet::cli {

namespace {

struct RevokeArgs {
    std::string name;
    std::string reason = "unspecified";
};

// Human lines and the exit code; the JSON document comes after.
int report_outcome(const Globals& g, const operations::RevokeOutcome& outcome) {
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
            if (!g.quiet && !g.json)
                std::cout << "revoked " << name << " serial " << outcome.serial << "\n";
            if (!outcome.error)
                return kOk;
            print_error(outcome.error->message, outcome.error->hint);
            return kFailure;
    }
    return kFailure;
}

nlohmann::json outcome_json(const operations::RevokeOutcome& outcome) {
    return {{"certificate", outcome.certificate},
            {"serial", outcome.serial},
            {"revoked", outcome.revoked_at_ca()},
            {"error",
             outcome.error ? nlohmann::json(outcome.error->message) : nlohmann::json(nullptr)}};
}

int revoke(const Globals& g, const RevokeArgs& args) {
    auto inv = load_inventory_or_exit(g);
    check_certificate_names(inv, {args.name});
    State state = open_state(inv, true);
    // CLI11 already checked the name against revocation_reason_names().
    operations::RevokeRequest request{args.name, *operations::parse_revocation_reason(args.reason)};
    auto outcome = operations::revoke_current(inv, state.store, state.ledger, request, &g_cancel);
    int code = report_outcome(g, outcome);
    if (g.json)
        std::cout << outcome_json(outcome).dump(2) << "\n";
    return code;
}

}  // namespace

void add_revoke_command(CLI::App& app, Globals& g, int& exit_code) {
    auto* cmd = app.add_subcommand("revoke", "Revoke the current certificate at the CA");
    cmd->footer("After revoking, run `certfleet issue CERT` (or `renew`) to replace it.");
    auto args = std::make_shared<RevokeArgs>();
    cmd->add_option("CERT", args->name, "Certificate name")->required();
    cmd->add_option("--reason", args->reason,
                    "unspecified | keyCompromise | superseded | cessationOfOperation")
        ->check(CLI::IsMember(operations::revocation_reason_names()))
        ->capture_default_str();
    cmd->callback([&g, &exit_code, args] {
        setup_logging(g);
        exit_code = revoke(g, *args);
    });
}

}  // namespace certfleet::cli
