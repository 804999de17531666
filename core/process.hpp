// Running a child process with a deadline: argv (never a shell unless the
// caller asks for one), extra environment, optional stdin, bounded capture of
// stdout and stderr. Used by the exec DNS provider and by hooks.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/result.hpp"

namespace certfleet::core {

struct ProcessOptions {
    // argv[0] is looked up in PATH when it has no '/'. For a shell pass
    // {"/bin/sh", "-c", "..."} explicitly.
    std::vector<std::string> argv;
    // Set in the child on top of the parent's environment (same name wins).
    std::vector<std::pair<std::string, std::string>> env;
    bool inherit_env = true;
    std::optional<std::string> stdin_data;  // nullopt: stdin is /dev/null
    std::chrono::milliseconds timeout{std::chrono::seconds(60)};
    // On timeout the process group gets SIGTERM, then SIGKILL after this.
    std::chrono::milliseconds kill_grace{std::chrono::seconds(2)};
    std::size_t max_output = std::size_t{1} << 20;  // per stream; the rest is discarded
};

struct ProcessResult {
    int exit_code = -1;  // valid when signal == 0
    int signal = 0;      // terminating signal, 0 when the process exited
    bool timed_out = false;
    std::string out;  // stdout, at most max_output bytes
    std::string err;  // stderr, at most max_output bytes
    bool out_truncated = false;
    bool err_truncated = false;
    std::chrono::milliseconds elapsed{0};

    bool success() const { return !timed_out && signal == 0 && exit_code == 0; }
    // "exit code 3", "killed by signal 9", "timed out after 2s".
    std::string status_text() const;
};

// Fails only when the process could not be started (no such file, not
// executable, out of resources); a non-zero exit is a normal ProcessResult.
Result<ProcessResult> run_process(const ProcessOptions& options);

// Leaves the environment variable `name` out of every child's inherited
// environment from now on (ProcessOptions::env can still set it). For
// certfleet's own secrets given as "env:NAME": hooks, notifiers and DNS
// scripts have no use for them, and one that prints its environment would
// put them in the log.
void withhold_from_children(const std::string& name);

// Trims whitespace and caps text for one-line messages ("…" when cut).
std::string summarize_output(std::string_view text, std::size_t max_chars = 500);

}  // namespace certfleet::core
