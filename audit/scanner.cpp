#include "audit/scanner.hpp"

#include <openssl/crypto.h>

#include "core/pem_scan.hpp"
#include "distribute/deploy.hpp"
#include "distribute/tls_probe.hpp"

namespace certfleet::audit::detail {

std::string parent_of(const std::string& path) {
    auto slash = path.rfind('/');
    return slash == 0 || slash == std::string::npos ? "/" : path.substr(0, slash);
}

std::string join_path(const std::string& dir, const std::string& name) {
    return dir == "/" ? "/" + name : dir + "/" + name;
}

// lstat, remembered: paths are looked at again while resolving links.
const distribute::FileInfo* Scanner::lstat(const std::string& path) {
    auto it = m_stats.find(path);
    if (it == m_stats.end()) {
        auto info = m_t.stat(path);
        if (!info)  // EACCES and the like: not the same as absent, say so
            m_obs.unchecked.push_back(info.error().message);
        it = m_stats.emplace(path, info ? *info : distribute::FileInfo{}).first;
    }
    return it->second.exists ? &it->second : nullptr;
}

// realpath(3) over the transport: every component's symlink followed.
std::optional<std::string> Scanner::resolve(const std::string& path) {
    std::deque<std::string> todo = split(path);
    std::string result;
    int hops = 0;
    while (!todo.empty()) {
        std::string c = std::move(todo.front());
        todo.pop_front();
        if (c.empty() || c == ".")
            continue;
        if (c == "..") {
            result = result.empty() ? "" : parent_of(result);
            if (result == "/")
                result.clear();
            continue;
        }
        std::string candidate = result + "/" + c;
        const distribute::FileInfo* info = lstat(candidate);
        if (!info)
            return std::nullopt;
        if (!info->is_symlink) {
            result = std::move(candidate);
            continue;
        }
        auto target = m_t.read_link(candidate);
        if (!target || ++hops > 40)
            return std::nullopt;
        if (target->starts_with("/"))
            result.clear();
        auto parts = split(*target);
        todo.insert(todo.begin(), parts.begin(), parts.end());
    }
    if (result.empty() && !lstat("/"))
        return std::nullopt;  // even the root could not be looked at: nothing is there
    return result.empty() ? "/" : result;
}

// Reads a regular file and keeps it when it holds PEM blocks.
void Scanner::read(const std::string& path, const distribute::FileInfo& info) {
    if (!info.is_regular || m_obs.files.count(path) || m_skipped.count(path))
        return;
    if (info.size > m_limits.max_file_bytes || info.size == 0) {
        m_skipped.insert(path);
        return;
    }
    if (++m_read > m_limits.max_files) {
        if (m_read == m_limits.max_files + 1)
            m_obs.unchecked.push_back("more than " + std::to_string(m_limits.max_files) +
                                      " files: the rest were not read (last: " + path + ")");
        return;
    }
    auto content = m_t.read_file(path, m_limits.max_file_bytes);
    if (!content) {
        m_obs.unchecked.push_back(content.error().message);
        m_skipped.insert(path);
        return;
    }
    if (!core::looks_like_pem(*content)) {
        m_skipped.insert(path);
        return;
    }
    audit::ObservedFile f;
    f.path = path;
    f.mode = info.mode;
    f.uid = info.uid;
    f.gid = info.gid;
    f.pem = m_cache ? m_cache->scan(*content) : core::scan_pem(*content);
    if (!f.pem.keys.empty())
        OPENSSL_cleanse(content->data(), content->size());  // only fingerprints are kept
    m_obs.files.emplace(path, std::move(f));
}

// Every regular file below `dir`; symlinks are not followed (what they
// point at is scanned where it lives, or named by the web server).
void Scanner::walk(const std::string& dir, int depth) {
    auto entries = m_t.list_dir_info(dir);
    if (!entries) {
        m_obs.unchecked.push_back(entries.error().message);
        return;
    }
    for (const auto& [name, info] : *entries) {
        if (++m_walked > m_limits.max_entries) {
            if (m_walked == m_limits.max_entries + 1)
                m_obs.unchecked.push_back("more than " + std::to_string(m_limits.max_entries) +
                                          " directory entries in the scanned directories: the "
                                          "rest (from " +
                                          dir + ") was not walked");
            return;
        }
        const std::string path = join_path(dir, name);
        m_stats.emplace(path, info);
        if (info.is_dir && depth < m_limits.max_depth)
            walk(path, depth + 1);
        else if (info.is_regular)
            read(path, info);
    }
}

void Scanner::scan_dir(const std::string& dir, const char* what) {
    const distribute::FileInfo* info = lstat(dir);
    auto real = info ? resolve(dir) : std::nullopt;
    const distribute::FileInfo* real_info = real ? lstat(*real) : nullptr;
    if (!real_info || !real_info->is_dir) {
        m_obs.unchecked.push_back(std::string(what) + " " + dir + " is not a directory");
        return;
    }
    walk(*real, 0);
}

// <cert_root>: certfleet's own directories (a `current` link or a
// versions/ directory) are described for the classifier; anything else
// (hand-managed files before adoption) is scanned like scan_dirs.
void Scanner::cert_root(const std::string& written) {
    // Files are known by their real paths, so the root is too (a symlink,
    // a trailing slash).
    auto real = lstat(written) ? resolve(written) : std::nullopt;
    if (!real)
        return;  // nothing deployed yet: `missing` findings say so
    const std::string root = *real;
    m_obs.cert_root = root;
    auto entries = m_t.list_dir_info(root);
    if (!entries) {
        m_obs.unchecked.push_back(entries.error().message);
        return;
    }
    for (const auto& [name, info] : *entries) {
        const std::string dir = join_path(root, name);
        m_stats.emplace(dir, info);
        if (info.is_regular) {
            read(dir, info);
            continue;
        }
        if (!info.is_dir)
            continue;
        const distribute::FileInfo* current = lstat(dir + "/current");
        const distribute::FileInfo* versions = lstat(dir + "/versions");
        if (!(current && current->is_symlink) && !(versions && versions->is_dir)) {
            walk(dir, 1);
            continue;
        }
        audit::ObservedCertDir d;
        d.name = name;
        d.path = dir;
        if (auto trusted = distribute::check_trusted_dirs(m_t, m_obs.host, root, name); !trusted)
            d.untrusted = trusted.error().message;
        walk(dir, 1);
        if (current && current->is_symlink)
            describe_current(d);
        m_obs.cert_dirs.push_back(std::move(d));
    }
}

std::deque<std::string> Scanner::split(const std::string& path) {
    std::deque<std::string> parts;
    std::size_t start = 0;
    while (start <= path.size()) {
        auto end = path.find('/', start);
        if (end == std::string::npos)
            end = path.size();
        parts.push_back(path.substr(start, end - start));
        start = end + 1;
    }
    return parts;
}

void Scanner::describe_current(audit::ObservedCertDir& d) {
    auto target = m_t.read_link(d.path + "/current");
    if (!target)
        return;
    d.current_version = target->starts_with("versions/") ? target->substr(9) : *target;
    auto real = resolve(d.path + "/current");
    if (!real) {
        d.incomplete = "current points at " + *target + ", which does not exist";
        return;
    }
    std::string lacking;
    for (const char* f : {"cert.pem", "chain.pem", "fullchain.pem", "privkey.pem"}) {
        const std::string path = *real + "/" + f;
        const distribute::FileInfo* info = lstat(path);
        if (!info || !info->is_regular)
            lacking += std::string(lacking.empty() ? "" : ", ") + f;
    }
    if (!lacking.empty())
        d.incomplete = *target + " lacks " + lacking;
    if (m_obs.files.count(*real + "/cert.pem"))
        d.current_cert = *real + "/cert.pem";
    else if (const distribute::FileInfo* info = lstat(*real + "/cert.pem");
             info && info->is_regular)
        d.unread = true;  // a read error or the file limit, already noted
    if (m_obs.files.count(*real + "/privkey.pem"))
        d.current_key = *real + "/privkey.pem";
}

// One TLS handshake per endpoint and host, whoever asks (a server found in
// the configuration, a certificate's `verify` endpoint); a failure is noted.
const audit::ObservedServe& Scanner::probe(const std::string& address, int port,
                                           const std::string& sni) {
    const std::string endpoint = address + ":" + std::to_string(port) + " (SNI " + sni + ")";
    auto it = m_probes.find(endpoint);
    if (it != m_probes.end())
        return it->second;
    audit::ObservedServe s;
    s.endpoint = endpoint;
    // A configuration with thousands of listen lines must not keep the
    // audit (and the run holding the lock) busy for hours.
    if (m_probes.size() >= m_limits.max_probes) {
        if (m_probes.size() == m_limits.max_probes)
            m_obs.unchecked.push_back("more than " + std::to_string(m_limits.max_probes) +
                                      " TLS endpoints: " + endpoint +
                                      " and any further ones were not probed");
        s.error = "not probed: more than " + std::to_string(m_limits.max_probes) + " endpoints";
        return m_probes.emplace(endpoint, std::move(s)).first->second;
    }
    auto timeout = std::chrono::duration_cast<std::chrono::milliseconds>(m_limits.probe_timeout);
    if (const auto& deadline = m_limits.deadline) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline->at - std::chrono::steady_clock::now());
        if (left <= std::chrono::milliseconds(0)) {
            s.error = "not probed: out of time (" + deadline->why + " passed)";
            m_obs.unchecked.push_back(endpoint + " " + s.error);
            return m_probes.emplace(endpoint, std::move(s)).first->second;
        }
        timeout = std::min(timeout, left);
    }
    auto served = distribute::probe_tls(address, port, sni, timeout);
    if (served) {
        s.served = served->info;
    } else {
        s.error = served.error().message;
        m_obs.unchecked.push_back("what is served was not checked: " + s.error);
    }
    return m_probes.emplace(endpoint, std::move(s)).first->second;
}

}  // namespace certfleet::audit::detail
