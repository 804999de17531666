#include "app/audit_scan.hpp"

#include <deque>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <unistd.h>

#include <openssl/crypto.h>

#include "app/fleet.hpp"
#include "core/pem_scan.hpp"
#include "distribute/local_transport.hpp"
#include "distribute/nginx_config.hpp"
#include "distribute/nginx_config_syntax.hpp"
#include "distribute/tls_probe.hpp"

namespace certfleet::app {

namespace {

using distribute::FileInfo;
using inventory::HostObservation;

std::string parent_of(const std::string& path) {
    auto slash = path.rfind('/');
    return slash == 0 || slash == std::string::npos ? "/" : path.substr(0, slash);
}

std::string join_path(const std::string& dir, const std::string& name) {
    return dir == "/" ? "/" + name : dir + "/" + name;
}

// The argument of every `include` directive, read with nginx's own tokenizer
// (so commented-out and quoted ones are handled as nginx does).
std::vector<std::string> include_arguments(std::string_view text) {
    std::vector<std::string> out;
    distribute::nginx_syntax::Cursor cursor;
    std::string word;
    bool statement_start = true, want_argument = false;
    // Every token consumes at least one byte; the bound is for certainty.
    for (std::size_t i = 0; i <= text.size(); ++i) {
        auto token = distribute::nginx_syntax::next_token(text, cursor, word);
        if (token.kind == distribute::nginx_syntax::Tok::End)
            break;
        if (token.kind != distribute::nginx_syntax::Tok::Word) {
            statement_start = true;
            want_argument = false;
            continue;
        }
        if (want_argument)
            out.push_back(word);
        want_argument = statement_start && word == "include";
        statement_start = false;
    }
    return out;
}

class Scanner {
public:
    Scanner(distribute::Transport& t, HostObservation& obs, const ScanLimits& limits,
            PemCache* cache)
        : m_t(t), m_obs(obs), m_limits(limits), m_cache(cache) {}

    // lstat, remembered: paths are looked at again while resolving links.
    const FileInfo* lstat(const std::string& path) {
        auto it = m_stats.find(path);
        if (it == m_stats.end()) {
            auto info = m_t.stat(path);
            if (!info)  // EACCES and the like: not the same as absent, say so
                m_obs.unchecked.push_back(info.error().message);
            it = m_stats.emplace(path, info ? *info : FileInfo{}).first;
        }
        return it->second.exists ? &it->second : nullptr;
    }

    // realpath(3) over the transport: every component's symlink followed.
    std::optional<std::string> resolve(const std::string& path) {
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
            const FileInfo* info = lstat(candidate);
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
        return result.empty() ? "/" : result;
    }

    // Reads a regular file and keeps it when it holds PEM blocks.
    void read(const std::string& path, const FileInfo& info) {
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
        inventory::ObservedFile f;
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
    void walk(const std::string& dir, int depth) {
        auto entries = m_t.list_dir_info(dir);
        if (!entries) {
            m_obs.unchecked.push_back(entries.error().message);
            return;
        }
        for (const auto& [name, info] : *entries) {
            const std::string path = join_path(dir, name);
            m_stats.emplace(path, info);
            if (info.is_dir && depth < m_limits.max_depth)
                walk(path, depth + 1);
            else if (info.is_regular)
                read(path, info);
        }
    }

    void scan_dir(const std::string& dir, const char* what) {
        const FileInfo* info = lstat(dir);
        auto real = info ? resolve(dir) : std::nullopt;
        const FileInfo* real_info = real ? lstat(*real) : nullptr;
        if (!real_info || !real_info->is_dir) {
            m_obs.unchecked.push_back(std::string(what) + " " + dir + " is not a directory");
            return;
        }
        walk(*real, 0);
    }

    // <cert_root>: certfleet's own directories (a `current` link or a
    // versions/ directory) are described for the classifier; anything else
    // (hand-managed files before adoption) is scanned like scan_dirs.
    void cert_root(const std::string& written) {
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
            const FileInfo* current = lstat(dir + "/current");
            const FileInfo* versions = lstat(dir + "/versions");
            if (!(current && current->is_symlink) && !(versions && versions->is_dir)) {
                walk(dir, 1);
                continue;
            }
            inventory::ObservedCertDir d;
            d.name = name;
            d.path = dir;
            walk(dir, 1);
            if (current && current->is_symlink)
                describe_current(d);
            m_obs.cert_dirs.push_back(std::move(d));
        }
    }

    core::Status nginx(const std::string& command, const inventory::Host& host);

    // One TLS handshake per endpoint and host, whoever asks (a server found in
    // the configuration, a certificate's `verify` endpoint); a failure is noted.
    const inventory::ObservedServe& probe(const std::string& address, int port,
                                          const std::string& sni) {
        const std::string endpoint = address + ":" + std::to_string(port) + " (SNI " + sni + ")";
        auto it = m_probes.find(endpoint);
        if (it != m_probes.end())
            return it->second;
        inventory::ObservedServe s;
        s.endpoint = endpoint;
        auto served = distribute::probe_tls(address, port, sni, m_limits.probe_timeout);
        if (served) {
            s.served = served->info;
        } else {
            s.error = served.error().message;
            m_obs.unchecked.push_back("what is served was not checked: " + s.error);
        }
        return m_probes.emplace(endpoint, std::move(s)).first->second;
    }
    void probe_uses(const std::vector<distribute::NginxCertificateUse>& uses,
                    const std::string& host_address);
    std::optional<std::string> dump_failed(const distribute::CommandOutput& out,
                                           const std::string& command);

private:
    static std::deque<std::string> split(const std::string& path) {
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

    void describe_current(inventory::ObservedCertDir& d) {
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
            const FileInfo* info = lstat(path);
            if (!info || !info->is_regular)
                lacking += std::string(lacking.empty() ? "" : ", ") + f;
        }
        if (!lacking.empty())
            d.incomplete = *target + " lacks " + lacking;
        if (m_obs.files.count(*real + "/cert.pem"))
            d.current_cert = *real + "/cert.pem";
        else if (const FileInfo* info = lstat(*real + "/cert.pem"); info && info->is_regular)
            d.unread = true;  // a read error or the file limit, already noted
        if (m_obs.files.count(*real + "/privkey.pem"))
            d.current_key = *real + "/privkey.pem";
    }

    distribute::Transport& m_t;
    HostObservation& m_obs;
    const ScanLimits& m_limits;
    PemCache* m_cache;
    std::map<std::string, FileInfo> m_stats;
    std::set<std::string> m_skipped;
    std::map<std::string, inventory::ObservedServe> m_probes;  // by endpoint text
    std::size_t m_read = 0;
};

// When the dump command fails (`nginx -t` refuses the configuration, which is
// exactly when an audit is wanted), the configuration is read file by file
// from where nginx said it is, following `include`s. Returns the dump text.
std::optional<std::string> Scanner::dump_failed(const distribute::CommandOutput& out,
                                                const std::string& command) {
    static const std::regex main_file(R"(configuration file (\S+) test failed)");
    std::smatch m;
    if (!std::regex_search(out.err, m, main_file))
        return std::nullopt;
    std::string last_line = out.err.substr(0, out.err.find('\n'));
    m_obs.unchecked.push_back("`" + command + "` failed (" + last_line +
                              "); its files were read directly instead");
    const std::string main = m[1].str();
    const std::string prefix = parent_of(main);
    std::string dump;
    std::set<std::string> seen;
    std::deque<std::string> todo{main};
    while (!todo.empty()) {
        if (seen.size() >= 500 || dump.size() > 16 * m_limits.max_file_bytes) {
            m_obs.unchecked.push_back(
                "the configuration has more than 500 files or 16 MiB: "
                "the rest was not read");
            break;
        }
        std::string path = todo.front();
        todo.pop_front();
        if (!path.starts_with("/"))
            path = join_path(prefix, path);
        std::vector<std::string> files;
        const std::string dir = parent_of(path), leaf = path.substr(path.rfind('/') + 1);
        if (distribute::nginx_syntax::has_glob(leaf)) {
            std::size_t steps = 0;
            if (auto entries = m_t.list_dir_info(dir))
                for (const auto& [name, info] : *entries)
                    if (!info.is_dir &&
                        distribute::nginx_syntax::glob_match(leaf, name, steps, 1 << 20))
                        files.push_back(join_path(dir, name));
        } else {
            files.push_back(path);
        }
        for (const auto& file : files) {
            if (!seen.insert(file).second)
                continue;
            auto text = m_t.read_file(file, m_limits.max_file_bytes);
            if (!text && file == main)
                return std::nullopt;  // nothing to go on: the host is not audited
            if (!text)
                continue;  // the parser reports the include that matched nothing
            dump += "# configuration file " + file + ":\n" + *text + "\n";
            for (auto& include : include_arguments(*text))
                todo.push_back(std::move(include));
        }
    }
    return dump;
}

core::Status Scanner::nginx(const std::string& command, const inventory::Host& host) {
    auto out = m_t.run(command, m_limits.command_timeout);
    if (!out) {
        return out.failure();
    }
    std::optional<std::string> dump;
    if (out->exit_code == 0 && !out->timed_out && out->out.size() >= (std::size_t{1} << 20))
        return core::fail(core::ErrorKind::Io,
                          "`" + command +
                              "` printed 1 MiB or more, the most certfleet reads: "
                              "the servers after the cut would look unused",
                          "set audit.config_dump_command for " + host.name +
                              " to a command printing only the configuration that loads "
                              "certificates, or \"\"");
    if (out->exit_code == 0 && !out->timed_out)
        dump = out->out;
    else
        dump = dump_failed(*out, command);
    if (!dump) {
        std::string err = out->timed_out ? "timed out" : out->err.substr(0, out->err.find('\n'));
        return core::fail(core::ErrorKind::Io,
                          "`" + command + "` failed (exit " + std::to_string(out->exit_code) +
                              ": " + err +
                              "): cannot learn which certificates the web server loads",
                          "fix it, or set audit.config_dump_command for " + host.name +
                              " (\"\" when it runs no nginx)");
    }
    auto parsed = distribute::parse_nginx_dump(*dump);
    for (const auto& p : parsed.problems) {
        // nginx accepts a glob that matches nothing (Debian's empty conf.d/*.conf).
        auto include = p.find(": include ");
        if (include != std::string::npos && p.ends_with(": no dumped file matches") &&
            p.find_first_of("*?[", include) < p.size() - 24)
            continue;
        m_obs.unchecked.push_back("web server configuration: " + p);
    }
    const std::string address = host.settings.verify.address.value_or(
        host.transport == "local" ? "127.0.0.1" : host.address);
    probe_uses(parsed.uses, address);
    return {};
}

void Scanner::probe_uses(const std::vector<distribute::NginxCertificateUse>& uses,
                         const std::string& host_address) {
    for (const auto& u : uses) {
        const std::string source = u.file + ":" + std::to_string(u.line);
        if (!u.certificate_is_path || (!u.key.empty() && !u.key_is_path)) {
            m_obs.unchecked.push_back(source + ": " + u.directive + " " + u.certificate +
                                      " is not a plain file name (variables are not resolved)");
            continue;
        }
        inventory::ObservedUse use;
        use.source = source;
        use.server_names = u.server_names;
        auto cert = resolve(u.certificate);
        if (!cert) {
            m_obs.unchecked.push_back(source + ": " + u.certificate + " does not exist");
            continue;
        }
        read(*cert, *lstat(*cert));
        use.certificate = *cert;
        if (!u.key.empty()) {
            if (auto key = resolve(u.key)) {
                read(*key, *lstat(*key));
                use.key = *key;
            }
        }
        if (u.directive == "ssl_certificate" && m_limits.probe) {
            std::string sni;
            for (const auto& n : u.server_names)
                if (!n.empty() && n != "_" && n.find_first_of("*~$") == std::string::npos &&
                    n.front() != '.') {
                    sni = n;
                    break;
                }
            for (const auto& l : u.listens) {
                if (!l.ssl || sni.empty() || l.address.starts_with("unix:"))
                    continue;
                bool any = l.address.empty() || l.address == "*" || l.address == "0.0.0.0" ||
                           l.address == "::" || l.address == "[::]";
                std::string addr = any ? host_address : l.address;
                if (addr.starts_with("["))
                    addr = addr.substr(1, addr.size() - 2);
                use.serves.push_back(probe(addr, l.port, sni));
            }
        }
        m_obs.uses.push_back(std::move(use));
    }
}

// Who may own a key there: root and the user certfleet logs in as; and the
// key_group's number, so a key readable by that group is not "exposed".
void learn_owners(distribute::Transport& t, const inventory::Host& host, HostObservation& obs) {
    auto number = [&](const std::string& cmd, int field) -> std::optional<unsigned long> {
        auto out = t.run(cmd, core::Seconds(20));
        if (!out || out->exit_code != 0)
            return std::nullopt;
        std::string line = out->out.substr(0, out->out.find('\n'));
        for (int i = 0; i < field; ++i)
            line = line.substr(std::min(line.size(), line.find(':') + 1));
        try {
            return std::stoul(line);
        } catch (...) {
            return std::nullopt;
        }
    };
    obs.allowed_key_owners.insert(0);
    if (auto uid = number("id -u", 0))
        obs.allowed_key_owners.insert(static_cast<uid_t>(*uid));
    else
        obs.allowed_key_owners.clear();  // unknown: owners are not judged
    if (!host.settings.key_group)
        return;
    // validated as [a-z_][a-z0-9_-]*: safe inside single quotes
    if (auto gid = number("getent group '" + *host.settings.key_group + "'", 2))
        obs.key_group_gid = static_cast<gid_t>(*gid);
    else
        obs.unchecked.push_back("key_group " + *host.settings.key_group +
                                " is not a group there: group-readable keys are not judged");
}

}  // namespace

core::PemScan PemCache::scan(std::string_view content) {
    const std::string digest = core::sha256(content);
    {
        std::lock_guard lock(m_mutex);
        if (auto it = m_by_digest.find(digest); it != m_by_digest.end())
            return it->second;
    }
    core::PemScan scan = core::scan_pem(content);
    std::lock_guard lock(m_mutex);
    m_by_digest.emplace(digest, scan);
    return scan;
}

core::Result<HostObservation> observe_host(distribute::Transport& transport,
                                           const inventory::Inventory& inventory,
                                           const inventory::Host& host,
                                           const std::vector<std::string>& certificates,
                                           const ScanLimits& limits, PemCache* cache) {
    if (auto s = transport.connect(); !s)
        return s.failure();
    HostObservation obs;
    obs.host = host.name;
    obs.cert_root = host.settings.cert_root;
    Scanner scan(transport, obs, limits, cache);
    learn_owners(transport, host, obs);
    scan.cert_root(host.settings.cert_root);
    for (const auto& dir : host.settings.audit.scan_dirs)
        scan.scan_dir(dir, "scan_dirs");
    if (!host.settings.audit.config_dump_command.empty()) {
        if (auto s = scan.nginx(host.settings.audit.config_dump_command, host); !s)
            return s.failure();
    }
    if (limits.probe)
        for (const auto& cert : certificates) {
            auto target = host_target(inventory, host, inventory.certificates.at(cert));
            if (!target.verify.enabled)
                continue;
            obs.verified.emplace(cert, scan.probe(target.verify.address, target.verify.port,
                                                  target.verify.server_name));
        }
    return obs;
}

inventory::HostObservation observe_store(const inventory::Inventory& inventory,
                                         const ScanLimits& limits) {
    HostObservation obs;
    obs.host = inventory::kStoreHost;
    obs.cert_root = inventory.state_dir + "/certificates";
    obs.allowed_key_owners = {0, geteuid()};
    distribute::LocalTransport local(inventory::kStoreHost);
    Scanner scan(local, obs, limits, nullptr);
    scan.cert_root(obs.cert_root);
    const std::string accounts = inventory.state_dir + "/accounts";
    if (auto info = local.stat(accounts); info && info->is_dir)
        scan.scan_dir(accounts, "accounts");
    return obs;
}

}  // namespace certfleet::app
