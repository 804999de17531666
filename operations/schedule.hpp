// What makes `certfleet run` happen unattended: a systemd service + timer
// (sandboxed as far as certfleet's work allows) or a crontab line, rendered
// from the inventory. Pure text in, text out; the CLI prints or writes it.
#pragma once

#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "inventory/model.hpp"

namespace certfleet::operations {

// What the inventory asks of the sandbox the scheduled run lives in.
struct ScheduleNeeds {
    std::string state_dir;                // absolute
    std::set<std::string> writable;       // besides the state directory
    bool local_commands = false;          // a local host tests/reloads its server
    std::vector<std::string> privileged;  // where a command uses sudo/doas/pkexec
};

ScheduleNeeds inspect_needs(const inventory::Inventory& inv);

// Whether a shell command runs sudo, doas or pkexec (as a word of its own).
bool uses_privilege_tool(const std::string& command);

// One word of a unit file's ExecStart=/path list: '%' is a specifier and '$'
// an expansion unless doubled; blanks and quotes need C-style quoting.
std::string unit_word(const std::string& word);
// A word of the /bin/sh command cron runs; '%' ends the command in crontab.
std::string cron_word(const std::string& word);

// The `certfleet run` to schedule.
struct ScheduledRun {
    std::string executable;  // this binary, absolute
    std::string config;      // the inventory, absolute
    // --state-dir was given: the scheduled run gets it too (absolute, from
    // ScheduleNeeds::state_dir), else it reads state_dir from the inventory.
    bool pass_state_dir = false;
};

// The words after the binary: global options then the command.
std::vector<std::string> run_args(const ScheduledRun& run, const ScheduleNeeds& needs,
                                  std::string_view jitter);

// certfleet.service: the timer randomizes the start, so the run does not sleep.
std::string render_service(const ScheduledRun& run, const ScheduleNeeds& needs);
// certfleet.timer: twice a day plus a random delay, Persistent.
std::string render_timer();

// When the crontab line fires: `minute hour,hour+12`.
struct CronTime {
    int minute = 0;  // 0..59
    int hour = 0;    // 0..11
};
// Spread over machines (every fleet manager at the same minute would hit the
// CA together) yet the same on every call for one machine and inventory, so
// configuration management that writes the line sees no change: derived from
// a hash of `seed` (this host's name and the inventory's path).
CronTime stable_cron_time(const std::string& seed);
// The crontab (with a comment and, for /etc/cron.d, PATH and the user field);
// the run sleeps up to 5 minutes (--jitter 5m) on top of `at`.
std::string render_cron(const ScheduledRun& run, const ScheduleNeeds& needs, CronTime at,
                        bool user_crontab);

}  // namespace certfleet::operations
