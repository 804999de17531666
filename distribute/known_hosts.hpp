// Strict host key checking for the SSH transport, OpenSSH-compatible: the key
// a host offers must already be in certfleet's known_hosts file. Nothing is
// ever trusted on first use, and nothing is written to the file: an operator
// verifies a new key out of band and adds the line the error message prints.
#pragma once

#include <string>
#include <string_view>

#include <libssh2.h>

#include "core/result.hpp"

namespace certfleet::distribute {

// The name OpenSSH files a host under: "addr" on port 22, "[addr]:port" otherwise.
std::string known_hosts_name(const std::string& address, int port);

// The algorithm name inside an SSH public key blob ("ssh-ed25519",
// "ecdsa-sha2-nistp256", "ssh-rsa"); "" when the blob is malformed.
std::string key_blob_type(std::string_view key_blob);

// "SHA256:<base64 of SHA-256, no padding>" as `ssh-keygen -l` prints it.
std::string sha256_fingerprint(std::string_view key_blob);

struct HostKeyCheck {
    std::string host_name;  // inventory name, first in every message
    std::string address;    // as configured (name or IP), as known_hosts lists it
    int port = 22;
    std::string known_hosts;  // file path
};

// Compares the key `session` received during its handshake with the
// known_hosts file. Only an exact match passes; a missing file, an unknown
// host, a changed key, a revoked key and an unparsable line are refusals.
// Plain and hashed (|1|salt|hash) host names and comma-separated name lists
// are understood; @revoked is honoured; @cert-authority lines are ignored
// (certfleet does not accept host certificates).
core::Status verify_host_key(LIBSSH2_SESSION* session, const HostKeyCheck& check);

// The host key algorithms to negotiate, for libssh2_session_method_pref: the
// types known_hosts lists for `name` first (as OpenSSH does), so a host with
// several keys presents the one on file; then the others libssh2 supports.
std::string host_key_algorithms(LIBSSH2_SESSION* session, const std::string& known_hosts,
                                const std::string& name);

}  // namespace certfleet::distribute
