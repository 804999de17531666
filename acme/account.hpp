// The ACME account: its key kept 0600 under the state directory, one
// directory per CA (so switching CAs never reuses a foreign account).
#pragma once

#include <string>

#include "acme/client.hpp"

namespace certfleet::acme {

// "<accounts_root>/<ca host>-<8 hex of SHA-256(directory URL)>"
std::string account_dir(const std::string& accounts_root, const std::string& directory_url);

// Loads the account key from `dir`, creating it (0600) when absent. A
// malformed key file is an error, never silently replaced: it may be the only
// copy of an account with issued certificates.
core::Result<core::PrivateKey> load_or_create_account_key(const std::string& dir,
                                                          core::KeyType type);

// Registers the account (or finds it: newAccount is idempotent for a known
// key, and this also survives a CA that forgot the account), stores its URL
// in dir/account.json and points `client` at it.
core::Status ensure_account(AcmeClient& client, const std::string& dir, core::KeyType key_type,
                            const NewAccountOptions& options);

}  // namespace certfleet::acme
