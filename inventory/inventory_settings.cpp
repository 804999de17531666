#include "inventory/inventory_settings.hpp"

namespace certfleet::inventory::detail {

namespace {

// "0640" or "640": permission bits in octal; none for others, and the
// group (key_group) may read the key but never write it.
std::optional<mode_t> read_key_mode(ObjectReader& r) {
    const Json* v = r.get("key_mode");
    if (!v)
        return std::nullopt;
    if (v->is_number()) {
        // 0640 written as a number is decimal 640 to JSON: not what was meant.
        r.checker().error(r.path_of("key_mode"),
                          "expected an octal mode as a string, like \"0640\"");
        return std::nullopt;
    }
    auto s = r.string("key_mode");
    if (!s)
        return std::nullopt;
    bool octal = (s->size() == 3 || (s->size() == 4 && (*s)[0] == '0')) &&
                 s->find_first_not_of("01234567") == std::string::npos;
    if (!octal) {
        r.checker().error(r.path_of("key_mode"),
                          "expected an octal mode like \"0600\" or \"0640\", not '" + *s + "'");
        return std::nullopt;
    }
    const auto mode = static_cast<mode_t>(std::stoul(*s, nullptr, 8));
    if (mode & 07) {
        r.checker().error(r.path_of("key_mode"),
                          "'" + *s +
                              "' lets every user read or change the private key; "
                              "use \"0600\" or \"0640\" with key_group");
        return std::nullopt;
    }
    if (mode & 020) {
        r.checker().error(r.path_of("key_mode"), "'" + *s +
                                                     "' lets the key_group change the private "
                                                     "key; use \"0640\" (read only)");
        return std::nullopt;
    }
    return mode;
}

// A group name or a numeric gid on the host; chown(1) takes either.
void read_key_group(ObjectReader& r, const std::string& name, SettingsLayer& layer) {
    bool ok = name.size() <= 32 && name[0] != '-' &&
              name.find_first_not_of(
                  "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                  "0123456789._-$") == std::string::npos;
    if (ok)
        layer.key_group = std::optional<std::string>(name);
    else
        r.checker().error(r.path_of("key_group"),
                          "expected a group name like \"ssl-cert\" (or null for none)");
}

void read_ssh(ObjectReader& parent, SettingsLayer& layer) {
    const Json* v = parent.get("ssh");
    if (!v)
        return;
    ObjectReader r(parent.checker(), *v, parent.path_of("ssh"),
                   {"user", "port", "identity_file", "known_hosts", "connect_timeout"},
                   {{"password", "SSH passwords are not supported; use identity_file or an agent"},
                    {"host", "the host's address is set by its \"address\""}});
    if (!r.valid())
        return;
    layer.ssh_user = r.non_empty_string("user");
    if (auto port = r.integer("port", 1, 65535))
        layer.ssh_port = static_cast<int>(*port);
    layer.ssh_identity_file = r.local_path("identity_file");
    layer.ssh_known_hosts = r.local_path("known_hosts");
    layer.ssh_connect_timeout = r.duration("connect_timeout");
}

void read_verify(ObjectReader& parent, SettingsLayer& layer) {
    const Json* v = parent.get("verify");
    if (!v)
        return;
    ObjectReader r(parent.checker(), *v, parent.path_of("verify"),
                   {"address", "port", "server_name", "enabled"});
    if (!r.valid())
        return;
    if (auto address = r.non_empty_string("address")) {
        if (address->find_first_of(" \t/") != std::string::npos)
            r.checker().error(r.path_of("address"), "expected a host name or an IP address");
        else
            layer.verify_address = *address;
    }
    if (auto port = r.integer("port", 1, 65535))
        layer.verify_port = static_cast<int>(*port);
    if (auto name = r.non_empty_string("server_name")) {
        std::string error = dns_name_error(*name, false, false);
        if (error.empty())
            layer.verify_server_name = *name;
        else
            r.checker().error(r.path_of("server_name"), error);
    }
    layer.verify_enabled = r.boolean("enabled");
}

void read_audit(ObjectReader& parent, SettingsLayer& layer) {
    const Json* v = parent.get("audit");
    if (!v)
        return;
    ObjectReader r(parent.checker(), *v, parent.path_of("audit"),
                   {"config_dump_command", "scan_dirs"});
    if (!r.valid())
        return;
    layer.audit_config_dump_command = r.string("config_dump_command");
    if (auto dirs = r.strings("scan_dirs")) {
        bool ok = true;
        for (size_t i = 0; i < dirs->size(); ++i) {
            if (!(*dirs)[i].starts_with('/')) {
                r.checker().error(element_path(r.path_of("scan_dirs"), i),
                                  "must be an absolute path (it is a path on the host)");
                ok = false;
            }
        }
        if (ok)
            layer.audit_scan_dirs = *dirs;
    }
}

template <class T>
void overlay(const std::optional<T>& from, T& to) {
    if (from)
        to = *from;
}

}  // namespace

std::vector<std::string_view> setting_keys() {
    return {"ssh",      "cert_root", "test_command", "reload_command", "verify",
            "key_mode", "key_group", "audit",        "host_timeout"};
}

SettingsLayer read_settings(ObjectReader& r) {
    SettingsLayer layer;
    if (!r.valid())
        return layer;
    read_ssh(r, layer);
    layer.cert_root = r.remote_path("cert_root");
    layer.test_command = r.string("test_command");
    layer.reload_command = r.string("reload_command");
    read_verify(r, layer);
    layer.key_mode = read_key_mode(r);
    if (const Json* group = r.get("key_group"); group && group->is_null())
        layer.key_group = std::optional<std::string>();
    else if (auto name = r.non_empty_string("key_group"))
        read_key_group(r, *name, layer);
    read_audit(r, layer);
    layer.host_timeout = r.duration("host_timeout");
    return layer;
}

void apply_settings(const SettingsLayer& layer, HostSettings& s) {
    overlay(layer.ssh_user, s.ssh.user);
    overlay(layer.ssh_port, s.ssh.port);
    overlay(layer.ssh_identity_file, s.ssh.identity_file);
    overlay(layer.ssh_known_hosts, s.ssh.known_hosts);
    overlay(layer.ssh_connect_timeout, s.ssh.connect_timeout);
    overlay(layer.cert_root, s.cert_root);
    overlay(layer.test_command, s.test_command);
    overlay(layer.reload_command, s.reload_command);
    if (layer.verify_address)
        s.verify.address = layer.verify_address;
    overlay(layer.verify_port, s.verify.port);
    if (layer.verify_server_name)
        s.verify.server_name = layer.verify_server_name;
    overlay(layer.verify_enabled, s.verify.enabled);
    overlay(layer.key_mode, s.key_mode);
    overlay(layer.key_group, s.key_group);
    overlay(layer.audit_config_dump_command, s.audit.config_dump_command);
    overlay(layer.audit_scan_dirs, s.audit.scan_dirs);
    overlay(layer.host_timeout, s.host_timeout);
}

}  // namespace certfleet::inventory::detail
