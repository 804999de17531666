// The per-host deployment transaction (docs/host-layout.md): upload a complete version
// beside the live one, check it, switch `current` with one rename, test,
// reload, verify what the host really serves, and swap back on any failure.
// Written only against Transport, so ssh, local and fault-injecting
// transports all get the same crash-safety: the only changes a server can
// observe are renames of complete things.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <sys/types.h>
#include <vector>

#include "core/result.hpp"
#include "core/time.hpp"
#include "distribute/transport.hpp"

namespace certfleet::distribute {

// One version of a certificate as the manager's store holds it.
struct Material {
    std::string cert_name, version;
    std::string cert_pem, chain_pem, fullchain_pem;
    std::string key_pem;  // secret: never logged, never on a command line
    std::string serial_hex;
};

// Where the served certificate is checked after a reload.
struct VerifyTarget {
    bool enabled = true;
    std::string address;
    int port = 443;
    std::string server_name;  // SNI
};

struct HostTarget {
    std::string host_name;
    std::string cert_root;
    std::string test_command, reload_command;  // empty: skipped
    mode_t key_mode = 0600;
    std::optional<std::string> key_group;  // also given to the cert files and our directories
    int keep_versions = 3;
    VerifyTarget verify;
    core::Seconds command_timeout{60};
    core::Seconds verify_timeout{10};
    std::uint64_t min_free_bytes = 1 << 20;
};

// What became of one host: deploy_version and rollback give the first four;
// a rollout adds the last two for hosts it did not contact. The names are
// what deploy / run / rollback print and put in JSON.
enum class DeployResult {
    Deployed,    // "deployed": the requested version is current (and served, when verified)
    Unchanged,   // "unchanged": it already was; nothing was touched
    RolledBack,  // "rolled_back": it was activated, failed after the reload, and the
                 // previous one is back (for `rollback`: the rollback succeeded)
    Failed,      // "failed": not activated (or the host's state needs attention: see error)
    Skipped,     // "skipped": not attempted (nothing issued yet, or the rollout stopped)
    Planned,     // "planned": --dry-run would deploy it
    Pinned,      // "pinned": not attempted: an operator's rollback holds it on its version
    NotStarted,  // "not_started": not attempted: the command was interrupted first
};

std::string_view deploy_result_name(DeployResult result);
// nullopt for any other name.
std::optional<DeployResult> parse_deploy_result(std::string_view name);

struct DeployOutcome {
    DeployResult result = DeployResult::Failed;
    std::string version;  // now current on the host (empty: none / unknown)
    std::string served_serial;
    std::string error;
    std::string hint;
    bool adopted = false;  // hand-managed files were taken over as a version
    // rollback: the version asked for is not on the host (a typo): nothing
    // was touched, and the caller reports a usage error, not a failure.
    bool no_such_version = false;
    // rollback: the caller's guard refused the version (revoked): nothing was touched.
    bool refused = false;
    std::vector<std::string> steps;     // human log of what was done
    std::vector<std::string> warnings;  // did not stop the deployment (clock skew, prune)
};

// Brings `host` to `m.version` of certificate `m.cert_name`. `force` redoes
// test, reload and verify even when that version is already current.
DeployOutcome deploy_version(Transport& t, const HostTarget& host, const Material& m, bool force);

// Swaps back to `version` (empty: the newest one older than current), which
// must already be on the host, then tests, reloads and verifies. Success is
// Deployed; a failure that restored the version current before is Failed.
// `guard` sees the version chosen and its serial before anything changes;
// an error refuses the rollback (outcome.refused) with that error.
using RollbackGuard =
    std::function<core::Status(const std::string& version, const std::string& serial)>;
DeployOutcome rollback(Transport& t, const HostTarget& host, const std::string& cert_name,
                       const std::string& version, const RollbackGuard& guard = {});

struct HostCertState {
    std::optional<std::string> current_version;
    std::vector<std::string> versions;  // sorted (oldest first); no temporaries
    // Hand-managed: fullchain.pem or privkey.pem is a regular file or a
    // symlink that is not ours (not yet adopted).
    bool plain_files = false;
    std::optional<std::string> current_serial;  // of what fullchain.pem resolves to
};

// Like OpenSSH's StrictModes: cert_root, <cert_root>/<cert_name> and its
// versions/ (those that exist) are real directories, owned by root or the
// login user, writable by nobody else. deploy and rollback refuse a host
// where they are not (nothing is read or changed); audit reports it.
core::Status check_trusted_dirs(Transport& t, const std::string& host_name,
                                const std::string& cert_root, const std::string& cert_name);

core::Result<HostCertState> inspect(Transport& t, const std::string& cert_root,
                                    const std::string& cert_name);

// One version directory on a host, for `rollback --list`.
struct HostVersion {
    std::string version;
    bool current = false;
    std::string serial;  // of its cert.pem ("" when unreadable)
    std::optional<core::TimePoint> not_after;
    std::string problem;  // why serial is unknown
};

// Every version of `cert_name` on the host, oldest first, each cert.pem read
// (a host keeps a handful: pruning bounds them).
core::Result<std::vector<HostVersion>> list_versions(Transport& t, const std::string& cert_root,
                                                     const std::string& cert_name);

}  // namespace certfleet::distribute
