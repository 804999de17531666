// The host-side building blocks of the transaction: reading the layout,
// uploading a version beside the live one, swapping links, pruning.
#include <algorithm>
#include <cctype>
#include <cstdio>
#include <set>

#include <openssl/crypto.h>

#include "core/crypto.hpp"
#include "core/strings.hpp"
#include "distribute/deploy_internal.hpp"

namespace certfleet::distribute::detail {

using core::ErrorKind;
using core::fail;
using core::Result;
using core::Status;

FileSet::~FileSet() {
    std::string& key = files[kKey];
    if (!key.empty()) {
        OPENSSL_cleanse(key.data(), key.size());
    }
}

std::uint64_t FileSet::total_size() const {
    std::uint64_t n = 0;
    for (const auto& f : files) {
        n += f.size();
    }
    return n;
}

CertPaths::CertPaths(std::string cert_root, const std::string& cert_name) {
    while (cert_root.size() > 1 && cert_root.back() == '/') {
        cert_root.pop_back();
    }
    dir = (cert_root == "/" ? "" : cert_root) + "/" + cert_name;
    versions = dir + "/versions";
    current = dir + "/current";
}

bool Layout::ours(std::size_t i) const {
    return stable[i].info.is_symlink &&
           stable[i].link_target == std::string("current/") + kFileNames[i];
}

bool Layout::hand_managed() const {
    return (stable[kFullchain].info.exists && !ours(kFullchain)) ||
           (stable[kKey].info.exists && !ours(kKey));
}

bool Layout::links_complete() const {
    for (std::size_t i = 0; i < kFileNames.size(); ++i) {
        if (!ours(i)) {
            return false;
        }
    }
    return true;
}

std::string Layout::current_version() const {
    return current_target ? version_of_target(*current_target) : std::string();
}

std::string version_of_target(const std::string& link_target) {
    constexpr std::string_view prefix = "versions/";
    if (!link_target.starts_with(prefix) || link_target.size() == prefix.size() ||
        link_target.find('/', prefix.size()) != std::string::npos) {
        return {};
    }
    return link_target.substr(prefix.size());
}

void Run::warn(std::string text) {
    out.steps.push_back("warning: " + text);
    out.warnings.push_back(std::move(text));
}

DeployOutcome& failed(DeployOutcome& out, const core::Error& e) {
    out.result = DeployResult::Failed;
    out.error = e.message;
    out.hint = e.hint;
    return out;
}

namespace {

// What is wrong with `info` as a directory certfleet relies on; "" if nothing.
std::string untrusted_because(const FileInfo& info, std::optional<uid_t> me) {
    if (info.is_symlink) {
        return "is a symbolic link";
    }
    if (!info.is_dir) {
        return "is not a directory";
    }
    if (me && info.uid != 0 && info.uid != *me) {
        return "is owned by uid " + std::to_string(info.uid) +
               ", neither root nor the login user (uid " + std::to_string(*me) + ")";
    }
    if ((info.mode & 022) != 0) {
        char mode[8];
        std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(info.mode & 07777));
        return std::string("is writable by its group or others (mode ") + mode + ")";
    }
    return {};
}

}  // namespace

Status check_trusted_dirs(Transport& t, const std::string& host_name, const std::string& cert_root,
                          const CertPaths& paths) {
    std::string root = cert_root;
    while (root.size() > 1 && root.back() == '/') {
        root.pop_back();
    }
    const std::optional<uid_t> me = t.user_id();
    for (const std::string& path : {root, paths.dir, paths.versions}) {
        auto info = t.stat(path);
        if (!info) {
            return info.failure();
        }
        if (!info->exists) {
            continue;  // certfleet creates it (0750)
        }
        if (const std::string why = untrusted_because(*info, me); !why.empty()) {
            return fail(ErrorKind::Config,
                        host_name + ": " + path + " " + why +
                            ": another user could change what the server loads, so certfleet "
                            "does not trust it; nothing was changed",
                        "make " + path +
                            " a real directory owned by root (or the login user) and "
                            "writable by nobody else (chown root; chmod go-w), then deploy again");
        }
    }
    return {};
}

Result<Layout> read_layout(Transport& t, const CertPaths& paths) {
    Layout layout;
    auto dir = t.stat(paths.dir);
    if (!dir) {
        return dir.failure();
    }
    if (!dir->exists) {
        return layout;
    }
    if (!dir->is_dir) {
        return fail(ErrorKind::Io, paths.dir + " on the host is not a directory",
                    "move it away: certfleet manages this path");
    }
    layout.dir_exists = true;

    auto current = t.stat(paths.current);
    if (!current) {
        return current.failure();
    }
    if (current->is_symlink) {
        auto target = t.read_link(paths.current);
        if (!target) {
            return target.failure();
        }
        layout.current_target = *target;
    } else if (current->exists) {
        return fail(ErrorKind::Io, paths.current + " on the host is not a symlink",
                    "certfleet swaps `current` by renaming a symlink over it; move it away");
    }

    for (std::size_t i = 0; i < kFileNames.size(); ++i) {
        auto info = t.stat(paths.stable(i));
        if (!info) {
            return info.failure();
        }
        layout.stable[i].info = *info;
        if (info->is_symlink) {
            auto target = t.read_link(paths.stable(i));
            if (!target) {
                return target.failure();
            }
            layout.stable[i].link_target = *target;
        }
    }

    auto versions = t.stat(paths.versions);
    if (!versions) {
        return versions.failure();
    }
    if (versions->is_dir) {
        auto names = t.list_dir(paths.versions);
        if (!names) {
            return names.failure();
        }
        for (auto& name : *names) {
            if (name == "." || name == "..") {
                continue;
            }
            if (name.starts_with(".tmp-")) {
                layout.temporaries.push_back(std::move(name));
            } else if (!name.starts_with(".")) {
                layout.versions.push_back(std::move(name));
            }
        }
        std::sort(layout.versions.begin(), layout.versions.end());
    }
    return layout;
}

Result<FileSet> read_version(Run& r, const std::string& dir) {
    FileSet set;
    for (std::size_t i = 0; i < kFileNames.size(); ++i) {
        auto content = r.t.read_file(dir + "/" + kFileNames[i], kMaxPemBytes);
        if (!content) {
            return content.failure();
        }
        set.files[i] = std::move(content).value();
    }
    return set;
}

Status apply_group(Run& r, const std::string& path) {
    if (!r.host.key_group) {
        return {};
    }
    return r.t.set_group(path, *r.host.key_group);
}

namespace {

std::string octal(mode_t mode) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(mode & 07777));
    return buf;
}

Status upload(Run& r, const std::string& tmp, const FileSet& files) {
    if (auto s = r.t.make_dir(tmp, kDirMode); !s) {
        return s;
    }
    for (std::size_t i = 0; i < kFileNames.size(); ++i) {
        const std::string path = tmp + "/" + kFileNames[i];
        const mode_t mode = i == kKey ? r.host.key_mode : kCertMode;
        // Exclusive: the directory is new, so anything already at `path`
        // was put there by someone else.
        if (auto s = r.t.create_file(path, files.files[i], mode); !s) {
            return s;
        }
        if (auto s = apply_group(r, path); !s) {
            return s;
        }
    }
    // The directory's group last: until then only its owner can reach the files.
    if (auto s = apply_group(r, tmp); !s) {
        return s;
    }
    return r.t.fsync_dir(tmp);
}

// What landed must be byte for byte what was sent, and the landed key must
// still match the landed certificate: this is the copy the server will load.
// Returns the landed key's lstat (its mtime is the host's clock).
Result<FileInfo> check_landed(Run& r, const std::string& tmp, const FileSet& sent) {
    auto landed = read_version(r, tmp);
    if (!landed) {
        return landed.failure();
    }
    for (std::size_t i = 0; i < kFileNames.size(); ++i) {
        if (landed->files[i] != sent.files[i]) {
            // Digests tell "truncated" from "different" at a glance; none for the key.
            const std::string detail =
                i == kKey
                    ? std::to_string(landed->files[i].size()) + " bytes instead of " +
                          std::to_string(sent.files[i].size())
                    : "sha256 " + core::hex_encode(core::sha256(landed->files[i])).substr(0, 16) +
                          "… instead of " +
                          core::hex_encode(core::sha256(sent.files[i])).substr(0, 16) + "…";
            return fail(ErrorKind::Io,
                        "read-back of " + tmp + "/" + kFileNames[i] + " on " + r.host.host_name +
                            " differs from what was sent (" + detail + ")",
                        "check the host's disk and file system");
        }
    }
    auto key = core::PrivateKey::from_pem(landed->files[kKey]);
    if (!key) {
        return key.failure();
    }
    auto match = core::key_matches_certificate(*key, landed->files[kCert]);
    if (!match || !*match) {
        return fail(ErrorKind::Io,
                    "uploaded key does not match the uploaded certificate on " + r.host.host_name);
    }
    auto key_info = r.t.stat(tmp + "/" + kFileNames[kKey]);
    if (!key_info) {
        return key_info.failure();
    }
    if ((key_info->mode & ~r.host.key_mode & 0777) != 0) {
        return fail(ErrorKind::Io,
                    "uploaded key on " + r.host.host_name + " has mode " + octal(key_info->mode) +
                        ", wider than key_mode " + octal(r.host.key_mode),
                    "the transport did not apply the file mode; report this as a bug");
    }
    return key_info;
}

}  // namespace

Status write_version(Run& r, const std::string& version, const FileSet& files, bool is_current,
                     const HostTimeCheck& check_host_time) {
    const std::string dir = r.paths.version_dir(version);
    auto existing = r.t.stat(dir);
    if (!existing) {
        return existing.failure();
    }
    if (existing->exists) {
        auto there = read_version(r, dir);
        if (there && *there == files) {
            r.step("versions/" + version + " already on the host with identical content: reused");
            return {};
        }
        if (is_current) {
            return fail(ErrorKind::Io,
                        "versions/" + version + " on " + r.host.host_name +
                            " is current but differs from the manager's copy",
                        "inspect " + dir +
                            " on the host; roll back to another version, remove it, "
                            "and deploy again");
        }
        if (auto s = r.t.remove_tree(dir); !s) {
            return s;
        }
        r.step("removed versions/" + version + ": incomplete or different from the manager's copy");
    }

    const std::string tmp = r.paths.tmp_dir(version);
    if (auto s = r.t.remove_tree(tmp); !s) {
        return s;
    }
    r.starting("uploading versions/" + version + " into " + tmp);
    auto s = upload(r, tmp, files);
    if (s) {
        auto landed = check_landed(r, tmp, files);
        s = !landed           ? Status(landed.failure())
            : check_host_time ? check_host_time(core::TimePoint{core::Seconds(landed->mtime)})
                              : Status{};
    }
    if (!s) {
        // Best effort: a dropped connection leaves it for the next run to remove.
        (void)r.t.remove_tree(tmp);
        return s;
    }
    if (s = r.t.rename(tmp, dir); !s) {
        return s;
    }
    if (s = r.t.fsync_dir(r.paths.versions); !s) {
        return s;
    }
    r.step("uploaded versions/" + version + " (" + std::to_string(files.total_size()) +
           " bytes, read back and compared, key matches certificate)");
    return {};
}

Result<RenameStep> stage_link(Run& r, const std::string& name, const std::string& target) {
    const std::string tmp = r.paths.dir + "/." + name + ".tmp";
    if (auto s = r.t.remove(tmp); !s) {
        return s.failure();
    }
    if (auto s = r.t.symlink(target, tmp); !s) {
        return s.failure();
    }
    return RenameStep{tmp, r.paths.dir + "/" + name};
}

Status swap_link(Run& r, const std::string& name, const std::string& target) {
    auto step = stage_link(r, name, target);
    if (!step) {
        return step.failure();
    }
    return r.t.rename(step->from, step->to);
}

Result<std::vector<RenameStep>> stage_links(Run& r, const Layout& layout) {
    std::vector<RenameStep> steps;
    for (std::size_t i = 0; i < kFileNames.size(); ++i) {
        if (layout.ours(i)) {
            continue;
        }
        if (layout.stable[i].info.is_dir) {
            return fail(ErrorKind::Io, r.paths.stable(i) + " on the host is a directory",
                        "move it away: certfleet manages this path");
        }
        auto step = stage_link(r, kFileNames[i], std::string("current/") + kFileNames[i]);
        if (!step) {
            return step.failure();
        }
        steps.push_back(std::move(step).value());
    }
    return steps;
}

namespace {

// "<version>\n", whole: a write cut off midway has no newline.
std::optional<std::string> read_marker_file(Run& r, const std::string& path) {
    auto text = r.t.read_file(path, 4096);
    if (!text || !text->ends_with('\n') || text->size() < 2) {
        return std::nullopt;
    }
    text->pop_back();
    return *text;
}

}  // namespace

std::optional<std::string> read_marker(Run& r) {
    const std::string path = r.paths.dir + "/" + kMarker;
    if (auto marker = read_marker_file(r, path)) {
        return marker;
    }
    // A run cut off between write_marker's remove and rename: finish that.
    auto marker = read_marker_file(r, path + ".tmp");
    if (marker) {
        (void)r.t.rename(path + ".tmp", path);
    }
    return marker;
}

std::optional<std::string> finished_version(Run& r, const std::vector<std::string>& versions) {
    auto marker = read_marker(r);
    if (!marker || !std::binary_search(versions.begin(), versions.end(), *marker)) {
        return std::nullopt;
    }
    return marker;
}

// Never torn: the new name is written beside the old one, which goes only
// once the new one is whole (SFTP v3 cannot rename over it, and a remote `mv`
// would cost a login shell); read_marker falls back to `.deployed.tmp`.
void write_marker(Run& r, const std::string& version) {
    const std::string path = r.paths.dir + "/" + kMarker;
    core::Status s = r.t.write_file(path + ".tmp", version + "\n", kCertMode);
    if (s) {
        s = r.t.remove(path);
    }
    if (s) {
        s = r.t.rename(path + ".tmp", path);
    }
    if (!s) {
        r.warn("cannot record the finished activation: " + s.error().message);
    }
}

void prune(Run& r, const std::string& current_version, const std::string& previous_version) {
    auto layout = read_layout(r.t, r.paths);
    if (!layout) {
        r.warn("not pruned: " + layout.error().message);
        return;
    }
    // Temporary links of a run cut off mid-swap (".current.tmp", ".privkey.pem.tmp").
    if (auto names = r.t.list_dir(r.paths.dir)) {
        for (const auto& name : *names) {
            // .deployed.tmp may be the only record left (see write_marker).
            if (name.size() > 5 && name.starts_with('.') && name.ends_with(".tmp") &&
                name != std::string(kMarker) + ".tmp") {
                if (auto s = r.t.remove(r.paths.dir + "/" + name); !s) {
                    r.warn("cannot remove " + name + ": " + s.error().message);
                }
            }
        }
    }
    for (const auto& tmp : layout->temporaries) {
        if (auto s = r.t.remove_tree(r.paths.versions + "/" + tmp); !s) {
            r.warn("cannot remove versions/" + tmp + ": " + s.error().message);
        } else {
            r.step("removed leftover versions/" + tmp);
        }
    }
    const auto& all = layout->versions;
    const std::size_t keep = static_cast<std::size_t>(std::max(1, r.host.keep_versions));
    std::set<std::string> kept(
        all.size() > keep ? all.end() - static_cast<long>(keep) : all.begin(), all.end());
    kept.insert(current_version);
    kept.insert(previous_version);
    for (const auto& v : all) {
        // An adopted version is the only copy of what the host served before
        // certfleet: the operator's way back, never pruned.
        if (kept.contains(v) || v.starts_with(kAdoptedPrefix)) {
            continue;
        }
        // Renamed out of sight first: a removal cut off midway (a kill, a lost
        // connection) leaves a ".tmp-" leftover the next run deletes, never a
        // version directory with half its files that rollback could pick.
        const std::string doomed = r.paths.versions + "/.tmp-pruned-" + v;
        if (auto s = r.t.rename(r.paths.version_dir(v), doomed); !s) {
            r.warn("cannot prune versions/" + v + ": " + s.error().message);
        } else if (auto removed = r.t.remove_tree(doomed); !removed) {
            r.warn("cannot remove pruned versions/" + v +
                   " (the next run retries): " + removed.error().message);
        } else {
            r.step("pruned versions/" + v);
        }
    }
}

}  // namespace certfleet::distribute::detail
