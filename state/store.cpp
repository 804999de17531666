#include "state/store.hpp"

#include <algorithm>
#include <array>
#include <filesystem>
#include <sys/stat.h>
#include <system_error>

#include <openssl/crypto.h>

#include "core/fs.hpp"

namespace certfleet::state {

namespace fs = std::filesystem;
using core::fail;
using core::Result;
using core::Status;

namespace {

constexpr mode_t kDirMode = 0750;
constexpr mode_t kStateDirMode = 0700;
constexpr mode_t kKeyMode = 0600;
constexpr mode_t kCertMode = 0640;
constexpr size_t kMaxPem = 1024 * 1024;
constexpr std::array<const char*, 4> kFiles = {"cert.pem", "chain.pem", "fullchain.pem",
                                               "privkey.pem"};

// The key is held only as long as needed; wipe our copies so they do not
// linger in freed heap memory.
struct WipedString {
    std::string s;
    ~WipedString() {
        if (!s.empty())
            OPENSSL_cleanse(s.data(), s.size());
    }
};

// Directory entries of `dir` that are directories and not hidden, sorted.
std::vector<std::string> list_dirs(const std::string& dir) {
    std::vector<std::string> out;
    std::error_code ec;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
        std::string name = it->path().filename().string();
        std::error_code sec;
        if (name.empty() || name[0] == '.' || !it->is_directory(sec) || it->is_symlink(sec)) {
            continue;
        }
        out.push_back(std::move(name));
    }
    std::sort(out.begin(), out.end());
    return out;
}

// Creates one directory with exactly `mode`, failing if it already exists.
core::Status make_new_dir(const std::string& dir, mode_t mode) {
    if (::mkdir(dir.c_str(), mode) != 0 || ::chmod(dir.c_str(), mode) != 0) {
        return fail(core::ErrorKind::Io, "cannot create directory " + dir + ": " +
                                             std::generic_category().message(errno));
    }
    return {};
}

core::Status check_pair(const std::string& cert, const std::string& key_pem,
                        const std::string& cert_pem, const std::string& where) {
    auto key = core::PrivateKey::from_pem(key_pem);
    if (!key)
        return fail(core::ErrorKind::Generic, cert + ": unusable private key " + where);
    auto matches = core::key_matches_certificate(*key, cert_pem);
    if (!matches)
        return matches.failure();
    if (!*matches) {
        return fail(core::ErrorKind::Generic,
                    cert + ": the private key does not match the certificate " + where,
                    "refusing to store a mismatched pair");
    }
    return {};
}

// Stable names point through `current`, so they are made once and never
// change; repair them only if something else is there.
core::Status ensure_stable_links(const std::string& cert_dir) {
    for (const char* file : kFiles) {
        std::string link = cert_dir + "/" + file;
        std::string target = std::string("current/") + file;
        if (core::read_symlink(link) == target)
            continue;
        if (auto st = core::replace_symlink(link, target); !st)
            return st;
    }
    return {};
}

}  // namespace

bool is_safe_name(const std::string& name) {
    if (name.empty() || name == "." || name == ".." || name[0] == '.' || name.size() > 200) {
        return false;
    }
    return name.find('/') == std::string::npos && name.find('\0') == std::string::npos;
}

namespace {
std::string normalized_state_dir(const std::string& state_dir) {
    std::error_code ec;
    std::string abs = fs::absolute(state_dir, ec).lexically_normal().string();
    if (ec)
        abs = state_dir;
    while (abs.size() > 1 && abs.back() == '/')
        abs.pop_back();
    return abs;
}
}  // namespace

Store Store::open_readonly(const std::string& state_dir) {
    return Store(normalized_state_dir(state_dir));
}

Result<Store> Store::open(const std::string& state_dir) {
    if (state_dir.empty())
        return fail(core::ErrorKind::Config, "no state directory configured");
    std::string abs = normalized_state_dir(state_dir);
    if (auto st = core::make_dirs(abs, kStateDirMode); !st)
        return st.failure();
    Store store(abs);
    if (auto st = core::make_dirs(store.root(), kDirMode); !st)
        return st.failure();
    return store;
}

std::string Store::root() const {
    return m_state_dir + "/certificates";
}
std::string Store::certificate_dir(const std::string& name) const {
    return root() + "/" + name;
}
std::string Store::accounts_dir() const {
    return m_state_dir + "/accounts";
}
std::string Store::ledger_path() const {
    return m_state_dir + "/ledger.sqlite";
}
std::string Store::lock_path() const {
    return m_state_dir + "/lock";
}

Result<std::string> Store::add_version(const std::string& cert, const IssuedMaterial& m,
                                       core::TimePoint issued_at) {
    if (!is_safe_name(cert))
        return fail(core::ErrorKind::Config, "invalid certificate name \"" + cert + "\"");
    auto leaf = core::parse_certificate_pem(m.cert_pem);
    if (!leaf)
        return leaf.failure();
    auto full = core::parse_certificate_pem(m.fullchain_pem);
    if (!full || full->sha256_fingerprint != leaf->sha256_fingerprint) {
        return fail(core::ErrorKind::Generic,
                    cert + ": fullchain.pem does not start with the certificate");
    }
    // Fail before touching the disk; checked again on what was written.
    if (auto st = check_pair(cert, m.key_pem, m.cert_pem, "(as received)"); !st)
        return st.failure();

    const std::string version =
        core::format_compact_utc(issued_at) + "-" + leaf->sha256_fingerprint.substr(0, 8);
    const std::string cert_dir = certificate_dir(cert);
    const std::string versions_dir = cert_dir + "/versions";
    if (auto st = core::make_dirs(versions_dir, kDirMode); !st)
        return st.failure();

    // Leftovers of a run that crashed mid-write; never referenced by `current`.
    std::error_code ec;
    for (fs::directory_iterator it(versions_dir, ec), end; !ec && it != end; it.increment(ec)) {
        if (it->path().filename().string().starts_with(".tmp-")) {
            if (auto st = core::remove_tree(it->path().string()); !st)
                return st.failure();
        }
    }

    const std::string final_dir = versions_dir + "/" + version;
    struct stat sb {};
    if (::lstat(final_dir.c_str(), &sb) == 0) {
        return fail(core::ErrorKind::Io,
                    cert + ": version " + version + " already exists in the store");
    }
    const std::string tmp_dir = versions_dir + "/.tmp-" + version;
    if (auto st = make_new_dir(tmp_dir, kDirMode); !st)
        return st.failure();
    auto written = [&]() -> core::Status {
        const std::array<std::pair<const char*, const std::string*>, 4> files = {{
            {"cert.pem", &m.cert_pem},
            {"chain.pem", &m.chain_pem},
            {"fullchain.pem", &m.fullchain_pem},
            {"privkey.pem", &m.key_pem},
        }};
        for (auto [file, content] : files) {
            mode_t mode = content == &m.key_pem ? kKeyMode : kCertMode;
            if (auto st = core::write_file_atomic(tmp_dir + "/" + file, *content, mode); !st) {
                return st;
            }
        }
        // Read back: a short write or a corrupting disk must not become current.
        auto disk_cert = core::read_file(tmp_dir + "/cert.pem", kMaxPem);
        if (!disk_cert)
            return disk_cert.failure();
        auto disk_key = core::read_file(tmp_dir + "/privkey.pem", kMaxPem);
        if (!disk_key)
            return disk_key.failure();
        WipedString key{std::move(*disk_key)};
        if (auto st = check_pair(cert, key.s, *disk_cert, "(as written)"); !st)
            return st;
        if (auto st = core::fsync_dir(tmp_dir); !st)
            return st;
        if (::rename(tmp_dir.c_str(), final_dir.c_str()) != 0) {
            return fail(core::ErrorKind::Io,
                        "cannot rename " + tmp_dir + ": " + std::generic_category().message(errno));
        }
        return core::fsync_dir(versions_dir);
    }();
    if (!written) {
        (void)core::remove_tree(tmp_dir);
        return written.failure();
    }
    if (auto st = ensure_stable_links(cert_dir); !st)
        return st.failure();
    if (auto st = core::replace_symlink(cert_dir + "/current", "versions/" + version); !st) {
        return st.failure();
    }
    return version;
}

std::optional<std::string> Store::current_version(const std::string& cert) const {
    if (!is_safe_name(cert))
        return std::nullopt;
    auto target = core::read_symlink(certificate_dir(cert) + "/current");
    const std::string prefix = "versions/";
    if (!target || !target->starts_with(prefix))
        return std::nullopt;
    std::string version = target->substr(prefix.size());
    if (!is_safe_name(version))
        return std::nullopt;
    return version;
}

std::optional<StoredVersion> Store::current(const std::string& cert) const {
    auto version = current_version(cert);
    if (!version)
        return std::nullopt;
    auto loaded = load_version(cert, *version);
    if (!loaded)
        return std::nullopt;
    return std::move(*loaded);
}

std::vector<std::string> Store::versions(const std::string& cert) const {
    if (!is_safe_name(cert))
        return {};
    return list_dirs(certificate_dir(cert) + "/versions");
}

Result<StoredVersion> Store::load_version(const std::string& cert,
                                          const std::string& version) const {
    if (!is_safe_name(cert) || !is_safe_name(version)) {
        return fail(core::ErrorKind::Generic, "invalid certificate or version name");
    }
    StoredVersion v;
    v.name = cert;
    v.version = version;
    v.dir = certificate_dir(cert) + "/versions/" + version;
    for (auto [file, out] :
         {std::pair{"cert.pem", &v.cert_pem}, std::pair{"chain.pem", &v.chain_pem},
          std::pair{"fullchain.pem", &v.fullchain_pem}}) {
        auto text = core::read_file(v.dir + "/" + file, kMaxPem);
        if (!text)
            return text.failure();
        *out = std::move(*text);
    }
    auto info = core::parse_certificate_pem(v.cert_pem);
    if (!info)
        return info.failure();
    v.info = std::move(*info);
    // The key type is the key's, read here and dropped at once (not logged, not kept).
    auto key_pem = read_private_key(cert, version);
    if (!key_pem)
        return key_pem.failure();
    WipedString pem{std::move(*key_pem)};
    auto key = core::PrivateKey::from_pem(pem.s);
    if (!key)
        return fail(core::ErrorKind::Generic,
                    cert + ": unusable private key in version " + version);
    v.key_type = key->type();
    return v;
}

Result<std::string> Store::read_private_key(const std::string& cert,
                                            const std::string& version) const {
    if (!is_safe_name(cert) || !is_safe_name(version)) {
        return fail(core::ErrorKind::Generic, "invalid certificate or version name");
    }
    return core::read_file(certificate_dir(cert) + "/versions/" + version + "/privkey.pem",
                           kMaxPem);
}

core::Status Store::prune(const std::string& cert, int keep) {
    auto all = versions(cert);
    const size_t kept = static_cast<size_t>(std::max(keep, 1));
    if (all.size() <= kept)
        return {};
    auto current = current_version(cert);
    const std::string versions_dir = certificate_dir(cert) + "/versions";
    for (size_t i = 0; i + kept < all.size(); ++i) {
        if (all[i] == current)
            continue;
        // Renamed out of sight first, as on hosts: a removal cut off midway
        // leaves a ".tmp-" leftover (deleted by the next add_version), never
        // a version with half its files.
        const std::string doomed = versions_dir + "/.tmp-pruned-" + all[i];
        if (::rename((versions_dir + "/" + all[i]).c_str(), doomed.c_str()) != 0)
            return fail(core::ErrorKind::Io, "cannot prune " + versions_dir + "/" + all[i] + ": " +
                                                 std::generic_category().message(errno));
        if (auto st = core::remove_tree(doomed); !st)
            return st;
    }
    return core::fsync_dir(versions_dir);
}

std::vector<std::string> Store::certificate_names() const {
    return list_dirs(root());
}

}  // namespace certfleet::state
