// deploy_version and rollback: the order of the steps. The steps themselves
// live in deploy_steps.cpp (files and links), adopt.cpp and activate.cpp.
#include "distribute/deploy.hpp"

#include <algorithm>
#include <cstdlib>
#include <utility>

#include "core/crypto.hpp"
#include "core/enum_names.hpp"
#include "distribute/deploy_internal.hpp"
#include "distribute/tls_probe.hpp"

namespace certfleet::distribute {

using core::ErrorKind;
using core::fail;
using core::Result;
using core::Status;
using namespace detail;

namespace {

constexpr core::EnumNames<DeployResult> kDeployResultNames[] = {
    {DeployResult::Deployed, "deployed"},      {DeployResult::Unchanged, "unchanged"},
    {DeployResult::RolledBack, "rolled_back"}, {DeployResult::Failed, "failed"},
    {DeployResult::Skipped, "skipped"},        {DeployResult::Planned, "planned"},
    {DeployResult::Pinned, "pinned"},          {DeployResult::NotStarted, "not_started"},
};

}  // namespace

std::string_view deploy_result_name(DeployResult result) {
    return core::enum_name(kDeployResultNames, result, "failed");
}

std::optional<DeployResult> parse_deploy_result(std::string_view name) {
    return core::enum_from_name(kDeployResultNames, name);
}

namespace {

// A host whose clock is further off than this gets a warning.
constexpr core::Seconds kClockTolerance{5 * 60};

struct MaterialFacts {
    ServedIdentity identity;
    core::TimePoint not_before, not_after;
};

// One path component: it is joined under cert_root, so no traversal.
bool valid_name(const std::string& name) {
    return !name.empty() && !name.starts_with('.') && name.find('/') == std::string::npos &&
           name.find('\0') == std::string::npos;
}

// Envoy's rule: new material is validated before it may replace the old,
// here before the host is even contacted.
Result<MaterialFacts> check_material(const Material& m) {
    if (!valid_name(m.cert_name) || !valid_name(m.version)) {
        return fail(ErrorKind::Config, "invalid certificate or version name \"" + m.cert_name +
                                           "\" / \"" + m.version + "\"");
    }
    auto bad = [&](const std::string& what) {
        return fail(
            ErrorKind::Config,
            "version " + m.version + " of " + m.cert_name + " is unusable: " + what,
            "the manager's copy is damaged; issue a new one with `certfleet issue --force " +
                m.cert_name + "`");
    };
    auto info = core::parse_certificate_pem(m.cert_pem);
    if (!info) {
        return bad(info.error().message);
    }
    MaterialFacts facts{identity_of(*info), info->not_before, info->not_after};
    if (!m.serial_hex.empty() && core::canonical_serial(m.serial_hex) != facts.identity.serial) {
        return bad("its certificate has serial " + facts.identity.serial + ", not " + m.serial_hex);
    }
    const auto full = core::split_pem_certificates(m.fullchain_pem);
    const auto leaf = core::split_pem_certificates(m.cert_pem);
    if (full.empty() || leaf.empty() || full.front() != leaf.front()) {
        return bad("fullchain.pem does not start with cert.pem");
    }
    auto key = core::PrivateKey::from_pem(m.key_pem);
    if (!key) {
        return bad("private key: " + key.error().message);
    }
    auto match = core::key_matches_certificate(*key, m.cert_pem);
    if (!match || !*match) {
        return bad("the private key does not match the certificate");
    }
    return facts;
}

Status check_target(const HostTarget& host) {
    if (!host.cert_root.starts_with('/')) {
        return fail(ErrorKind::Config, host.host_name + ": cert_root \"" + host.cert_root +
                                           "\" is not an absolute path");
    }
    if (host.verify.enabled &&
        (host.verify.address.empty() || host.verify.port <= 0 || host.verify.port > 65535)) {
        return fail(ErrorKind::Config, host.host_name + ": verify needs an address and a port",
                    "set verify.address and verify.port, or verify.enabled=false");
    }
    return {};
}

// A host with a wrong clock considers a fresh certificate not yet valid (or
// an old one still fine): warn when it is off, refuse when the new
// certificate would look invalid there. The host's time is the mtime of the
// key file just uploaded: no remote process (a `date` would cost a login
// shell). On a cert_root mounted over NFS that is the file server's clock.
Status check_clock(Run& r, const MaterialFacts& facts, core::TimePoint host_time) {
    const auto manager =
        std::chrono::time_point_cast<core::Seconds>(std::chrono::system_clock::now());
    const auto skew = host_time - manager;
    if (std::chrono::abs(skew) <= kClockTolerance) {
        return {};
    }
    const std::string off = "the clock on " + r.host.host_name + " is " +
                            core::format_duration(std::chrono::abs(skew)) +
                            (skew.count() > 0 ? " ahead of" : " behind") + " the manager's (" +
                            core::format_rfc3339(host_time) + ")";
    if (host_time < facts.not_before || host_time > facts.not_after) {
        return fail(
            ErrorKind::Generic,
            off + ": the new certificate would not be valid there; nothing was swapped",
            "fix time synchronisation (NTP) on " + r.host.host_name + ", then deploy again");
    }
    r.warn(off + "; fix time synchronisation (NTP)");
    return {};
}

// Checks space and writability where the files will go, then creates the
// missing directories. Nothing on the host changes unless the checks pass.
Status prepare_dirs(Run& r, std::uint64_t bytes) {
    std::vector<std::string> missing;
    std::string path = r.paths.versions;
    for (;;) {
        auto info = r.t.stat(path);
        if (!info) {
            return info.failure();
        }
        if (info->exists) {
            break;
        }
        missing.push_back(path);
        const auto slash = path.rfind('/');
        path = slash == 0 || slash == std::string::npos ? "/" : path.substr(0, slash);
    }
    auto space = r.t.space(path);
    if (!space) {
        return space.failure();
    }
    if (space->read_only) {
        return fail(ErrorKind::Io,
                    r.host.host_name + ": cert_root " + r.host.cert_root +
                        " is on a read-only file system; nothing was changed",
                    "remount it read-write (a kernel remounts after disk errors: check dmesg), "
                    "then deploy again");
    }
    if (space->available_bytes < r.host.min_free_bytes + bytes) {
        return fail(ErrorKind::Io,
                    r.host.host_name + ": not enough free space under " + r.host.cert_root + " (" +
                        std::to_string(space->available_bytes) + " bytes available, " +
                        std::to_string(bytes) + " needed plus a reserve of " +
                        std::to_string(r.host.min_free_bytes) + "); nothing was changed",
                    "free space on the host, then deploy again");
    }
    for (auto it = missing.rbegin(); it != missing.rend(); ++it) {
        if (auto s = r.t.make_dir(*it, kDirMode); !s) {
            return s;
        }
        if (auto s = apply_group(r, *it); !s) {
            return s;
        }
        // The new entry is durable in its parent before anything goes into
        // it: a crash cannot leave files whose directory vanished.
        const auto slash = it->rfind('/');
        if (auto s = r.t.fsync_dir(slash == 0 ? "/" : it->substr(0, slash)); !s) {
            return s;
        }
        r.step("created " + *it);
    }
    return {};
}

// The version is current and its links are in place: Unchanged if it is
// served (or, unverified, if its activation finished), else the caller redoes
// test, reload and verify.
bool already_done(Run& r, const Material& m, const ServedIdentity& expected) {
    if (!r.host.verify.enabled) {
        if (read_marker(r) == m.version) {
            r.out.result = DeployResult::Unchanged;
            r.step("versions/" + m.version + " is already current");
            return true;
        }
        r.step("versions/" + m.version +
               " is current but its activation never finished: testing and reloading again");
        return false;
    }
    const auto& v = r.host.verify;
    auto served = probe_tls(v.address, v.port, v.server_name, r.host.verify_timeout);
    if (served && expected.matches(served->info)) {
        r.out.result = DeployResult::Unchanged;
        r.out.served_serial = expected.serial;
        r.step("versions/" + m.version + " is already current and served");
        return true;
    }
    r.step("versions/" + m.version + " is already current, but " +
           (served ? "the host serves serial " + served->info.serial_hex : served.error().message) +
           ": testing, reloading and verifying again");
    return false;
}

// What a failure restores: `current`, unless a killed run left it
// unfinished; then the last version whose activation finished.
std::optional<std::string> fallback_of(Run& r, const Layout& layout) {
    const std::string current = layout.current_version();
    if (current.empty()) {
        return layout.current_target;
    }
    auto finished = finished_version(r, layout.versions);
    if (!finished || *finished == current) {
        return layout.current_target;
    }
    r.step("versions/" + current + " never finished its activation; a failure restores " +
           "versions/" + *finished + ", the last one that did");
    return "versions/" + *finished;
}

DeployOutcome& failed_at(DeployOutcome& out, const std::string& what, const core::Error& e,
                         std::string hint) {
    failed(out, e);
    out.error = what + ": " + e.message;
    if (out.hint.empty()) {
        out.hint = std::move(hint);
    }
    return out;
}

}  // namespace

DeployOutcome deploy_version(Transport& t, const HostTarget& host, const Material& m, bool force) {
    DeployOutcome out;
    Run r{t, host, CertPaths(host.cert_root, m.cert_name), out};
    auto facts = check_material(m);
    if (!facts) {
        return failed(out, facts.error());
    }
    if (auto s = check_target(host); !s) {
        return failed(out, s.error());
    }
    if (auto s = t.connect(); !s) {
        return failed(out, s.error());
    }
    r.step("connected: " + t.describe());
    if (auto s = check_trusted_dirs(t, host.host_name, host.cert_root, r.paths); !s) {
        return failed(out, s.error());
    }
    auto layout = read_layout(t, r.paths);
    if (!layout) {
        return failed(out, layout.error());
    }
    const std::string current = layout->current_version();
    const bool hand_managed = layout->hand_managed();
    out.version = current;

    if (!force && current == m.version && !hand_managed && layout->links_complete() &&
        already_done(r, m, facts->identity)) {
        return out;
    }

    FileSet files;
    files.files = {m.cert_pem, m.chain_pem, m.fullchain_pem, m.key_pem};
    std::uint64_t needed = files.total_size();
    if (hand_managed) {
        for (const auto& s : layout->stable) {
            needed += s.info.is_regular ? s.info.size : 16 * 1024;
        }
    }
    if (auto s = prepare_dirs(r, needed); !s) {
        return failed(out, s.error());
    }

    std::optional<std::string> previous = layout->current_target;
    std::optional<std::string> fallback = hand_managed ? previous : fallback_of(r, *layout);
    if (hand_managed) {
        auto adopted = adopt(r, *layout);
        if (!adopted) {
            return failed_at(out, "adoption of the hand-managed files failed", adopted.error(),
                             "the old files still serve; fix the cause and deploy again");
        }
        previous = "versions/" + *adopted;
        fallback = previous;
        out.version = *adopted;
    }

    const bool is_current = !hand_managed && current == m.version;
    bool clock_refused = false;
    const HostTimeCheck clock = [&](core::TimePoint host_time) {
        auto s = check_clock(r, *facts, host_time);
        clock_refused = !s;
        return s;
    };
    if (auto s = write_version(r, m.version, files, is_current, clock); !s) {
        if (clock_refused) {
            return failed(out, s.error());
        }
        return failed_at(
            out, "upload of versions/" + m.version + " to " + host.host_name + " failed", s.error(),
            "nothing was swapped (current is still " +
                (out.version.empty() ? std::string("unset") : out.version) +
                "); the next deploy removes the partial upload");
    }

    activate(r, previous, fallback, m.version, facts->identity);
    if (out.result == DeployResult::Deployed) {
        write_marker(r, m.version);
        prune(r, m.version, fallback ? version_of_target(*fallback) : std::string());
    }
    return out;
}

namespace {

Status check_rollback_request(const HostTarget& host, const std::string& cert_name,
                              const std::string& version) {
    if (!valid_name(cert_name) || (!version.empty() && !valid_name(version))) {
        return fail(ErrorKind::Config, "invalid certificate or version name \"" + cert_name +
                                           "\" / \"" + version + "\"");
    }
    return check_target(host);
}

// "versions on HOST: A, B": the hint of every refusal to roll back.
std::string version_listing(const HostTarget& host, const Layout& layout) {
    std::string on_host;
    for (const auto& v : layout.versions) {
        on_host += (on_host.empty() ? "" : ", ") + v;
    }
    return "versions on " + host.host_name + ": " +
           (on_host.empty() ? std::string("none") : on_host);
}

// `requested`, which must be on the host, or else the newest version older
// than the current one.
Result<std::string> rollback_target(const HostTarget& host, const std::string& cert_name,
                                    const Layout& layout, const std::string& requested,
                                    const std::string& listing) {
    const std::string current = layout.current_version();
    if (layout.hand_managed() || current.empty()) {
        return fail(ErrorKind::Generic,
                    host.host_name + " has no version of " + cert_name +
                        " managed by certfleet to roll back from",
                    "deploy first (hand-managed files are adopted then)");
    }
    if (requested.empty()) {
        auto it = std::lower_bound(layout.versions.begin(), layout.versions.end(), current);
        if (it == layout.versions.begin()) {
            return fail(
                ErrorKind::Generic,
                "no version older than " + current + " of " + cert_name + " on " + host.host_name,
                listing);
        }
        return *std::prev(it);
    }
    if (!std::binary_search(layout.versions.begin(), layout.versions.end(), requested)) {
        return fail(ErrorKind::Config,  // the operator's input, not the host, is wrong
                    "version " + requested + " of " + cert_name + " is not on " + host.host_name,
                    listing);
    }
    return requested;
}

// The old version must still be a usable pair before it replaces anything.
// Returns its certificate's serial.
Result<ServedIdentity> check_old_version(Run& r, const std::string& target,
                                         const std::string& listing) {
    const std::string where = "versions/" + target + " on " + r.host.host_name;
    auto files = read_version(r, r.paths.version_dir(target));
    if (!files) {
        const core::Error& e = files.error();
        return fail(e.kind, where + " is incomplete: " + e.message,
                    e.hint.empty() ? listing : e.hint);
    }
    auto info = core::parse_certificate_pem(files->files[kCert]);
    auto key = core::PrivateKey::from_pem(files->files[kKey]);
    auto match = key ? core::key_matches_certificate(*key, files->files[kCert])
                     : Result<bool>(key.failure());
    if (!info || !match || !*match) {
        return fail(ErrorKind::Generic, where + " is damaged: its key and certificate do not match",
                    listing);
    }
    return identity_of(*info);
}

Status check_cert_root_writable(Run& r) {
    auto space = r.t.space(r.paths.dir);
    if (space && space->read_only) {
        return fail(ErrorKind::Io, r.host.host_name + ": cert_root " + r.host.cert_root +
                                       " is on a read-only file system; nothing was changed");
    }
    return {};
}

}  // namespace

DeployOutcome rollback(Transport& t, const HostTarget& host, const std::string& cert_name,
                       const std::string& version, const RollbackGuard& guard) {
    DeployOutcome out;
    Run r{t, host, CertPaths(host.cert_root, cert_name), out};
    if (auto s = check_rollback_request(host, cert_name, version); !s) {
        return failed(out, s.error());
    }
    if (auto s = t.connect(); !s) {
        return failed(out, s.error());
    }
    r.step("connected: " + t.describe());
    if (auto s = check_trusted_dirs(t, host.host_name, host.cert_root, r.paths); !s) {
        return failed(out, s.error());
    }
    auto layout = read_layout(t, r.paths);
    if (!layout) {
        return failed(out, layout.error());
    }
    out.version = layout->current_version();
    const std::string listing = version_listing(host, *layout);
    auto target = rollback_target(host, cert_name, *layout, version, listing);
    if (!target) {
        out.no_such_version = target.error().kind == ErrorKind::Config;
        return failed(out, target.error());
    }
    if (*target == out.version) {
        out.result = DeployResult::Unchanged;
        r.step("versions/" + *target + " is already current");
        return out;
    }
    auto identity = check_old_version(r, *target, listing);
    if (!identity) {
        return failed(out, identity.error());
    }
    if (guard) {
        if (auto allowed = guard(*target, identity->serial); !allowed) {
            out.refused = true;
            return failed(out, allowed.error());
        }
    }
    if (auto s = check_cert_root_writable(r); !s) {
        return failed(out, s.error());
    }

    activate(r, layout->current_target, layout->current_target, *target, *identity);
    if (out.result == DeployResult::Deployed) {
        write_marker(r, *target);
    } else {
        // The version current before is back (or the host needs a look): for a
        // rollback that is a failure, not a "rolled back".
        out.result = DeployResult::Failed;
        out.error = "rollback to " + *target + " failed: " + out.error;
    }
    return out;
}
}  // namespace certfleet::distribute
