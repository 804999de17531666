// What every command shares: global options, logging, loading the inventory
// (exit 78 with every problem listed), opening the state (exit 75 when locked).
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "core/untrusted_text.hpp"
#include "inventory/load.hpp"
#include "inventory/quarantine.hpp"
#include "operations/issue.hpp"
#include "operations/open_state.hpp"

namespace certfleet::cli {

// The exit codes of docs/exit-codes.md.
enum Exit : int {
    kOk = 0,
    kPartial = 1,
    kFailure = 2,
    kUnknown = 3,
    kUsage = 64,
    kLocked = 75,
    kInvalidInventory = 78,
};

struct Globals {
    std::string config;
    std::string state_dir;
    bool json = false;
    int verbose = 0;
    bool quiet = false;
    // Inventory warnings (not errors, not exposed secrets) are shown by
    // `validate` and once per `run`, not on every command.
    bool inventory_warnings = false;
};

// Thrown to end a command with an exit code after the message was printed.
struct ExitRequest {
    int code;
};

extern std::atomic<bool> g_cancel;
// The signal (SIGINT, SIGTERM) that interrupted the command; 0 when none did.
// The command finishes what is in flight and exits 128 + that number.
extern std::atomic<int> g_signal;

void setup_logging(const Globals& g);
bool stderr_is_terminal();
std::string default_config_path();
// This machine's name ("certfleet" when it has none).
std::string this_host_name();

inventory::Inventory load_inventory_or_exit(const Globals& g);
// For `run`: an inventory whose errors all sit in certificate or host entries
// is loaded without them (`quarantined` names them, with their errors);
// any other error exits 78 as above.
struct RunInventory {
    inventory::Inventory inventory;
    std::vector<inventory::QuarantinedEntry> quarantined;
};
RunInventory load_inventory_for_run_or_exit(const Globals& g);
// The same, for monitoring: an invalid inventory is reported by `on_invalid`
// (given the problems, first error first) before the exit with `exit_code`.
inventory::Inventory load_inventory_or_exit(
    const Globals& g, int exit_code,
    const std::function<void(const std::vector<std::string>& errors)>& on_invalid);

// The state a mutating command needs: store, ledger and the state lock.
// Exits 75 when another run holds the lock, 2 when the state cannot be opened.
using State = operations::OpenState;
State open_state(const inventory::Inventory& inv, bool take_lock);
// For status and --dry-run: writes nothing, not even a missing state directory.
State open_state_readonly(const inventory::Inventory& inv);

// What a command that acts on the fleet (issue, deploy, renew, run) holds
// while it runs: the state (locked unless a dry run), the clock, the
// inventory's hooks and the operations::Context over them, with progress
// lines on a terminal.
class FleetSession {
public:
    FleetSession(const inventory::Inventory& inv, const Globals& g, bool dry_run);
    FleetSession(const FleetSession&) = delete;
    FleetSession& operator=(const FleetSession&) = delete;
    operations::Context& ctx() { return m_ctx; }

private:
    State m_state;
    core::SystemClock m_clock;
    hooks::HookRunner m_hooks;
    operations::Context m_ctx;
};

// Certificate names given on the command line must exist (else exit 64).
void check_certificate_names(const inventory::Inventory& inv,
                             const std::vector<std::string>& names);

// `--at TIME` (RFC 3339 date or date-time); empty: now. Exits 64 when malformed.
core::TimePoint parse_at_or_exit(const std::string& at);

// Progress lines on a terminal; nothing under -q, --json or cron.
std::function<void(const std::string& cert, const std::string& step)> progress_printer(
    const Globals& g);

// Prints an error for the operator: what failed and what to do next.
// Remote text in it (a CA's detail, nginx's stderr) cannot drive the terminal.
void print_error(const std::string& message, const std::string& hint = {});
// A --json document on stdout; invalid UTF-8 from a peer becomes U+FFFD.
void print_json(const nlohmann::json& doc);
// The last message print_error printed (for the --json error document).
const std::string& last_error();

// One command's registration: called from main with the shared globals.
void add_validate_command(CLI::App& app, Globals& g, int& exit_code);
void add_issue_command(CLI::App& app, Globals& g, int& exit_code);
void add_status_command(CLI::App& app, Globals& g, int& exit_code);
void add_revoke_command(CLI::App& app, Globals& g, int& exit_code);
void add_audit_command(CLI::App& app, Globals& g, int& exit_code);
void add_deploy_command(CLI::App& app, Globals& g, int& exit_code);
void add_rollback_command(CLI::App& app, Globals& g, int& exit_code);
void add_renew_command(CLI::App& app, Globals& g, int& exit_code);
void add_schedule_command(CLI::App& app, Globals& g, int& exit_code);
void add_check_command(CLI::App& app, Globals& g, int& exit_code);
void add_run_command(CLI::App& app, Globals& g, int& exit_code);

}  // namespace certfleet::cli
