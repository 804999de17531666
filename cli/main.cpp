// certfleet entry point: global options, command registration, exit codes.
// Commands live one per file (cmd_*.cpp); this file only wires them.
#include <csignal>
#include <cstdio>
#include <exception>
#include <iostream>
#include <optional>
#include <string>
#include <string_view>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "cli/common.hpp"
#include "cli/help_format.hpp"
#include "core/http.hpp"

namespace {

// Async-signal-safe: an atomic store and write(2). Said at once, because
// finishing the hosts in flight can take as long as a reload and a TLS check.
void on_signal(int signo) {
    int expected = 0;
    if (!certfleet::cli::g_signal.compare_exchange_strong(expected, signo))
        return;  // already finishing
    certfleet::cli::g_cancel.store(true);
    static constexpr char kInt[] =
        "\ncertfleet: interrupted (SIGINT): finishing what is in flight (each host completes "
        "its swap or swaps back); nothing new starts\n";
    static constexpr char kTerm[] =
        "\ncertfleet: interrupted (SIGTERM): finishing what is in flight (each host completes "
        "its swap or swaps back); nothing new starts\n";
    const char* text = signo == SIGINT ? kInt : kTerm;
    const size_t size = signo == SIGINT ? sizeof kInt - 1 : sizeof kTerm - 1;
    [[maybe_unused]] ssize_t n = ::write(STDERR_FILENO, text, size);
}

bool wants_json(int argc, char** argv) {
    for (int i = 1; i < argc; ++i)
        if (std::string_view(argv[i]) == "--json")
            return true;
    return false;
}

// With --json every command prints one JSON document, errors included: a
// usage error, a held lock, a failure before any work. (An invalid inventory
// and `check` print their own.)
int with_json_error(int argc, char** argv, int code, const std::string& message) {
    using namespace certfleet::cli;
    if (code != kOk && code != kInvalidInventory && code != kUnknown && wants_json(argc, argv))
        print_json(
            nlohmann::json{{"error", message.empty() ? "failed" : message}, {"exit_code", code}});
    return code;
}

// An interrupted command never reports success: 130 for SIGINT, 143 for SIGTERM.
int interrupted_or(int exit_code) {
    const int signo = certfleet::cli::g_signal.load();
    return signo == 0 ? exit_code : 128 + signo;
}

const char* kFooter = R"(Exit codes:
  0 success (check: OK; audit: no findings)
  1 partial failure (check: WARNING; audit: findings)
  2 failure (check: CRITICAL; audit: a host could not be audited)
  3 check: UNKNOWN
  64 usage error   75 another run holds the state lock   78 invalid inventory
  130 interrupted by SIGINT (Ctrl-C), 143 by SIGTERM: hosts in flight were finished
  or swapped back; hosts not reached are reported not_started

Examples:
  certfleet validate                      check the inventory, list every problem
  certfleet issue --dry-run               show what is due without contacting the CA
  certfleet issue site --force            obtain 'site' now even if not due
  certfleet status --json                 machine-readable inventory of certificates
  certfleet run -q                        the scheduled job (what cron / the timer runs)
  certfleet check --probe                 Nagios plugin: expiry of the store and of what hosts serve
  certfleet schedule --systemd            service + timer units for this inventory
  certfleet audit --host cdn-3            orphan certificates, stale deployments, exposed keys

Config: -c PATH, else $CERTFLEET_CONFIG, else /etc/certfleet/certfleet.json)";

// The first word that is not an option or a global option's value: the
// command, when there is one.
std::optional<std::string> command_word(int argc, char** argv) {
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if (arg == "-c" || arg == "--config" || arg == "--state-dir")
            ++i;
        else if (!arg.starts_with("-"))
            return arg;
    }
    return std::nullopt;
}

bool asks_for_help_or_version(int argc, char** argv) {
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if (arg == "-h" || arg == "--help" || arg == "--version")
            return true;
    }
    return false;
}

bool is_command(CLI::App& app, const std::string& word) {
    for (const auto* sub : app.get_subcommands([](CLI::App*) { return true; }))
        if (sub->get_name() == word)
            return true;
    return false;
}

std::string command_names(CLI::App& app) {
    std::string names;
    for (const auto* sub : app.get_subcommands([](CLI::App*) { return true; }))
        names += (names.empty() ? "" : ", ") + sub->get_name();
    return names;
}

int run_cli(int argc, char** argv) {
    using namespace certfleet::cli;
    struct sigaction sa {};
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
    std::signal(SIGPIPE, SIG_IGN);
    certfleet::core::CurlHttpClient::global_init();

    Globals g;
    int exit_code = kOk;
    CLI::App app{
        "certfleet — certificate lifecycle manager for fleets (ACME DNS-01, SSH deployment)"};
    app.footer(kFooter);
    app.formatter(std::make_shared<PlainHelp>());  // before the commands: they copy it
    app.require_subcommand(1);
    app.fallthrough();
    app.add_option("-c,--config", g.config, "Inventory file")->type_name("PATH");
    app.add_option("--state-dir", g.state_dir,
                   "Manager state (store, accounts, ledger, lock); default: the inventory's "
                   "state_dir, else /var/lib/certfleet")
        ->type_name("DIR");
    app.add_flag("--json", g.json, "Print one JSON document on stdout; logs go to stderr");
    app.add_flag("-v,--verbose", g.verbose, "More logging (-vv for protocol traces)");
    app.add_flag("-q,--quiet", g.quiet, "Errors only (what cron should mail)");
    // CMake passes the project version (cmake/Modules.cmake), so it cannot drift.
    app.set_version_flag("--version", "certfleet " CERTFLEET_VERSION);

    add_validate_command(app, g, exit_code);
    add_issue_command(app, g, exit_code);
    add_status_command(app, g, exit_code);
    add_deploy_command(app, g, exit_code);
    add_renew_command(app, g, exit_code);
    add_run_command(app, g, exit_code);
    add_check_command(app, g, exit_code);
    add_rollback_command(app, g, exit_code);
    add_revoke_command(app, g, exit_code);
    add_schedule_command(app, g, exit_code);
    add_audit_command(app, g, exit_code);

    // CLI11 would only say "A subcommand is required".
    const auto word = command_word(argc, argv);
    if ((word && !is_command(app, *word)) || (!word && !asks_for_help_or_version(argc, argv))) {
        const std::string message =
            (word ? "unknown command '" + *word + "'" : std::string("no command")) +
            "; the commands are " + command_names(app) + " (certfleet --help says what each does)";
        std::cerr << "certfleet: " << message << "\n";
        return with_json_error(argc, argv, kUsage, message);
    }
    g.inventory_warnings = word == "run" || word == "validate";
    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForAllHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForVersion& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        app.exit(e);
        return with_json_error(argc, argv, kUsage, e.what());
    } catch (const ExitRequest& e) {
        return interrupted_or(with_json_error(argc, argv, e.code, last_error()));
    }
    spdlog::shutdown();
    return interrupted_or(exit_code);
}

}  // namespace

int main(int argc, char** argv) {
    // Expected failures are Results; an exception reaching here is a bug.
    // Say so in one line and exit 2 instead of aborting with a core dump:
    // every step writes atomically, so what was done is complete and the
    // next run continues from there.
    try {
        return run_cli(argc, argv);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "certfleet: internal error (a bug; please report it): %s\n", e.what());
    } catch (...) {
        std::fprintf(stderr, "certfleet: internal error (a bug; please report it)\n");
    }
    return certfleet::cli::kFailure;
}
