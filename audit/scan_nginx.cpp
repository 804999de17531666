// The web server's side of a host's audit: its configuration, read from the
// dump command or, when that fails, file by file, and what it serves.
#include <cctype>

#include "audit/nginx_config_syntax.hpp"
#include "audit/scanner.hpp"
#include "core/strings.hpp"

namespace certfleet::audit::detail {

namespace {

// The argument of every `include` directive, read with nginx's own tokenizer
// (so commented-out and quoted ones are handled as nginx does).
std::vector<std::string> include_arguments(std::string_view text) {
    std::vector<std::string> out;
    nginx_syntax::Cursor cursor;
    std::string word;
    bool statement_start = true, want_argument = false;
    // Every token consumes at least one byte; the bound is for certainty.
    for (std::size_t i = 0; i <= text.size(); ++i) {
        auto token = nginx_syntax::next_token(text, cursor, word);
        if (token.kind == nginx_syntax::Tok::End)
            break;
        if (token.kind != nginx_syntax::Tok::Word) {
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

// The FILE of "configuration file FILE test failed" in nginx's stderr. A
// plain scan, linear in the text: the host controls it, and a backtracking
// regex over ~100 kB of it overflowed a worker thread's stack.
std::optional<std::string> failed_main_file(std::string_view err) {
    static constexpr std::string_view kBefore = "configuration file ", kAfter = " test failed";
    for (auto at = err.find(kBefore); at != std::string_view::npos;
         at = err.find(kBefore, at + 1)) {
        const auto start = at + kBefore.size();
        auto end = start;
        while (end < err.size() && !std::isspace(static_cast<unsigned char>(err[end])))
            ++end;
        if (end > start && err.substr(end).starts_with(kAfter))
            return std::string(err.substr(start, end - start));
    }
    return std::nullopt;
}

// A listen address that, read on a remote host, means that host: any
// address, loopback, link-local. Probed as such from the manager it would
// reach the manager itself (or its own network), so the host's address is
// probed instead.
bool means_this_host(std::string_view address) {
    std::string a = core::lower(address);
    if (a.starts_with("[") && a.ends_with("]"))
        a = a.substr(1, a.size() - 2);
    return a.empty() || a == "*" || a == "0.0.0.0" || a == "::" || a == "localhost" ||
           a.starts_with("127.") || a == "::1" || a.starts_with("169.254.") ||
           a.starts_with("fe8") || a.starts_with("fe9") || a.starts_with("fea") ||
           a.starts_with("feb");
}

}  // namespace

// When the dump command fails (`nginx -t` refuses the configuration, which is
// exactly when an audit is wanted), the configuration is read file by file
// from where nginx said it is, following `include`s. Returns the dump text.
std::optional<std::string> Scanner::dump_failed(const distribute::CommandOutput& out,
                                                const std::string& command) {
    const auto main_file = failed_main_file(out.err);
    if (!main_file)
        return std::nullopt;
    std::string last_line = out.err.substr(0, out.err.find('\n'));
    m_obs.unchecked.push_back("`" + command + "` failed (" + last_line +
                              "); its files were read directly instead");
    const std::string& main = *main_file;
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
        if (nginx_syntax::has_glob(leaf)) {
            std::size_t steps = 0;
            if (auto entries = m_t.list_dir_info(dir))
                for (const auto& [name, info] : *entries)
                    if (!info.is_dir && nginx_syntax::glob_match(leaf, name, steps, 1 << 20))
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
    auto parsed = audit::parse_nginx_dump(*dump);
    for (const auto& p : parsed.problems) {
        // nginx accepts a glob that matches nothing (Debian's empty conf.d/*.conf).
        auto include = p.find(": include ");
        if (include != std::string::npos && p.ends_with(": no dumped file matches") &&
            p.find_first_of("*?[", include) < p.size() - 24)
            continue;
        m_obs.unchecked.push_back("web server configuration: " + p);
    }
    const std::string address = host.settings.verify.address.value_or(
        host.transport == inventory::HostTransport::Local ? "127.0.0.1" : host.address);
    probe_uses(parsed.uses, address);
    return {};
}

void Scanner::probe_uses(const std::vector<audit::NginxCertificateUse>& uses,
                         const std::string& host_address) {
    for (const auto& u : uses) {
        const std::string source = u.file + ":" + std::to_string(u.line);
        if (!u.certificate_is_path || (!u.key.empty() && !u.key_is_path)) {
            m_obs.unchecked.push_back(source + ": " + u.directive + " " + u.certificate +
                                      " is not a plain file name (variables are not resolved)");
            continue;
        }
        audit::ObservedUse use;
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
                std::string addr = means_this_host(l.address) ? host_address : l.address;
                if (addr.starts_with("["))
                    addr = addr.substr(1, addr.size() - 2);
                use.serves.push_back(probe(addr, l.port, sni));
            }
        }
        m_obs.uses.push_back(std::move(use));
    }
}

}  // namespace certfleet::audit::detail
