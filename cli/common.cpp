#include "cli/common.hpp"

#include <cstdlib>
#include <iostream>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "cli/output.hpp"
#include "core/exposure.hpp"
#include "core/strings.hpp"
#include "core/untrusted_text.hpp"
#include "operations/run.hpp"

namespace certfleet::cli {

std::atomic<bool> g_cancel{false};
std::atomic<int> g_signal{0};

bool stderr_is_terminal() {
    return ::isatty(STDERR_FILENO) == 1;
}

namespace {

// Log lines carry remote text (a CA's problem detail, a host's stderr, a
// DNS server's answer): escape sequences in it must not reach the terminal.
class TerminalSafeSink final : public spdlog::sinks::sink {
public:
    explicit TerminalSafeSink(spdlog::sink_ptr inner) : m_inner(std::move(inner)) {}
    void log(const spdlog::details::log_msg& msg) override {
        const std::string safe =
            core::terminal_safe(std::string_view(msg.payload.data(), msg.payload.size()));
        spdlog::details::log_msg copy = msg;
        copy.payload = spdlog::string_view_t(safe.data(), safe.size());
        m_inner->log(copy);
    }
    void flush() override { m_inner->flush(); }
    void set_pattern(const std::string& pattern) override { m_inner->set_pattern(pattern); }
    void set_formatter(std::unique_ptr<spdlog::formatter> formatter) override {
        m_inner->set_formatter(std::move(formatter));
    }

private:
    spdlog::sink_ptr m_inner;
};

}  // namespace

void setup_logging(const Globals& g) {
    auto logger = std::make_shared<spdlog::logger>(
        "certfleet", std::make_shared<TerminalSafeSink>(
                         std::make_shared<spdlog::sinks::stderr_color_sink_mt>()));
    // Under cron nobody reads timestamps twice; on a terminal keep it terse.
    const char* pattern = stderr_is_terminal() ? "%^%l%$: %v" : "%Y-%m-%dT%H:%M:%SZ %l: %v";
    logger->set_pattern(pattern, spdlog::pattern_time_type::utc);
    spdlog::set_default_logger(logger);
    if (g.quiet)
        spdlog::set_level(spdlog::level::err);
    else if (g.verbose >= 2)
        spdlog::set_level(spdlog::level::trace);
    else if (g.verbose == 1)
        spdlog::set_level(spdlog::level::debug);
    else
        spdlog::set_level(spdlog::level::info);
    // Exposed secrets are reported even under -q (see core::security_warning):
    // same sink, so lines stay whole and in order, but its own level (set
    // after spdlog::set_level above, which applies to every registered logger).
    auto security = std::make_shared<spdlog::logger>(core::kSecurityLogger, logger->sinks().begin(),
                                                     logger->sinks().end());
    security->set_pattern(pattern, spdlog::pattern_time_type::utc);
    security->set_level(spdlog::level::warn);
    spdlog::register_logger(security);
}

std::string default_config_path() {
    if (const char* env = std::getenv("CERTFLEET_CONFIG"); env && *env)
        return env;
    return "/etc/certfleet/certfleet.json";
}

std::function<void(const std::string&, const std::string&)> progress_printer(const Globals& g) {
    if (g.quiet || g.json || !stderr_is_terminal())
        return {};
    return [](const std::string& cert, const std::string& step) {
        spdlog::info("{}: {}", cert, step);
    };
}

FleetSession::FleetSession(const inventory::Inventory& inv, const Globals& g, bool dry_run)
    : m_state(dry_run ? open_state_readonly(inv) : open_state(inv, /*take_lock=*/true)),
      m_hooks(operations::make_hook_runner(inv)),
      m_ctx{inv, m_state.store, m_state.ledger, m_clock, &g_cancel, progress_printer(g), &m_hooks} {
}

core::TimePoint parse_at_or_exit(const std::string& at) {
    if (at.empty())
        return core::SystemClock().now();
    auto t = core::parse_rfc3339(at);
    if (!t) {
        print_error("--at '" + at + "' is not an RFC 3339 date or date-time",
                    "use e.g. 2026-12-24 or 2026-12-24T08:00:00Z");
        throw ExitRequest{kUsage};
    }
    return *t;
}

namespace {
std::string g_last_error;  // the main thread's; workers log, they do not print_error
}  // namespace

const std::string& last_error() {
    return g_last_error;
}

void print_error(const std::string& message, const std::string& hint) {
    g_last_error = message;
    std::cerr << "error: " << core::terminal_safe(message) << "\n";
    if (!hint.empty())
        std::cerr << "  next step: " << core::terminal_safe(hint) << "\n";
}

void print_json(const nlohmann::json& doc) {
    std::cout << core::json_text(doc, 2) << "\n";
}

std::string this_host_name() {
    char buf[256] = {};
    if (::gethostname(buf, sizeof buf - 1) != 0)
        return "certfleet";
    return buf;
}

namespace {

nlohmann::json invalid_inventory_json(const std::vector<std::string>& errors) {
    return {{"error", "the inventory is invalid; nothing was done"},
            {"errors", errors},
            {"exit_code", kInvalidInventory}};
}

}  // namespace

inventory::Inventory load_inventory_or_exit(const Globals& g) {
    // Scripts reading --json get a document even now, not an empty stdout.
    return load_inventory_or_exit(g, kInvalidInventory,
                                  [&g](const std::vector<std::string>& errors) {
                                      if (g.json)
                                          print_json(invalid_inventory_json(errors));
                                  });
}

inventory::Inventory load_inventory_or_exit(
    const Globals& g, int exit_code,
    const std::function<void(const std::vector<std::string>& errors)>& on_invalid) {
    std::string path = g.config.empty() ? default_config_path() : g.config;
    auto result = inventory::load_inventory(path);
    for (const auto& d : result.diagnostics)
        // Errors and exposed secrets always (even -q); other warnings only
        // where they are looked for: validate, and once per run.
        if (!d.warning || d.security || (g.inventory_warnings && !g.quiet))
            std::cerr << d.format() << "\n";
    if (!result.ok()) {
        std::vector<std::string> errors;
        for (const auto& d : result.diagnostics)
            if (!d.warning)
                errors.push_back(d.format());
        std::cerr << path << ": " << errors.size() << " error(s); nothing was done\n";
        if (on_invalid)
            on_invalid(errors);
        throw ExitRequest{exit_code};
    }
    inventory::Inventory inv = std::move(*result.inventory);
    if (!g.state_dir.empty())
        inv.state_dir = g.state_dir;
    return inv;
}

namespace {

// `run` cannot use its inventory at all: the operator still hears of it
// (notify, metrics) when the alarm sections are valid. Failed channels are
// reported; the exit stays 78.
nlohmann::json raise_inventory_alarm(const Globals& g,
                                     const std::optional<inventory::Inventory>& alarm,
                                     const std::vector<std::string>& errors) {
    if (!alarm) {
        print_error("nobody was notified: the notify section itself is invalid (or unreadable)");
        return nlohmann::json::array();
    }
    inventory::Inventory sections = *alarm;
    if (!g.state_dir.empty())
        sections.state_dir = g.state_dir;
    FleetSession session(sections, g, /*dry_run=*/false);  // exits 75 when a run holds the lock
    operations::RunOptions options;
    options.manager_host = this_host_name();
    const auto report = operations::alarm_invalid_inventory(session.ctx(), options, errors);
    print_delivery_failures(report);
    return notifications_json(report.notifications);
}

}  // namespace

RunInventory load_inventory_for_run_or_exit(const Globals& g) {
    const std::string path = g.config.empty() ? default_config_path() : g.config;
    auto loaded = inventory::load_inventory_for_run(path);
    if (!loaded.load.ok() && !loaded.quarantine) {
        // Prints the errors and exits 78 as every command does, after the alarm.
        load_inventory_or_exit(g, kInvalidInventory,
                               [&g, &loaded](const std::vector<std::string>& errors) {
                                   auto channels = raise_inventory_alarm(g, loaded.alarm, errors);
                                   if (!g.json)
                                       return;
                                   auto doc = invalid_inventory_json(errors);
                                   doc["notifications"] = channels;
                                   print_json(doc);
                               });
    }
    for (const auto& d : loaded.load.diagnostics)
        if (!d.warning || d.security || !g.quiet)
            std::cerr << d.format() << "\n";
    if (loaded.load.ok()) {
        RunInventory out{std::move(*loaded.load.inventory), {}};
        if (!g.state_dir.empty())
            out.inventory.state_dir = g.state_dir;
        return out;
    }
    std::vector<std::string> names;
    for (const auto& q : loaded.quarantine->quarantined)
        names.push_back((q.kind == inventory::EntryKind::Certificate ? "certificate '" : "host '") +
                        q.name + "'");
    print_error(path + ": invalid entries left out of this run: " + core::join(names, ", "),
                "fix them (`certfleet validate` lists every error); the rest of the fleet runs");
    RunInventory out{std::move(*loaded.quarantine->inventory),
                     std::move(loaded.quarantine->quarantined)};
    if (!g.state_dir.empty())
        out.inventory.state_dir = g.state_dir;
    return out;
}

State open_state(const inventory::Inventory& inv, bool take_lock) {
    auto state = operations::open_state(inv.state_dir, take_lock);
    if (!state) {
        print_error(state.error().message, state.error().hint);
        throw ExitRequest{state.error().kind == core::ErrorKind::Busy ? kLocked : kFailure};
    }
    return std::move(*state);
}

State open_state_readonly(const inventory::Inventory& inv) {
    auto state = operations::open_state_readonly(inv.state_dir);
    if (!state) {
        print_error(state.error().message, state.error().hint);
        throw ExitRequest{kFailure};
    }
    return std::move(*state);
}

void check_certificate_names(const inventory::Inventory& inv,
                             const std::vector<std::string>& names) {
    for (const auto& n : names) {
        if (inv.certificates.count(n))
            continue;
        std::string known;
        for (const auto& [name, _] : inv.certificates)
            known += (known.empty() ? "" : ", ") + name;
        print_error("no certificate named '" + n + "' in the inventory",
                    "known certificates: " + (known.empty() ? std::string("(none)") : known));
        throw ExitRequest{kUsage};
    }
}

}  // namespace certfleet::cli
