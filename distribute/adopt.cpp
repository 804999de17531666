// Adoption of a hand-managed setup, and inspection of a host's layout.
//
// An operator's own fullchain.pem / privkey.pem (plain files, or symlinks into
// some other tree) become a version of their own, and the stable names become
// our links, one rename each. `current` points at the byte-identical copy
// before any name moves, so at every instant every stable name resolves to
// exactly the content it had: the server can reload at any moment and still
// load a matching pair. Rolling back to that version restores the old pair.
#include "core/crypto.hpp"
#include "distribute/deploy_internal.hpp"

namespace certfleet::distribute {

namespace detail {

using core::ErrorKind;
using core::fail;
using core::Result;
using core::Status;

namespace {

// Reads what the hand-managed names hold today (following foreign symlinks).
Result<FileSet> collect_old_files(Run& r, const Layout& layout) {
    FileSet old;
    for (std::size_t i : {kFullchain, kKey}) {
        if (!layout.stable[i].info.exists) {
            return fail(ErrorKind::Io,
                        "cannot adopt " + r.paths.dir + " on " + r.host.host_name + ": " +
                            kFileNames[i] + " is missing, so the hand-managed pair is incomplete",
                        "complete the pair or move the files away, then deploy again");
        }
        auto content = r.t.read_file(r.paths.stable(i), kMaxPemBytes);
        if (!content) {
            return fail(ErrorKind::Io, "cannot adopt " + r.paths.stable(i) + " on " +
                                           r.host.host_name + ": " + content.error().message);
        }
        old.files[i] = std::move(content).value();
    }
    const auto certs = core::split_pem_certificates(old.files[kFullchain]);
    if (certs.empty()) {
        return fail(ErrorKind::Io,
                    "cannot adopt " + r.paths.stable(kFullchain) + " on " + r.host.host_name +
                        ": it holds no PEM certificate",
                    "move the file away, then deploy again");
    }
    // cert.pem / chain.pem the operator made are kept as they are when they
    // hold certificates; missing, already ours or anything else (a link to
    // some other file) are derived from the fullchain.
    for (std::size_t i : {kCert, kChain}) {
        if (layout.stable[i].info.exists && !layout.ours(i) && !layout.stable[i].info.is_dir) {
            auto content = r.t.read_file(r.paths.stable(i), kMaxPemBytes);
            if (content && !core::split_pem_certificates(*content).empty() &&
                core::parse_certificate_pem(*content)) {
                old.files[i] = std::move(content).value();
                continue;
            }
        }
        if (i == kCert) {
            old.files[i] = certs.front();
        } else {
            for (std::size_t k = 1; k < certs.size(); ++k) {
                old.files[i] += certs[k];
            }
        }
    }
    return old;
}

}  // namespace

Result<std::string> adopt(Run& r, const Layout& layout) {
    auto old = collect_old_files(r, layout);
    if (!old) {
        return old.failure();
    }
    const std::string version =
        kAdoptedPrefix + core::hex_encode(core::sha256(old->files[kFullchain])).substr(0, 8);

    // Only a real pair is copied into a version (which key_group may read):
    // privkey.pem linked to some other secret (/etc/shadow) is refused, not
    // adopted, and the host keeps serving what it serves.
    auto key = core::PrivateKey::from_pem(old->files[kKey]);
    auto match = key ? core::key_matches_certificate(*key, old->files[kFullchain])
                     : Result<bool>(key.failure());
    if (!match || !*match) {
        return fail(ErrorKind::Config,
                    "cannot adopt " + r.paths.dir + " on " + r.host.host_name + ": " +
                        r.paths.stable(kKey) +
                        (key ? " does not match the certificate in " + r.paths.stable(kFullchain)
                             : " is not a private key") +
                        "; nothing was changed",
                    "point " + r.paths.stable(kKey) +
                        " at the key of its certificate, or move both files away, then deploy "
                        "again");
    }

    r.starting("adopting the hand-managed files as versions/" + version);
    if (auto s = write_version(r, version, *old, layout.current_version() == version); !s) {
        return s.failure();
    }
    // Staged, then renamed in one batch (one remote process over SSH):
    // `current` first, so the links about to replace the old names resolve
    // to identical bytes.
    std::vector<RenameStep> steps;
    auto current = stage_link(r, "current", "versions/" + version);
    if (!current) {
        return current.failure();
    }
    steps.push_back(std::move(current).value());
    for (std::size_t i : {kFullchain, kKey, kCert, kChain}) {
        if (layout.ours(i)) {
            continue;
        }
        auto link = stage_link(r, kFileNames[i], std::string("current/") + kFileNames[i]);
        if (!link) {
            return link.failure();
        }
        steps.push_back(std::move(link).value());
    }
    if (auto renamed = r.t.rename_then_run(steps, "", r.host.command_timeout); !renamed) {
        return renamed.failure();
    }
    if (auto s = r.t.fsync_dir(r.paths.dir); !s) {
        return s.failure();
    }
    // What the server loaded from the old names was live: as a version it
    // counts as finished, the one a failed or killed next step returns to.
    write_marker(r, version);
    r.out.adopted = true;
    r.step("adopted the hand-managed files as versions/" + version +
           " (old content kept; the stable names are now links to current/)");
    return version;
}

}  // namespace detail

namespace {

// Connected, and what is under <cert_root>/<cert> read: both look-only
// entry points start here.
core::Result<detail::Layout> connect_and_read(Transport& t, const detail::CertPaths& paths) {
    if (auto s = t.connect(); !s) {
        return s.failure();
    }
    return detail::read_layout(t, paths);
}

}  // namespace

core::Status check_trusted_dirs(Transport& t, const std::string& host_name,
                                const std::string& cert_root, const std::string& cert_name) {
    return detail::check_trusted_dirs(t, host_name, cert_root,
                                      detail::CertPaths(cert_root, cert_name));
}

core::Result<HostCertState> inspect(Transport& t, const std::string& cert_root,
                                    const std::string& cert_name) {
    const detail::CertPaths paths(cert_root, cert_name);
    auto layout = connect_and_read(t, paths);
    if (!layout) {
        return layout.failure();
    }
    HostCertState state;
    if (!layout->current_version().empty()) {
        state.current_version = layout->current_version();
    }
    state.versions = layout->versions;
    state.plain_files = layout->hand_managed();
    if (layout->stable[detail::kFullchain].info.exists) {
        auto pem = t.read_file(paths.stable(detail::kFullchain), detail::kMaxPemBytes);
        if (pem) {
            auto info = core::parse_certificate_pem(*pem);
            if (info) {
                state.current_serial = info->serial_hex;
            }
        }
    }
    return state;
}

core::Result<std::vector<HostVersion>> list_versions(Transport& t, const std::string& cert_root,
                                                     const std::string& cert_name) {
    const detail::CertPaths paths(cert_root, cert_name);
    auto layout = connect_and_read(t, paths);
    if (!layout) {
        return layout.failure();
    }
    std::vector<HostVersion> out;
    for (const auto& version : layout->versions) {
        HostVersion v{version, version == layout->current_version(), "", std::nullopt, ""};
        auto pem = t.read_file(paths.version_dir(version) + "/cert.pem", detail::kMaxPemBytes);
        auto info = pem ? core::parse_certificate_pem(*pem)
                        : core::Result<core::CertificateInfo>(pem.failure());
        if (info) {
            v.serial = info->serial_hex;
            v.not_after = info->not_after;
        } else {
            v.problem = info.error().message;
        }
        out.push_back(std::move(v));
    }
    return out;
}

}  // namespace certfleet::distribute
