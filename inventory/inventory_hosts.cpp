// defaults, groups and hosts, and the inheritance host > groups > defaults.
#include <algorithm>
#include <cctype>
#include <charconv>
#include <map>

#include "inventory/inventory_settings.hpp"

namespace certfleet::inventory::detail {

namespace {

constexpr std::string_view kHostOnly = "only allowed in a host";
constexpr std::string_view kGroupOnly = "only allowed in a group";

// Names end up in the ledger, in hook environments and on command lines.
bool valid_name(std::string_view name) {
    if (name.empty() || !std::isalnum(static_cast<unsigned char>(name[0])))
        return false;
    return std::all_of(name.begin(), name.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
    });
}

void check_name(Checker& checker, const std::string& path, const std::string& name,
                std::string_view what) {
    if (!valid_name(name))
        checker.error_at_key(path, std::string(what) +
                                       " names may contain letters, digits, '.', '_' and '-' "
                                       "and must start with a letter or digit");
}

std::vector<std::string_view> with(std::vector<std::string_view> keys,
                                   std::initializer_list<std::string_view> more) {
    keys.insert(keys.end(), more.begin(), more.end());
    return keys;
}

// "25%" or a count (a number or its digits); both mean hosts per wave after
// the canary.
std::optional<RolloutBatch> parse_batch(std::string_view text) {
    RolloutBatch batch;
    batch.unit = text.ends_with('%') ? RolloutBatch::Unit::Percent : RolloutBatch::Unit::Hosts;
    if (batch.unit == RolloutBatch::Unit::Percent)
        text.remove_suffix(1);
    auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), batch.value);
    if (ec != std::errc() || p != text.data() + text.size() || batch.value < 1 ||
        (batch.unit == RolloutBatch::Unit::Percent && batch.value > 100))
        return std::nullopt;
    return batch;
}

void read_rollout(ObjectReader& group, RolloutSettings& rollout) {
    const Json* v = group.get("rollout");
    if (!v)
        return;
    ObjectReader r(group.checker(), *v, group.path_of("rollout"),
                   {"canary", "batch", "max_failures"});
    if (!r.valid())
        return;
    if (auto canary = r.integer("canary", 0, 1'000'000))
        rollout.canary = static_cast<int>(*canary);
    if (const Json* batch = r.get("batch")) {
        std::string text = batch->is_number_integer() ? std::to_string(batch->get<long long>())
                           : batch->is_string()       ? batch->get<std::string>()
                                                      : std::string();
        if (auto parsed = parse_batch(text))
            rollout.batch = *parsed;
        else
            r.checker().error(r.path_of("batch"),
                              "expected a host count (at least 1) or a percentage like \"25%\"");
    }
    if (auto max = r.integer("max_failures", 0, 1'000'000))
        rollout.max_failures = static_cast<int>(*max);
}

struct HostEntry {
    SettingsLayer layer;
    std::string path;
};

void load_groups(ObjectReader& top, Inventory& inventory,
                 std::map<std::string, SettingsLayer>& layers) {
    const Json* value = top.get("groups");
    if (!value)
        return;
    Checker& checker = top.checker();
    ObjectReader list(checker, *value, "groups", kAnyKey);
    if (!list.valid())
        return;
    for (const auto& item : value->items()) {
        std::string path = list.path_of(item.key());
        check_name(checker, path, item.key(), "group");
        Group& group = inventory.groups[item.key()];
        group.name = item.key();
        ObjectReader r(checker, item.value(), path, with(setting_keys(), {"rollout"}),
                       {{"address", kHostOnly},
                        {"transport", kHostOnly},
                        {"groups", "groups do not nest; list all of a host's groups in the host"}});
        layers[item.key()] = read_settings(r);
        read_rollout(r, group.rollout);
    }
}

void load_host(ObjectReader& r, Host& host) {
    Checker& checker = r.checker();
    if (auto transport = r.one_of("transport", {"ssh", "local"}))
        host.transport = parse_host_transport(*transport).value_or(HostTransport::Ssh);
    if (auto address = r.non_empty_string("address")) {
        if (address->find_first_of(" \t/") != std::string::npos)
            checker.error(r.path_of("address"), "expected a host name or an IP address");
        host.address = *address;
    } else if (!r.get("address") && host.transport == HostTransport::Ssh) {
        r.missing("address", "unless \"transport\" is \"local\"");
    }
    if (auto groups = r.strings("groups")) {
        for (size_t i = 0; i < groups->size(); ++i) {
            const std::string& g = (*groups)[i];
            if (!valid_name(g))
                checker.error(element_path(r.path_of("groups"), i),
                              "group names may contain letters, digits, '.', '_' and '-' and "
                              "must start with a letter or digit");
            else if (std::find(host.groups.begin(), host.groups.end(), g) == host.groups.end())
                host.groups.push_back(g);
        }
    }
}

// A group a host names without declaring it is a plain label; only a near
// miss of a declared group is worth a word, since it is most likely a typo.
void collect_members(ObjectReader& top, Inventory& inventory) {
    std::vector<std::string> declared;
    for (const auto& [name, group] : inventory.groups)
        declared.push_back(name);
    for (auto& [host_name, host] : inventory.hosts) {
        for (size_t i = 0; i < host.groups.size(); ++i) {
            const std::string& g = host.groups[i];
            auto it = inventory.groups.find(g);
            if (it == inventory.groups.end()) {
                std::string near = closest(g, declared);
                if (!near.empty())
                    top.checker().warning(
                        element_path(member_path(member_path("hosts", host_name), "groups"), i),
                        "group " + quote(g) + " is not declared in \"groups\" (did you mean " +
                            quote(near) + "?); it is used as a plain label");
                Group label;
                label.name = g;
                label.declared = false;
                it = inventory.groups.emplace(g, label).first;
            }
            it->second.hosts.push_back(host_name);
        }
    }
}

struct Layer {
    const SettingsLayer* settings;
    std::string path;
};

// The path of the member that decided a host's setting; `layers` go from the
// highest precedence (the host) down to defaults.
template <class T>
std::string origin(const std::vector<Layer>& layers, std::optional<T> SettingsLayer::*member,
                   std::string_view section, std::string_view key) {
    for (const auto& layer : layers) {
        if (!(layer.settings->*member))
            continue;
        std::string path = layer.path;
        if (!section.empty())
            path = member_path(path, section);
        return member_path(path, key);
    }
    return {};
}

HostOrigins host_origins(const std::vector<Layer>& layers) {
    HostOrigins o;
    o.identity_file = origin(layers, &SettingsLayer::ssh_identity_file, "ssh", "identity_file");
    o.known_hosts = origin(layers, &SettingsLayer::ssh_known_hosts, "ssh", "known_hosts");
    o.cert_root = origin(layers, &SettingsLayer::cert_root, "", "cert_root");
    o.test_command = origin(layers, &SettingsLayer::test_command, "", "test_command");
    o.reload_command = origin(layers, &SettingsLayer::reload_command, "", "reload_command");
    o.config_dump_command =
        origin(layers, &SettingsLayer::audit_config_dump_command, "audit", "config_dump_command");
    return o;
}

}  // namespace

void load_hosts(ObjectReader& top, Inventory& inventory) {
    Checker& checker = top.checker();
    SettingsLayer defaults;
    if (const Json* value = top.get("defaults")) {
        ObjectReader r(checker, *value, "defaults", setting_keys(),
                       {{"address", kHostOnly},
                        {"transport", kHostOnly},
                        {"groups", kHostOnly},
                        {"rollout", kGroupOnly}});
        defaults = read_settings(r);
    }
    std::map<std::string, SettingsLayer> group_layers;
    load_groups(top, inventory, group_layers);

    std::map<std::string, HostEntry> host_layers;
    if (const Json* value = top.get("hosts")) {
        ObjectReader list(checker, *value, "hosts", kAnyKey);
        if (list.valid()) {
            for (const auto& item : value->items()) {
                std::string path = list.path_of(item.key());
                check_name(checker, path, item.key(), "host");
                Host& host = inventory.hosts[item.key()];
                host.name = item.key();
                ObjectReader r(checker, item.value(), path,
                               with(setting_keys(), {"address", "transport", "groups"}),
                               {{"rollout", kGroupOnly}});
                if (r.valid())
                    load_host(r, host);
                host_layers[item.key()] = HostEntry{read_settings(r), path};
            }
        }
    }

    collect_members(top, inventory);
    HostPathChecks path_checks;
    for (auto& [name, host] : inventory.hosts) {
        const std::string& path = host_layers[name].path;
        if (inventory.groups.count(name))
            checker.error_at_key(path, quote(name) +
                                           " is both a host and a group; deploy_to could not "
                                           "tell them apart");
        // Lowest precedence first; the first group listed wins over later ones.
        HostSettings settings;
        apply_settings(defaults, settings);
        for (auto g = host.groups.rbegin(); g != host.groups.rend(); ++g)
            if (auto layer = group_layers.find(*g); layer != group_layers.end())
                apply_settings(layer->second, settings);
        apply_settings(host_layers[name].layer, settings);
        if (!settings.verify.address) {
            if (host.transport == HostTransport::Local)
                settings.verify.address = "127.0.0.1";
            else if (!host.address.empty())
                settings.verify.address = host.address;
        }
        host.settings = std::move(settings);

        std::vector<Layer> layers{{&host_layers[name].layer, path}};
        for (const auto& g : host.groups)
            if (auto layer = group_layers.find(g); layer != group_layers.end())
                layers.push_back({&layer->second, member_path("groups", g)});
        layers.push_back({&defaults, "defaults"});
        check_host_paths(checker, host, path, host_origins(layers), path_checks);
    }
    finish_host_paths(checker, path_checks);
}

}  // namespace certfleet::inventory::detail
