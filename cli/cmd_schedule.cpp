// certfleet schedule: prints or writes what makes `certfleet run` happen
// unattended (rendered by operations/schedule). The inventory is loaded
// first: a timer for an inventory that does not validate would only fail
// twice a day.
#include <filesystem>
#include <iostream>

#include "cli/common.hpp"
#include "core/fs.hpp"
#include "operations/schedule.hpp"

namespace certfleet::cli {

namespace {

namespace fs = std::filesystem;

struct ScheduleOptions {
    bool systemd = false;
    bool cron = false;
    bool user_crontab = false;
    std::string output_dir;
};

std::string self_path() {
    std::error_code ec;
    fs::path exe = fs::read_symlink("/proc/self/exe", ec);
    if (ec) {
        print_error("cannot find this program's path in /proc/self/exe: " + ec.message());
        throw ExitRequest{kFailure};
    }
    return exe.string();
}

void print_or_write_systemd(const std::string& service, const std::string& timer,
                            const std::string& output_dir) {
    if (output_dir.empty()) {
        std::cout
            << "# Install: save the two files below as /etc/systemd/system/certfleet.service\n"
               "# and /etc/systemd/system/certfleet.timer (or use --output-dir), then\n"
               "#   systemctl daemon-reload && systemctl enable --now certfleet.timer\n"
               "\n"
               "### /etc/systemd/system/certfleet.service\n"
            << service << "\n### /etc/systemd/system/certfleet.timer\n"
            << timer;
        return;
    }
    if (auto s = core::make_dirs(output_dir, 0755); !s) {
        print_error(s.error().message);
        throw ExitRequest{kFailure};
    }
    for (const auto& [name, text] :
         {std::pair{"certfleet.service", &service}, std::pair{"certfleet.timer", &timer}}) {
        std::string path = (fs::path(output_dir) / name).string();
        if (auto s = core::write_file_atomic(path, *text, 0644); !s) {
            print_error(s.error().message);
            throw ExitRequest{kFailure};
        }
        std::cerr << "wrote " << path << "\n";
    }
    std::cerr << "next: systemctl daemon-reload && systemctl enable --now certfleet.timer\n";
}

void print_schedule(const Globals& g, const ScheduleOptions& o) {
    if (!o.systemd && !o.cron) {
        print_error("schedule needs --systemd or --cron", "see certfleet schedule --help");
        throw ExitRequest{kUsage};
    }
    auto inv = load_inventory_or_exit(g);
    std::string config = g.config.empty() ? default_config_path() : g.config;
    operations::ScheduledRun run{self_path(), fs::absolute(config).lexically_normal().string(),
                                 !g.state_dir.empty()};
    auto needs = operations::inspect_needs(inv);
    if (o.systemd)
        print_or_write_systemd(operations::render_service(run, needs), operations::render_timer(),
                               o.output_dir);
    else
        std::cout << operations::render_cron(
            run, needs, operations::stable_cron_time(this_host_name() + " " + run.config),
            o.user_crontab);
}

}  // namespace

void add_schedule_command(CLI::App& app, Globals& g, int& exit_code) {
    auto* cmd = app.add_subcommand(
        "schedule", "Print ready-to-install systemd service+timer units, or a crontab line");
    cmd->footer(R"(Exactly one of --systemd or --cron. Both run `certfleet -q -c CONFIG run`
twice a day with this binary and the inventory's absolute paths; the inventory
must validate first (else exit 78).

--systemd: certfleet.service (oneshot, sandboxed: only the state directory,
prometheus textfile directories and local hosts' cert_root are writable) and
certfleet.timer (00:00 and 12:00 plus a random delay up to 1h, Persistent).
--cron: one line for /etc/cron.d at a minute and hour derived from this
machine's name and the inventory path (different across machines, the same
on every call, so configuration management sees no change), with --jitter 5m.

Examples:
  certfleet schedule --systemd --output-dir /etc/systemd/system
  systemctl daemon-reload && systemctl enable --now certfleet.timer
  certfleet schedule --cron > /etc/cron.d/certfleet
  certfleet schedule --cron --user-crontab      (then paste into `crontab -e`))");
    auto o = std::make_shared<ScheduleOptions>();
    auto* systemd = cmd->add_flag("--systemd", o->systemd, "systemd service and timer units");
    auto* cron = cmd->add_flag("--cron", o->cron, "a crontab line (/etc/cron.d format)");
    systemd->excludes(cron);
    cmd->add_option("--output-dir", o->output_dir,
                    "With --systemd: write certfleet.service and certfleet.timer (0644) here "
                    "instead of printing them")
        ->type_name("DIR")
        ->needs(systemd);
    cmd->add_flag("--user-crontab", o->user_crontab,
                  "With --cron: crontab -e format (no user field)")
        ->needs(cron);
    cmd->callback([&g, &exit_code, o] {
        setup_logging(g);
        print_schedule(g, *o);
        exit_code = kOk;
    });
}

}  // namespace certfleet::cli
