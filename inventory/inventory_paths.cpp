// Local files, directories and programs the inventory refers to: a typo in
// one of them would otherwise surface only in the unattended run. Whatever
// can never work is an error; whatever depends on who runs certfleet or on
// something installed later (node_exporter) is a warning.
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <sys/stat.h>
#include <unistd.h>

#include "inventory/inventory_check.hpp"

namespace certfleet::inventory::detail {

namespace {

namespace fs = std::filesystem;

std::string why(int error) {
    return error == ENOENT || error == ENOTDIR ? "does not exist" : core::errno_text(error);
}

// The nearest directory on the way up that exists: where a missing
// directory would be created.
std::string existing_ancestor(const std::string& dir) {
    fs::path p = fs::path(dir).lexically_normal();
    for (;;) {
        struct stat st {};
        if (::stat(p.c_str(), &st) == 0)
            return p.string();
        if (!p.has_parent_path() || p.parent_path() == p)
            return "/";
        p = p.parent_path();
    }
}

// The first word of a shell command; "" unless it is a plain absolute path
// (quotes, variables and PATH lookups are the shell's business).
std::string absolute_program(std::string_view command) {
    size_t start = command.find_first_not_of(" \t\n");
    if (start == std::string_view::npos || command[start] != '/')
        return {};
    size_t end = command.find_first_of(" \t\n;|&<>()'\"$`", start);
    return std::string(command.substr(start, end == std::string_view::npos ? end : end - start));
}

// Missing or not a file can never work: an error. Unreadable depends on who
// runs certfleet (`check` may run as Nagios' user): a warning. True when the
// file could be read; `st` is then filled.
bool check_ssh_file(Checker& checker, std::string_view path, const std::string& file,
                    struct stat& st) {
    if (::stat(file.c_str(), &st) != 0) {
        checker.error(path, "'" + file + "' " + why(errno));
        return false;
    }
    if (!S_ISREG(st.st_mode)) {
        checker.error(path, "'" + file + "' is not a regular file");
        return false;
    }
    if (::access(file.c_str(), R_OK) != 0) {
        checker.warning(
            path, "this user (uid " + std::to_string(::getuid()) + ") cannot read '" + file + "'");
        return false;
    }
    return true;
}

}  // namespace

void check_command(Checker& checker, std::string_view path, const std::string& command) {
    std::string program = absolute_program(command);
    if (program.empty())
        return;
    struct stat st {};
    if (::stat(program.c_str(), &st) != 0) {
        if (errno == ENOENT || errno == ENOTDIR)
            checker.error(path, "'" + program + "' does not exist");
        else
            checker.warning(path, "'" + program + "': " + core::errno_text(errno));
    } else if (!S_ISREG(st.st_mode)) {
        checker.error(path, "'" + program + "' is not a regular file");
    } else if (!(st.st_mode & 0111)) {
        checker.error(path, "'" + program + "' is not executable (chmod +x it)");
    } else if (::access(program.c_str(), X_OK) != 0) {
        checker.warning(path, "this user (uid " + std::to_string(::getuid()) + ") cannot run '" +
                                  program + "'");
    }
}

void check_directory(Checker& checker, std::string_view path, const std::string& dir,
                     MissingDirectory missing) {
    struct stat st {};
    if (::stat(dir.c_str(), &st) == 0) {
        if (!S_ISDIR(st.st_mode))
            checker.error(path, "'" + dir + "' is not a directory");
        else if (::access(dir.c_str(), W_OK | X_OK) != 0)
            checker.warning(path, "this user (uid " + std::to_string(::getuid()) +
                                      ") cannot write to '" + dir + "'");
        return;
    }
    if (errno != ENOENT && errno != ENOTDIR) {
        checker.warning(path, "'" + dir + "': " + core::errno_text(errno));
        return;
    }
    // A file where a directory should be can never work, whoever runs certfleet.
    std::string ancestor = existing_ancestor(dir);
    struct stat ast {};
    if (::stat(ancestor.c_str(), &ast) == 0 && !S_ISDIR(ast.st_mode))
        checker.error(path,
                      "'" + dir + "' cannot be created: '" + ancestor + "' is not a directory");
    else if (missing == MissingDirectory::Warn)
        checker.warning(path, "directory '" + dir + "' does not exist");
    else if (::access(ancestor.c_str(), W_OK | X_OK) != 0)
        checker.warning(path, "'" + dir + "' does not exist and this user (uid " +
                                  std::to_string(::getuid()) + ") cannot create it in '" +
                                  ancestor + "'");
}

void check_host_paths(Checker& checker, const Host& host, const std::string& host_path,
                      const HostOrigins& origins, HostPathChecks& state) {
    const HostSettings& s = host.settings;
    // Each written value is checked once, where it is written, however many
    // hosts inherit it; a built-in default is reported at the host.
    auto once = [&](const std::string& origin, std::string_view section, std::string_view key) {
        std::string path = origin;
        if (path.empty())
            path = member_path(section.empty() ? host_path : member_path(host_path, section), key);
        return state.reported.insert(path).second ? path : std::string();
    };
    if (host.transport == HostTransport::Ssh) {
        if (s.ssh.known_hosts.empty()) {
            state.without_known_hosts.push_back(host.name);
        } else if (std::string path = once(origins.known_hosts, "ssh", "known_hosts");
                   !path.empty()) {
            // Strict host key checking cannot work without the file.
            struct stat st {};
            if (check_ssh_file(checker, path, s.ssh.known_hosts, st) && (st.st_mode & S_IWOTH))
                checker.security_warning(path,
                                         "'" + s.ssh.known_hosts +
                                             "' is writable by every user, who could add a host "
                                             "key; chmod 644 it");
        }
        if (s.ssh.identity_file.empty())
            return;
        if (std::string path = once(origins.identity_file, "ssh", "identity_file"); !path.empty()) {
            struct stat st {};
            if (check_ssh_file(checker, path, s.ssh.identity_file, st) &&
                (st.st_mode & (S_IRWXG | S_IRWXO)))
                checker.security_warning(path,
                                         "'" + s.ssh.identity_file +
                                             "' is accessible by others (OpenSSH would refuse "
                                             "it); chmod 600 it");
        }
        return;
    }
    // transport "local": certfleet itself writes cert_root and runs the commands.
    if (std::string path = once(origins.cert_root, "", "cert_root"); !path.empty())
        check_directory(checker, path, s.cert_root, MissingDirectory::Create);
    if (std::string path = once(origins.test_command, "", "test_command"); !path.empty())
        check_command(checker, path, s.test_command);
    if (std::string path = once(origins.reload_command, "", "reload_command"); !path.empty())
        check_command(checker, path, s.reload_command);
    if (std::string path = once(origins.config_dump_command, "audit", "config_dump_command");
        !path.empty())
        check_command(checker, path, s.audit.config_dump_command);
}

void finish_host_paths(Checker& checker, const HostPathChecks& state) {
    const auto& hosts = state.without_known_hosts;
    if (hosts.empty())
        return;
    std::string names;
    for (size_t i = 0; i < hosts.size() && i < 3; ++i)
        names += (i ? ", " : "") + quote(hosts[i]);
    if (hosts.size() > 3)
        names += " and " + std::to_string(hosts.size() - 3) + " more";
    // Only a warning: the failing deployment prints the host's key line to add.
    checker.warning("defaults.ssh.known_hosts",
                    "not set for " + names +
                        ": certfleet never trusts an unknown host key, so deployments over SSH "
                        "fail; set it here, in a group or in the host to a file with the hosts' "
                        "verified keys");
}

void check_notifier_paths(Checker& checker, std::string_view path,
                          const NotifierSettings& notifier) {
    if (const auto* prometheus = std::get_if<PrometheusNotifierSettings>(&notifier);
        prometheus && !prometheus->textfile.empty()) {
        // node_exporter may be installed after certfleet: only a warning.
        std::string dir = fs::path(prometheus->textfile).parent_path().string();
        check_directory(checker, member_path(path, "textfile"), dir.empty() ? "." : dir,
                        MissingDirectory::Warn);
    } else if (const auto* exec = std::get_if<ExecNotifierSettings>(&notifier)) {
        check_command(checker, member_path(path, "command"), exec->command);
    }
}

void check_local_paths(Checker& checker, const Inventory& inventory) {
    for (const auto& [name, provider] : inventory.dns.providers)
        if (provider.type == DnsProviderType::Exec)
            check_command(checker, member_path(member_path("dns.providers", name), "command"),
                          provider.command);
    for (const auto& [event, command] : inventory.hooks.commands)
        check_command(checker, member_path("hooks", hook_event_name(event)), command);
}

}  // namespace certfleet::inventory::detail
