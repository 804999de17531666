// Audit classification (docs/commands.md `audit`, docs/json.md kinds): given what was found on a
// host, or in the manager's own store, and what the manager knows (inventory,
// store, ledger), name every problem with the next step. Plain data in, plain
// data out: app/audit_scan.cpp gathers the observations over a Transport, so
// every rule here is unit-tested without a host.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <sys/types.h>
#include <vector>

#include "core/pem_scan.hpp"
#include "core/time.hpp"
#include "inventory/model.hpp"
#include "state/ledger.hpp"

namespace certfleet::audit {

// The pseudo host name of the manager's store in findings.
inline constexpr const char* kStoreHost = "@store";

struct ObservedFile {
    std::string path;  // real path (symlinks followed)
    mode_t mode = 0;   // permission bits
    uid_t uid = 0;
    gid_t gid = 0;
    core::PemScan pem;
};

// What a TLS handshake to one endpoint returned.
struct ObservedServe {
    std::string endpoint;  // "127.0.0.1:443 (SNI www.example.org)"
    std::optional<core::CertificateInfo> served;
    std::string error;  // when nothing was served
};

// A certificate (and key) the web server loads, from its configuration dump.
struct ObservedUse {
    std::string certificate;  // real path; "" when it could not be resolved
    std::string key;          // real path; "" when none or unresolved
    std::string source;       // "/etc/nginx/sites-enabled/shop:12"
    std::vector<std::string> server_names;
    std::vector<ObservedServe> serves;  // one per TLS endpoint of its server
};

// <cert_root>/<name> laid out by certfleet (docs/host-layout.md).
struct ObservedCertDir {
    std::string name;
    std::string path;
    std::optional<std::string> current_version;  // where `current` points
    std::string current_cert;                    // real path of its cert.pem ("" if absent)
    std::string current_key;                     // real path of its privkey.pem ("" if absent)
    std::string incomplete;                      // "versions/X lacks privkey.pem" when so
    std::string untrusted;  // why another user could change it (distribute::check_trusted_dirs)
    bool unread = false;    // its cert.pem is there but could not be read (noted in `unchecked`)
};

struct HostObservation {
    std::string host;  // inventory name, or kStoreHost
    std::string cert_root;
    std::map<std::string, ObservedFile> files;  // every PEM file seen, by real path
    std::vector<ObservedUse> uses;
    std::vector<ObservedCertDir> cert_dirs;
    std::map<std::string, ObservedServe> verified;  // certificate → its `verify` endpoint
    std::set<uid_t> allowed_key_owners;             // root and the deploying user
    std::optional<gid_t> key_group_gid;             // of the host's key_group, when resolved
    std::vector<std::string> unchecked;             // what could not be looked at, and why
};

// What the manager knows: the store's current versions and every serial it issued.
struct ManagedState {
    std::map<std::string, std::string> current_serial;   // certificate → serial
    std::map<std::string, std::string> current_version;  // certificate → version
    std::map<std::string, std::string> serial_owner;     // serial → certificate (all versions)
    std::map<std::pair<std::string, std::string>, state::EventRecord> host_events;  // (cert, host)
    // host → certificates deployed to it (certificates_by_host, built once per audit)
    std::map<std::string, std::vector<std::string>> certificates_on_host;
};

// The finding kinds of docs/json.md; the names are what `audit` prints and puts in JSON,
// and part of the notices' keys.
enum class FindingKind {
    Orphan,          // "orphan": not (or no longer) deployed there by the inventory
    Stale,           // "stale": an older certificate of ours
    Expired,         // "expired"
    Expiring,        // "expiring"
    KeyExposed,      // "key_exposed": a key readable beyond what the host allows
    KeyMismatch,     // "key_mismatch": a key that does not belong to its certificate
    ServedMismatch,  // "served_mismatch": what the server sends is not what it should
    Missing,         // "missing": a certificate the inventory deploys there is absent
    UntrustedDir,    // "untrusted_dir": a directory another user could write to (StrictModes)
};

std::string_view finding_kind_name(FindingKind kind);
// nullopt for any other name.
std::optional<FindingKind> parse_finding_kind(std::string_view name);

struct AuditFinding {
    std::string host;
    FindingKind kind = FindingKind::Orphan;
    std::string path;
    std::string subject;
    std::string serial;
    std::optional<core::TimePoint> not_after;
    std::string certificate;  // the inventory certificate concerned, when there is one
    bool loaded = false;      // the web server loads it (or the directory it is in)
    std::string detail;       // what is wrong
    std::string next_step;    // what to do about it
};

// Every finding on one host, at most one per (kind, path), sorted by path.
std::vector<AuditFinding> classify_host(const inventory::Inventory& inventory,
                                        const ManagedState& managed, const HostObservation& host,
                                        core::TimePoint now);

// The manager's store (host = kStoreHost, cert_root = <state_dir>/certificates):
// certificates no longer in the inventory, stray keys, exposed keys, pairs
// that do not belong together.
std::vector<AuditFinding> classify_store(const inventory::Inventory& inventory,
                                         const HostObservation& store);

// Key files readable beyond what the host allows (key_mode, key_group), or
// owned by someone other than root and the deploying user.
void find_exposed_keys(const HostObservation& host, mode_t key_mode,
                       std::vector<AuditFinding>& out);

// The certificate a server presents from this file: its first one, whatever
// its basic constraints.
const core::PemCertificate* leaf_of(const ObservedFile& file);

}  // namespace certfleet::audit
