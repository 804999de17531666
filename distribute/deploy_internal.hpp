// Pieces of the deployment transaction shared by deploy.cpp, deploy_steps.cpp,
// activate.cpp and adopt.cpp. Not part of the module's API.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <spdlog/spdlog.h>

#include "core/result.hpp"
#include "core/time.hpp"
#include "distribute/deploy.hpp"
#include "distribute/transport.hpp"

namespace certfleet::distribute::detail {

// Index order of every per-version file array below.
inline constexpr std::array<const char*, 4> kFileNames = {"cert.pem", "chain.pem", "fullchain.pem",
                                                          "privkey.pem"};
inline constexpr std::size_t kCert = 0, kChain = 1, kFullchain = 2, kKey = 3;
inline constexpr mode_t kDirMode = 0750;
// Certificates are public, but docs/host-layout.md says nothing is group- or
// world-readable unless configured; key_group opens them to the server's group.
inline constexpr mode_t kCertMode = 0640;
inline constexpr std::size_t kMaxPemBytes = std::size_t{1} << 20;
// <dir>/.deployed names the version whose activation last finished (swap, test,
// reload, verify): a run cut off after the swap is redone, not "unchanged".
inline constexpr const char* kMarker = ".deployed";
// Sorts before any real version ("20261121T103000Z-…").
inline constexpr const char* kAdoptedPrefix = "00000000T000000Z-adopted-";

// The four files of one version. The key copy is wiped when it goes away.
struct FileSet {
    std::array<std::string, 4> files;

    FileSet() = default;
    FileSet(const FileSet&) = default;
    FileSet(FileSet&&) noexcept = default;
    FileSet& operator=(const FileSet&) = default;
    FileSet& operator=(FileSet&&) noexcept = default;
    ~FileSet();

    std::uint64_t total_size() const;
    bool operator==(const FileSet& other) const { return files == other.files; }
};

struct CertPaths {
    std::string dir;       // <cert_root>/<cert>
    std::string versions;  // <dir>/versions
    std::string current;   // <dir>/current

    CertPaths(std::string cert_root, const std::string& cert_name);
    std::string version_dir(const std::string& version) const { return versions + "/" + version; }
    std::string tmp_dir(const std::string& version) const { return versions + "/.tmp-" + version; }
    std::string stable(std::size_t i) const { return dir + "/" + kFileNames[i]; }
};

struct StableName {
    FileInfo info;
    std::string link_target;  // when info.is_symlink
};

// What is under <cert_root>/<cert> on the host.
struct Layout {
    bool dir_exists = false;
    std::optional<std::string> current_target;  // the raw link text
    std::array<StableName, 4> stable;
    std::vector<std::string> versions;     // sorted, no hidden entries
    std::vector<std::string> temporaries;  // ".tmp-*" leftovers

    // The stable name is our link to current/<same name>.
    bool ours(std::size_t i) const;
    // fullchain.pem or privkey.pem exists and is not our link (docs/host-layout.md, adoption).
    bool hand_managed() const;
    bool links_complete() const;
    std::string current_version() const;  // "" when `current` is missing or foreign
};

core::Result<Layout> read_layout(Transport& t, const CertPaths& paths);

// Like OpenSSH's StrictModes: cert_root, <cert> and versions/ (those that
// exist) must be real directories, owned by root or the login user, that
// nobody else may write to; else another user on the host could change what
// the server loads, and the host is refused before anything is read or
// written. `cert_root` as configured (no trailing slash needed).
core::Status check_trusted_dirs(Transport& t, const std::string& host_name,
                                const std::string& cert_root, const CertPaths& paths);

// "versions/X" -> "X"; anything else -> "".
std::string version_of_target(const std::string& link_target);

// One deployment or rollback in progress on one host.
struct Run {
    Transport& t;
    const HostTarget& host;
    CertPaths paths;
    DeployOutcome& out;

    // A step about to start, logged at debug level only: with -v the log
    // shows where a run that was cut off stopped.
    void starting(const std::string& text) const {
        spdlog::debug("{}: {}: {}", host.host_name, paths.dir, text);
    }
    // A finished step: kept in out.steps and logged at debug level (-v).
    void step(std::string text) {
        starting(text);
        out.steps.push_back(std::move(text));
    }
    void warn(std::string text);
};

// Fills `out` for a failure and returns it.
DeployOutcome& failed(DeployOutcome& out, const core::Error& e);

core::Result<FileSet> read_version(Run& r, const std::string& dir);
// Told the host's time (the mtime of a file just written there) before an
// upload becomes a version; a failure removes the upload.
using HostTimeCheck = std::function<core::Status(core::TimePoint)>;

// Puts `files` under versions/<version> via versions/.tmp-<version>, checked
// by reading back. An identical existing copy is reused (and not timed).
core::Status write_version(Run& r, const std::string& version, const FileSet& files,
                           bool is_current, const HostTimeCheck& check_host_time = {});
// A fresh symlink <dir>/.<name>.tmp -> `target`, and the rename that puts it
// over <dir>/<name>. Renames are batched (Transport::rename_then_run): over
// SSH, one remote process swaps `current`, repairs the links and runs the
// config test.
core::Result<RenameStep> stage_link(Run& r, const std::string& name, const std::string& target);
// stage_link, then the rename on its own.
core::Status swap_link(Run& r, const std::string& name, const std::string& target);
// The staged renames that make each stable name <name> -> current/<name>
// (none when the layout's links are ours already).
core::Result<std::vector<RenameStep>> stage_links(Run& r, const Layout& layout);
core::Status apply_group(Run& r, const std::string& path);

// Takes over hand-managed files as a version and makes the stable names our
// links without ever changing what they resolve to. Returns the version name.
core::Result<std::string> adopt(Run& r, const Layout& layout);

// The certificate a host must serve once a version is active. The serial
// names it for people; the SHA-256 fingerprint of the whole certificate is
// what decides (a serial alone does not tell two certificates apart, e.g.
// from two CAs, or a test CA that reuses serials).
struct ServedIdentity {
    std::string serial;       // canonical (core::canonical_serial)
    std::string fingerprint;  // lowercase hex SHA-256 of the DER
    bool matches(const core::CertificateInfo& served) const;
};
ServedIdentity identity_of(const core::CertificateInfo& info);

// Activates `version` (swap, test, reload, verify) and sets r.out's result,
// version, served_serial, error and hint. `previous_target` is what
// `current` points at now; on failure `fallback` (normally the same; the
// last finished version when a killed run left `current` unfinished) is
// made current again.
void activate(Run& r, const std::optional<std::string>& previous_target,
              const std::optional<std::string>& fallback, const std::string& version,
              const ServedIdentity& expected);

// What <dir>/.deployed says (nullopt: missing or torn).
std::optional<std::string> read_marker(Run& r);
// The version named by <dir>/.deployed when it is still on the host
// (`versions` is the layout's list), else nullopt.
std::optional<std::string> finished_version(Run& r, const std::vector<std::string>& versions);

// Records that `version`'s activation finished (a failure is only a warning).
void write_marker(Run& r, const std::string& version);
// Keeps the newest keep_versions plus `current` and `previous`; removes
// leftovers of interrupted runs (versions/.tmp-*, <dir>/.*.tmp).
void prune(Run& r, const std::string& current_version, const std::string& previous_version);

}  // namespace certfleet::distribute::detail
