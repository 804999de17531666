// The per-host deployment transaction (SPEC §4): upload a complete version
// beside the live one, check it, switch `current` with one rename, test,
// reload, verify what the host really serves, and swap back on any failure.
// Written only against Transport, so ssh, local and fault-injecting
// transports all get the same crash-safety: the only changes a server can
// observe are renames of complete things.
#pragma once

#include <cstdint>
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

enum class DeployResult {
    Deployed,    // the requested version is current (and served, when verified)
    Unchanged,   // it already was; nothing was touched
    RolledBack,  // it was activated, failed after the reload, and the previous one is back
    Failed,      // not activated (or the host's state needs attention: see error)
};

// "deployed" "unchanged" "rolled_back" "failed"
std::string_view deploy_result_name(DeployResult result);

struct DeployOutcome {
    DeployResult result = DeployResult::Failed;
    std::string version;  // now current on the host (empty: none / unknown)
    std::string served_serial;
    std::string error;
    std::string hint;
    bool adopted = false;               // hand-managed files were taken over as a version
    std::vector<std::string> steps;     // human log of what was done
    std::vector<std::string> warnings;  // did not stop the deployment (clock skew, prune)
};

// Brings `host` to `m.version` of certificate `m.cert_name`. `force` redoes
// test, reload and verify even when that version is already current.
DeployOutcome deploy_version(Transport& t, const HostTarget& host, const Material& m, bool force);

// Swaps back to `version` (empty: the newest one older than current), which
// must already be on the host, then tests, reloads and verifies. Success is
// Deployed; a failure that restored the version current before is Failed.
DeployOutcome rollback(Transport& t, const HostTarget& host, const std::string& cert_name,
                       const std::string& version);

struct HostCertState {
    std::optional<std::string> current_version;
    std::vector<std::string> versions;  // sorted (oldest first); no temporaries
    // Hand-managed: fullchain.pem or privkey.pem is a regular file or a
    // symlink that is not ours (not yet adopted).
    bool plain_files = false;
    std::optional<std::string> current_serial;  // of what fullchain.pem resolves to
};

core::Result<HostCertState> inspect(Transport& t, const std::string& cert_root,
                                    const std::string& cert_name);

}  // namespace certfleet::distribute
