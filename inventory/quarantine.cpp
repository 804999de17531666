#include "inventory/quarantine.hpp"

#include <map>
#include <utility>

#include <nlohmann/json.hpp>

namespace certfleet::inventory {

namespace {

using Json = nlohmann::ordered_json;

// The entry of `section` a diagnostic path points into: the longest key K
// with path == "section.K" or starting with "section.K." / "section.K[".
// (Keys may hold dots, so the document's own keys decide.)
std::optional<std::string> entry_of(const Json& root, const std::string& section,
                                    const std::string& path) {
    const std::string prefix = section + ".";
    if (!path.starts_with(prefix) || !root.contains(section) || !root[section].is_object())
        return std::nullopt;
    std::optional<std::string> best;
    for (const auto& [key, _] : root[section].items()) {
        const std::string head = prefix + key;
        const bool inside =
            path == head || path.starts_with(head + ".") || path.starts_with(head + "[");
        if (inside && (!best || key.size() > best->size()))
            best = key;
    }
    return best;
}

// Hosts set aside must not leave dangling names in deploy_to lists.
void drop_host_references(Json& root, const std::string& host) {
    if (!root.contains("certificates") || !root["certificates"].is_object())
        return;
    for (auto& [_, cert] : root["certificates"].items()) {
        if (!cert.is_object() || !cert.contains("deploy_to") || !cert["deploy_to"].is_array())
            continue;
        Json kept = Json::array();
        for (const auto& target : cert["deploy_to"])
            if (!(target.is_string() && target.get<std::string>() == host))
                kept.push_back(target);
        cert["deploy_to"] = kept;
    }
}

}  // namespace

std::optional<QuarantineResult> quarantine_entries(const LoadResult& invalid, std::string_view text,
                                                   const std::string& file_name,
                                                   const std::string& base_dir) {
    Json root;
    try {
        root = Json::parse(text, nullptr, true, /*ignore_comments=*/true);
    } catch (const Json::exception&) {
        return std::nullopt;  // not even JSON: nothing to set aside
    }
    std::map<std::pair<EntryKind, std::string>, QuarantinedEntry> entries;
    for (const auto& d : invalid.diagnostics) {
        if (d.warning)
            continue;
        auto cert = entry_of(root, "certificates", d.path);
        auto host = cert ? std::nullopt : entry_of(root, "hosts", d.path);
        if (!cert && !host)
            return std::nullopt;  // a shared section: the whole run stops
        const EntryKind kind = cert ? EntryKind::Certificate : EntryKind::Host;
        auto& entry = entries[{kind, cert ? *cert : *host}];
        entry.kind = kind;
        entry.name = cert ? *cert : *host;
        entry.errors.push_back(d.format());
    }
    if (entries.empty())
        return std::nullopt;
    for (const auto& [key, entry] : entries) {
        if (entry.kind == EntryKind::Certificate) {
            root["certificates"].erase(entry.name);
        } else {
            root["hosts"].erase(entry.name);
            drop_host_references(root, entry.name);
        }
    }
    auto rest = parse_inventory(root.dump(2), file_name, base_dir);
    if (!rest.ok())
        return std::nullopt;
    QuarantineResult out{std::move(rest.inventory), {}};
    for (auto& [_, entry] : entries)
        out.quarantined.push_back(std::move(entry));
    return out;
}

RunLoad load_inventory_for_run(const std::string& path) {
    RunLoad out{load_inventory(path), std::nullopt, std::nullopt};
    if (out.load.ok())
        return out;
    auto file = read_inventory_file(path);
    if (!file)
        return out;
    out.quarantine = quarantine_entries(out.load, file->text, path, file->base_dir);
    if (!out.quarantine)
        out.alarm = parse_alarm_sections(file->text, path, file->base_dir).inventory;
    return out;
}

}  // namespace certfleet::inventory
