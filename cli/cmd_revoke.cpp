// certfleet revoke: revoke the store's current certificate at the CA. The
// next `issue` treats a revoked certificate as due.
#include <iostream>

#include <nlohmann/json.hpp>

#include "acme/client.hpp"
#include "cli/common.hpp"
#include "operations/acme_session.hpp"

namespace certfleet::cli {

namespace {
const std::map<std::string, acme::RevocationReason> kReasons = {
    {"unspecified", acme::RevocationReason::Unspecified},
    {"keyCompromise", acme::RevocationReason::KeyCompromise},
    {"superseded", acme::RevocationReason::Superseded},
    {"cessationOfOperation", acme::RevocationReason::CessationOfOperation},
};
}

void add_revoke_command(CLI::App& app, Globals& g, int& exit_code) {
    auto* cmd = app.add_subcommand("revoke", "Revoke the current certificate at the CA");
    cmd->footer("After revoking, run `certfleet issue CERT` (or `renew`) to replace it.");
    auto name = std::make_shared<std::string>();
    auto reason = std::make_shared<std::string>("unspecified");
    cmd->add_option("CERT", *name, "Certificate name")->required();
    cmd->add_option("--reason", *reason,
                    "unspecified | keyCompromise | superseded | cessationOfOperation")
        ->check(
            CLI::IsMember({"unspecified", "keyCompromise", "superseded", "cessationOfOperation"}))
        ->capture_default_str();
    cmd->callback([&g, &exit_code, name, reason] {
        setup_logging(g);
        auto inv = load_inventory_or_exit(g);
        check_certificate_names(inv, {*name});
        State state = open_state(inv, true);
        auto current = state.store.current(*name);
        if (!current) {
            print_error("certificate '" + *name + "' has never been issued; nothing to revoke");
            throw ExitRequest{kFailure};
        }
        operations::AcmeSession session(inv, state.store.accounts_dir(), &g_cancel);
        auto client = session.client();
        core::Status result = client ? core::Status() : core::Status(client.failure());
        if (result) {
            auto der = core::certificate_der(current->cert_pem);
            result =
                der ? (*client)->revoke(*der, kReasons.at(*reason)) : core::Status(der.failure());
        }
        if (!result) {
            print_error("revoking certificate '" + *name + "' (serial " + current->info.serial_hex +
                            ") failed: " + result.error().message,
                        result.error().hint);
            exit_code = kFailure;
        } else {
            (void)state.ledger.record_event(*name, "", "revoked",
                                            "serial " + current->info.serial_hex + " version " +
                                                current->version + " reason " + *reason);
            if (!g.quiet && !g.json)
                std::cout << "revoked " << *name << " serial " << current->info.serial_hex << "\n";
            exit_code = kOk;
        }
        if (g.json)
            std::cout << nlohmann::json{{"certificate", *name},
                                        {"serial", current->info.serial_hex},
                                        {"revoked", result.ok()},
                                        {"error", result ? nlohmann::json(nullptr)
                                                         : nlohmann::json(result.error().message)}}
                             .dump(2)
                      << "\n";
    });
}

}  // namespace certfleet::cli
