// The manager's certificate store, <state_dir>/certificates/, laid out as on a
// host (docs/host-layout.md):
//   <root>/<cert>/versions/<version>/{cert,chain,fullchain,privkey}.pem
//   <root>/<cert>/current -> versions/<version>      (swapped by rename)
//   <root>/<cert>/{cert,chain,fullchain,privkey}.pem -> current/<same>
// A version directory appears complete or not at all (written under a
// .tmp- name, then renamed), so `current` only ever names a complete pair.
// Callers hold the state lock (core::FileLock on lock_path()) while writing.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/crypto.hpp"
#include "core/result.hpp"
#include "core/time.hpp"

namespace certfleet::state {

struct IssuedMaterial {
    std::string cert_pem;       // the leaf
    std::string chain_pem;      // intermediates (may be empty)
    std::string fullchain_pem;  // leaf followed by the intermediates
    std::string key_pem;        // secret: never log
};

struct StoredVersion {
    std::string name;     // certificate name
    std::string version;  // e.g. "20261121T103000Z-4f20a477"
    std::string dir;      // absolute path of versions/<version>
    std::string cert_pem, chain_pem, fullchain_pem;
    core::CertificateInfo info;  // of cert.pem
    core::KeyType key_type = core::KeyType::EcdsaP256;
    // The key PEM is deliberately absent: load it with Store::read_private_key.
};

class Store {
public:
    // Creates state_dir (0700) and its certificates/ (0750) when missing.
    static core::Result<Store> open(const std::string& state_dir);
    // For read-only commands and --dry-run: creates nothing; a missing state
    // directory simply reads as an empty store.
    static Store open_readonly(const std::string& state_dir);

    const std::string& state_dir() const { return m_state_dir; }
    std::string root() const;                                    // <state_dir>/certificates
    std::string certificate_dir(const std::string& name) const;  // <root>/<name>
    std::string accounts_dir() const;                            // <state_dir>/accounts
    std::string ledger_path() const;                             // <state_dir>/ledger.sqlite
    std::string lock_path() const;                               // <state_dir>/lock

    // Stores a new version and makes it current; returns its version name
    // (compact UTC issue time + "-" + first 8 hex of the leaf's SHA-256).
    // Refuses material whose key does not match the certificate.
    core::Result<std::string> add_version(const std::string& cert, const IssuedMaterial& m,
                                          core::TimePoint issued_at);

    std::optional<std::string> current_version(const std::string& cert) const;
    std::optional<StoredVersion> current(const std::string& cert) const;
    std::vector<std::string> versions(const std::string& cert) const;  // oldest → newest
    core::Result<StoredVersion> load_version(const std::string& cert,
                                             const std::string& version) const;
    core::Result<std::string> read_private_key(const std::string& cert,
                                               const std::string& version) const;
    // Keeps the newest `keep` (at least 1) versions and always the current one.
    core::Status prune(const std::string& cert, int keep);
    std::vector<std::string> certificate_names() const;  // sorted

private:
    explicit Store(std::string state_dir) : m_state_dir(std::move(state_dir)) {}
    std::string m_state_dir;
};

// Names become path components: reject anything that could escape the store.
bool is_safe_name(const std::string& name);

}  // namespace certfleet::state
