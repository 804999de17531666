// certfleet schedule: what makes `certfleet run` happen unattended — a
// systemd service + timer (sandboxed as far as certfleet's work allows) or a
// crontab line. The inventory is loaded first: a timer for an inventory that
// does not validate would only fail twice a day.
#include <filesystem>
#include <iostream>
#include <random>
#include <set>

#include "cli/common.hpp"
#include "core/fs.hpp"

namespace certfleet::cli {

namespace {

namespace fs = std::filesystem;

struct ScheduleOptions {
    bool systemd = false;
    bool cron = false;
    bool user_crontab = false;
    std::string output_dir;
};

// What the inventory asks of the sandbox.
struct Needs {
    std::string state_dir;                // absolute
    std::set<std::string> writable;       // besides the state directory
    bool local_commands = false;          // a local host tests/reloads its server
    std::vector<std::string> privileged;  // where a command uses sudo/doas
};

bool uses_privilege_tool(const std::string& command) {
    for (std::string_view tool : {"sudo", "doas", "pkexec"}) {
        for (size_t at = command.find(tool); at != std::string::npos;
             at = command.find(tool, at + 1)) {
            bool starts = at == 0 || std::string_view(" \t;&|(").find(command[at - 1]) !=
                                         std::string_view::npos;
            size_t end = at + tool.size();
            bool ends = end == command.size() || command[end] == ' ' || command[end] == '\t';
            if (starts && ends)
                return true;
        }
    }
    return false;
}

Needs inspect(const inventory::Inventory& inv) {
    Needs needs;
    needs.state_dir = fs::absolute(inv.state_dir).lexically_normal().string();
    auto note = [&](const std::string& command, const std::string& where) {
        if (uses_privilege_tool(command))
            needs.privileged.push_back(where);
    };
    for (const auto& [name, host] : inv.hosts) {
        if (host.transport != "local")
            continue;
        const auto& s = host.settings;
        needs.writable.insert(s.cert_root);
        if (!s.test_command.empty() || !s.reload_command.empty())
            needs.local_commands = true;
        note(s.test_command, "hosts." + name + ".test_command");
        note(s.reload_command, "hosts." + name + ".reload_command");
        note(s.audit.config_dump_command, "hosts." + name + ".audit.config_dump_command");
    }
    for (const auto& entry : inv.notify) {
        std::string type = entry.contains("type") && entry["type"].is_string()
                               ? entry["type"].get<std::string>()
                               : "";
        if (type == "prometheus" && entry.contains("textfile") && entry["textfile"].is_string())
            needs.writable.insert(
                fs::path(entry["textfile"].get<std::string>()).parent_path().string());
        if (type == "exec" && entry.contains("command") && entry["command"].is_string())
            note(entry["command"].get<std::string>(), "notify (exec)");
    }
    for (const auto& [event, command] : inv.hooks.items())
        if (command.is_string())
            note(command.get<std::string>(), "hooks." + event);
    for (const auto& [name, provider] : inv.dns.providers)
        note(provider.command, "dns.providers." + name + ".command");
    return needs;
}

// One word of a unit file's ExecStart=/path list: '%' is a specifier and '$'
// an expansion unless doubled; blanks and quotes need C-style quoting.
std::string unit_word(const std::string& word) {
    std::string escaped;
    bool quote = word.empty();
    for (char c : word) {
        if (c == '%')
            escaped += "%%";
        else if (c == '$')
            escaped += "$$";
        else if (c == '"' || c == '\\')
            escaped += std::string("\\") + c, quote = true;
        else
            escaped += c;
        if (c == ' ' || c == '\t' || c == '\'' || c == ';')
            quote = true;
    }
    return quote ? "\"" + escaped + "\"" : escaped;
}

// A word of the /bin/sh command cron runs; '%' ends the command in crontab.
std::string cron_word(const std::string& word) {
    bool plain = !word.empty() && word.find_first_not_of(
                                      "abcdefghijklmnopqrstuvwxyz"
                                      "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                      "0123456789/._-+,:=@") == std::string::npos;
    std::string out;
    for (char c : word) {
        if (c == '\'')
            out += "'\\''";
        else if (c == '%')
            out += "\\%";
        else
            out += c;
    }
    return plain ? out : "'" + out + "'";
}

std::string self_path() {
    std::error_code ec;
    fs::path exe = fs::read_symlink("/proc/self/exe", ec);
    if (ec) {
        print_error("cannot find this program's path in /proc/self/exe: " + ec.message());
        throw ExitRequest{kFailure};
    }
    return exe.string();
}

// The words after the binary: global options then the command.
std::vector<std::string> run_args(const Globals& g, const std::string& config, const Needs& needs,
                                  const std::string& jitter) {
    std::vector<std::string> args{"-q", "-c", config};
    if (!g.state_dir.empty())
        args.insert(args.end(), {"--state-dir", needs.state_dir});
    args.insert(args.end(), {"run", "--jitter", jitter});
    return args;
}

std::string render_service(const std::string& exe, const std::vector<std::string>& args,
                           const Needs& needs) {
    std::string cmd = unit_word(exe);
    for (const auto& a : args)
        cmd += " " + unit_word(a);
    std::string out =
        "# certfleet.service: one `certfleet run` (renew what is due, deploy what is stale,\n"
        "# check, notify), started by certfleet.timer. Generated by `certfleet schedule "
        "--systemd`.\n"
        "[Unit]\n"
        "Description=certfleet: renew, deploy and check certificates\n"
        "Wants=network-online.target\n"
        "After=network-online.target\n"
        "\n"
        "[Service]\n"
        "Type=oneshot\n"
        "# The timer randomizes the start, so run does not sleep again.\n"
        "ExecStart=" +
        cmd +
        "\n"
        "# Issuance waits for DNS propagation and deploys roll out in waves: minutes.\n"
        "TimeoutStartSec=1h\n"
        "Nice=10\n"
        "IOSchedulingClass=best-effort\n"
        "IOSchedulingPriority=7\n"
        "UMask=0077\n"
        "\n"
        "# Sandbox: certfleet only writes its state (and the paths below). Hooks and\n"
        "# exec notifiers run inside it too: add ReadWritePaths= for what they write.\n";
    if (needs.local_commands)
        out +=
            "# A host with \"transport\": \"local\" runs its test/reload commands here\n"
            "# (e.g. nginx -t opens its logs and pid file): /usr, /boot and /etc stay\n"
            "# read-only, the rest of the system must stay writable for them.\n"
            "ProtectSystem=full\n";
    else
        out += "ProtectSystem=strict\n";
    const std::string& state = needs.state_dir;
    if (state.starts_with("/var/lib/") && state.size() > 9) {
        // systemd creates it (0700) before the sandbox is set up.
        out += "StateDirectory=" + unit_word(state.substr(9)) + "\nStateDirectoryMode=0700\n";
    } else {
        out += "# The state directory must exist before the first start:\n#   install -d -m 0700 " +
               state + "\nReadWritePaths=-" + unit_word(state) + "\n";
    }
    if (!needs.writable.empty()) {
        out +=
            "# Prometheus textfile directories and local hosts' cert_root ('-': a\n"
            "# directory that does not exist yet does not stop the service).\n";
        for (const auto& path : needs.writable)
            out += "ReadWritePaths=-" + unit_word(path) + "\n";
    }
    out +=
        "PrivateTmp=true\n"
        "# SSH identity files and known_hosts may live in a home directory.\n"
        "ProtectHome=read-only\n"
        "ProtectKernelTunables=true\n"
        "ProtectKernelModules=true\n"
        "ProtectControlGroups=true\n"
        "# glibc's getaddrinfo works without AF_NETLINK (it then assumes IPv4 and IPv6).\n"
        "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6\n"
        "LockPersonality=true\n"
        "RestrictRealtime=true\n"
        "SystemCallArchitectures=native\n";
    if (needs.privileged.empty()) {
        out += "NoNewPrivileges=true\nRestrictSUIDSGID=true\n";
    } else {
        out +=
            "# NoNewPrivileges= and RestrictSUIDSGID= are left out: these commands use sudo,\n"
            "# which needs its setuid bit to work:\n";
        for (const auto& where : needs.privileged)
            out += "#   " + where + "\n";
    }
    return out;
}

std::string render_timer() {
    return "# certfleet.timer: starts certfleet.service twice a day, each machine at a\n"
           "# random moment within the hour after 00:00 and 12:00; a run missed while the\n"
           "# machine was off happens at the next boot. Generated by `certfleet schedule "
           "--systemd`.\n"
           "[Unit]\n"
           "Description=certfleet twice a day\n"
           "\n"
           "[Timer]\n"
           "OnCalendar=*-*-* 00,12:00:00\n"
           "RandomizedDelaySec=1h\n"
           "Persistent=true\n"
           "AccuracySec=1m\n"
           "Unit=certfleet.service\n"
           "\n"
           "[Install]\n"
           "WantedBy=timers.target\n";
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

std::string render_cron(const std::string& exe, const std::vector<std::string>& args,
                        bool user_crontab) {
    // Spread over machines: every fleet manager at the same minute would hit
    // the CA together.
    std::random_device random;
    int minute = std::uniform_int_distribution<int>(0, 59)(random);
    int hour = std::uniform_int_distribution<int>(0, 11)(random);
    std::string cmd = cron_word(exe);
    for (const auto& a : args)
        cmd += " " + cron_word(a);
    std::string out =
        "# certfleet: renew, deploy, check and notify twice a day (-q: cron mails only errors).\n";
    if (user_crontab) {
        out +=
            "# Add with `crontab -e`; cron's PATH lacks /usr/sbin, which local hosts'\n"
            "# test/reload commands (nginx) may need.\n";
    } else {
        out +=
            "# Install: certfleet schedule --cron > /etc/cron.d/certfleet\n"
            "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n";
    }
    out += std::to_string(minute) + " " + std::to_string(hour) + "," + std::to_string(hour + 12) +
           " * * *" + (user_crontab ? "" : " root") + " " + cmd + "\n";
    return out;
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
--cron: one line for /etc/cron.d at a random minute and hour (different on
every machine), with --jitter 5m.

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
        if (!o->systemd && !o->cron) {
            print_error("schedule needs --systemd or --cron", "see certfleet schedule --help");
            throw ExitRequest{kUsage};
        }
        auto inv = load_inventory_or_exit(g);
        std::string config = g.config.empty() ? default_config_path() : g.config;
        config = fs::absolute(config).lexically_normal().string();
        Needs needs = inspect(inv);
        std::string exe = self_path();
        if (o->systemd)
            print_or_write_systemd(render_service(exe, run_args(g, config, needs, "0s"), needs),
                                   render_timer(), o->output_dir);
        else
            std::cout << render_cron(exe, run_args(g, config, needs, "5m"), o->user_crontab);
        exit_code = kOk;
    });
}

}  // namespace certfleet::cli
