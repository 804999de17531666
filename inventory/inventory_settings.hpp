// Internal to inventory/: one layer of host settings (defaults, a group or a
// host) as written, before inheritance is resolved.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "inventory/inventory_check.hpp"

namespace certfleet::inventory::detail {

// Every member is optional: absent means "inherit".
struct SettingsLayer {
    std::optional<std::string> ssh_user;
    std::optional<int> ssh_port;
    std::optional<std::string> ssh_identity_file;
    std::optional<std::string> ssh_known_hosts;
    std::optional<core::Seconds> ssh_connect_timeout;
    std::optional<std::string> cert_root;
    std::optional<std::string> test_command;
    std::optional<std::string> reload_command;
    std::optional<std::string> verify_address;
    std::optional<int> verify_port;
    std::optional<std::string> verify_server_name;
    std::optional<bool> verify_enabled;
    std::optional<mode_t> key_mode;
    std::optional<std::optional<std::string>> key_group;  // set to null: no group
    std::optional<std::string> audit_config_dump_command;
    std::optional<std::vector<std::string>> audit_scan_dirs;
    std::optional<core::Seconds> host_timeout;
};

// The keys every layer may carry (docs/inventory.md: they "may appear in
// defaults, in any group and in any host").
std::vector<std::string_view> setting_keys();

// Reads the setting keys of `reader`; other keys are the caller's business.
SettingsLayer read_settings(ObjectReader& reader);
// Overlays the members `layer` sets onto `settings`.
void apply_settings(const SettingsLayer& layer, HostSettings& settings);

}  // namespace certfleet::inventory::detail
