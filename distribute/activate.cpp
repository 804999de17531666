// Making a version live: swap `current`, test, reload, verify what is served;
// every failure puts the previous version back (Envoy's rotation model: the
// old material stays until the new one has proven itself).
#include <algorithm>
#include <thread>

#include "core/crypto.hpp"
#include "core/process.hpp"
#include "distribute/deploy_internal.hpp"
#include "distribute/tls_probe.hpp"

namespace certfleet::distribute::detail {

namespace {

using core::ErrorKind;
using core::fail;
using core::Result;
using core::Status;
using std::chrono::milliseconds;

// "sudo nginx -t failed on cdn-1 (exit code 1): <stderr>"; Ok when it succeeded.
Status command_status(Run& r, const std::string& command, const Result<CommandOutput>& res) {
    if (!res) {
        return fail(res.error().kind,
                    command + " could not run on " + r.host.host_name + ": " + res.error().message);
    }
    if (res->timed_out) {
        const auto& deadline = r.t.deadline();
        if (deadline && std::chrono::steady_clock::now() >= deadline->at) {
            return fail(ErrorKind::Timeout, command + " was stopped on " + r.host.host_name +
                                                ": out of time: " + deadline->why + " passed");
        }
        return fail(ErrorKind::Timeout, command + " timed out on " + r.host.host_name + " after " +
                                            core::format_duration(r.host.command_timeout));
    }
    if (res->exit_code != 0) {
        const std::string& text = res->err.empty() ? res->out : res->err;
        return fail(ErrorKind::Generic, command + " failed on " + r.host.host_name +
                                            " (exit code " + std::to_string(res->exit_code) +
                                            "): " + core::summarize_output(text));
    }
    return {};
}

Status run_command(Run& r, const std::string& command) {
    return command_status(r, command, r.t.run(command, r.host.command_timeout));
}

// Polls what the host serves until it shows `expected` or verify_timeout
// passes: a reloading nginx lets old workers answer for a moment.
Result<std::string> verify_served(Run& r, const ServedIdentity& expected) {
    const auto& v = r.host.verify;
    auto deadline = std::chrono::steady_clock::now() + r.host.verify_timeout;
    if (r.t.deadline() && r.t.deadline()->at < deadline) {
        deadline = r.t.deadline()->at;  // the host's own deadline comes first
    }
    milliseconds interval{100};
    std::string last_serial;
    bool same_serial_other_certificate = false;
    std::optional<core::Error> last_error;
    for (;;) {
        const auto left =
            std::chrono::duration_cast<milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left <= milliseconds(0)) {
            break;
        }
        auto served = probe_tls(v.address, v.port, v.server_name, left);
        if (served) {
            last_serial = core::canonical_serial(served->info.serial_hex);
            last_error.reset();
            if (expected.matches(served->info)) {
                return last_serial;
            }
            same_serial_other_certificate = last_serial == expected.serial;
        } else {
            last_error = served.error();
        }
        const auto now_left =
            std::chrono::duration_cast<milliseconds>(deadline - std::chrono::steady_clock::now());
        if (now_left <= milliseconds(0)) {
            break;
        }
        std::this_thread::sleep_for(std::min(interval, now_left));
        interval = std::min(milliseconds(500), interval * 3 / 2);
    }
    if (last_error || last_serial.empty()) {
        return fail(ErrorKind::Network,
                    "cannot verify " + r.host.host_name + ": " +
                        (last_error ? last_error->message : std::string("no answer in time")),
                    "is the server listening on " + v.address + ":" + std::to_string(v.port) +
                        "? set verify.address / verify.port, or verify.enabled=false");
    }
    const std::string seen = same_serial_other_certificate
                                 ? "a certificate with serial " + last_serial +
                                       " but another fingerprint than " +
                                       expected.fingerprint.substr(0, 16) + "…"
                                 : "serial " + last_serial;
    return fail(ErrorKind::Protocol,
                r.host.host_name + " serves " + seen + " after reload, expected serial " +
                    expected.serial + " (does the server config load " +
                    r.paths.stable(kFullchain) + "?)",
                "point ssl_certificate / ssl_certificate_key at " + r.paths.stable(kFullchain) +
                    " and " + r.paths.stable(kKey));
}

// Puts back what was current before (or, on a first deployment, removes what
// this run made live). Returns what the host's `current` is afterwards, for
// the message.
Result<std::string> undo(Run& r, const std::optional<std::string>& previous) {
    if (previous) {
        if (auto s = swap_link(r, "current", *previous); !s) {
            return s.failure();
        }
        (void)r.t.fsync_dir(r.paths.dir);
        const std::string v = version_of_target(*previous);
        r.step("swapped current back to " + *previous);
        return v.empty() ? *previous : v;
    }
    for (std::size_t i = 0; i < kFileNames.size(); ++i) {
        if (auto s = r.t.remove(r.paths.stable(i)); !s) {
            return s.failure();
        }
    }
    if (auto s = r.t.remove(r.paths.current); !s) {
        return s.failure();
    }
    (void)r.t.fsync_dir(r.paths.dir);
    r.step("removed current and the stable links (there was no earlier version)");
    return std::string();
}

// Swapping back must not be cut off by the deadline that ended the
// activation: it gets kUndoGrace more (the swap, a reload, their round trips).
constexpr core::Seconds kUndoGrace{45};

void allow_undo(Run& r, const core::Error& e) {
    if (e.kind == ErrorKind::Timeout) {
        r.t.reset_connection();  // the server process behind it may be frozen
    }
    const auto& deadline = r.t.deadline();
    const auto now = std::chrono::steady_clock::now();
    if (deadline && deadline->at < now + kUndoGrace) {
        r.t.set_deadline(Deadline{
            now + kUndoGrace,
            deadline->why + " (and " + core::format_duration(kUndoGrace) + " to swap back)"});
    }
}

// Fails the activation: undoes the swap (when there was one) and, if the
// server had been reloaded onto the new files, reloads it back.
void give_up(Run& r, const std::optional<std::string>& previous, bool swapped, bool reloaded,
             const core::Error& e, const std::string& version) {
    r.out.result = DeployResult::Failed;
    r.out.error = e.message;
    r.out.hint = e.hint;
    if (!swapped) {
        return;  // the version was already current: nothing to put back
    }
    allow_undo(r, e);
    auto back = undo(r, previous);
    if (!back) {
        r.out.error += "; swapping back FAILED: " + back.error().message + " (current is still " +
                       version + ")";
        r.out.hint =
            "the host may serve an untested version; run `certfleet rollback` once it is "
            "reachable";
        return;
    }
    r.out.version = *back;
    r.out.error +=
        back->empty() ? "; removed the new links (first deployment)" : "; swapped back to " + *back;
    if (!reloaded || r.host.reload_command.empty()) {
        return;
    }
    if (auto s = run_command(r, r.host.reload_command); !s) {
        r.out.error += "; reload after swapping back failed too: " + s.error().message;
        r.out.hint = "check the server on " + r.host.host_name + " by hand";
        return;
    }
    r.step("reloaded with the previous files");
    if (previous) {
        r.out.result = DeployResult::RolledBack;
    }
}

}  // namespace

bool ServedIdentity::matches(const core::CertificateInfo& served) const {
    return served.sha256_fingerprint == fingerprint;
}

ServedIdentity identity_of(const core::CertificateInfo& info) {
    return {core::canonical_serial(info.serial_hex), info.sha256_fingerprint};
}

namespace {

// The renames that make `target` current and every stable name our link:
// `current` first, so the new links never dangle.
Result<std::vector<RenameStep>> stage_activation(Run& r, bool swap, const std::string& target) {
    auto layout = read_layout(r.t, r.paths);
    if (!layout) {
        return layout.failure();
    }
    std::vector<RenameStep> steps;
    if (swap) {
        auto step = stage_link(r, "current", target);
        if (!step) {
            return step.failure();
        }
        steps.push_back(std::move(step).value());
    }
    auto links = stage_links(r, *layout);
    if (!links) {
        return links.failure();
    }
    steps.insert(steps.end(), links->begin(), links->end());
    return steps;
}

// A batch of renames failed: they are atomic one by one, so look whether
// `current` was swapped and undo that; else nothing changed.
void swap_failed(Run& r, const std::optional<std::string>& previous_target,
                 const std::optional<std::string>& fallback, const std::string& target,
                 const std::string& version, const core::Error& e) {
    auto now = read_layout(r.t, r.paths);
    r.out.result = DeployResult::Failed;
    r.out.error = "cannot swap current on " + r.host.host_name + ": " + e.message;
    r.out.hint = e.hint;
    if (now && now->current_target) {
        r.out.version = version_of_target(*now->current_target);
    }
    if (now && now->current_target == target && previous_target != target) {
        give_up(r, fallback, true, false, core::make_error(e.kind, r.out.error), version);
    }
}

}  // namespace

void activate(Run& r, const std::optional<std::string>& previous_target,
              const std::optional<std::string>& fallback, const std::string& version,
              const ServedIdentity& expected) {
    const std::string target = "versions/" + version;
    const bool swap = !previous_target || *previous_target != target;
    // A redo of an activation a killed run left unfinished: on failure the
    // last finished version comes back, and the server is reloaded onto it
    // (the killed run may have reloaded it onto this one).
    const bool redo_with_fallback = !swap && fallback && *fallback != target;
    const bool can_undo = swap || redo_with_fallback;
    r.out.version = previous_target ? version_of_target(*previous_target) : std::string();
    auto steps = stage_activation(r, swap, target);
    if (!steps) {
        r.out.result = DeployResult::Failed;
        r.out.error = steps.error().message + "; nothing was swapped";
        r.out.hint = steps.error().hint;
        return;
    }
    // One remote process: swap, link repairs and the config test.
    r.starting((swap ? "swapping current -> " + target + ", " : std::string()) + "testing" +
               (r.host.test_command.empty() ? std::string(" (no test command)")
                                            : ": " + r.host.test_command));
    auto tested = r.t.rename_then_run(*steps, r.host.test_command, r.host.command_timeout);
    if (!tested) {
        swap_failed(r, previous_target, fallback, target, version, tested.error());
        return;
    }
    if (!steps->empty()) {
        if (auto s = r.t.fsync_dir(r.paths.dir); !s) {
            give_up(r, fallback, can_undo, redo_with_fallback, s.error(), version);
            return;
        }
    }
    if (swap) {
        r.step("current -> " + target +
               (previous_target ? " (was " + *previous_target + ")" : std::string()));
    }
    for (std::size_t i = swap ? 1 : 0; i < steps->size(); ++i) {
        const std::string name = (*steps)[i].to.substr(r.paths.dir.size() + 1);
        r.step(name + " -> current/" + name);
    }
    r.out.version = version;

    if (!r.host.test_command.empty()) {
        if (auto s = command_status(r, r.host.test_command, tested); !s) {
            give_up(r, fallback, can_undo, redo_with_fallback, s.error(), version);
            if (r.out.hint.empty()) {
                r.out.hint = "fix the server configuration on " + r.host.host_name +
                             " (see the test command's output), then deploy again";
            }
            return;
        }
        r.step("test passed: " + r.host.test_command);
    }
    if (!r.host.reload_command.empty()) {
        r.starting("reloading: " + r.host.reload_command);
        if (auto s = run_command(r, r.host.reload_command); !s) {
            give_up(r, fallback, can_undo, true, s.error(), version);
            return;
        }
        r.step("reloaded: " + r.host.reload_command);
    }
    if (r.host.verify.enabled) {
        r.starting("verifying what " + r.host.verify.address + ":" +
                   std::to_string(r.host.verify.port) + " serves");
        auto served = verify_served(r, expected);
        if (!served) {
            give_up(r, fallback, can_undo, true, served.error(), version);
            return;
        }
        r.out.served_serial = *served;
        r.step("verified: " + r.host.verify.address + ":" + std::to_string(r.host.verify.port) +
               " serves serial " + *served);
    }
    r.out.result = DeployResult::Deployed;
}

}  // namespace certfleet::distribute::detail
