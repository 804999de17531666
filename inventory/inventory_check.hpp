// Internal to inventory/: the diagnostic collector and the typed member
// readers the section validators (inventory_*.cpp) are written with.
#pragma once

#include <initializer_list>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "inventory/json_positions.hpp"
#include "inventory/load.hpp"

namespace certfleet::inventory::detail {

using Json = nlohmann::json;

// Optimal string alignment distance: a swapped pair of letters counts once.
size_t edit_distance(std::string_view a, std::string_view b);
// The closest candidate within a small distance, or "" when none is close.
std::string closest(std::string_view word, const std::vector<std::string>& candidates);
std::string did_you_mean(std::string_view word, const std::vector<std::string>& candidates);
std::string quote(std::string_view s);  // 'like this'

class Checker {
public:
    Checker(const PositionMap& positions, std::string file, std::string base_dir);

    void error(std::string_view path, std::string message);         // at the value
    void error_at_key(std::string_view path, std::string message);  // at the member's key
    void warning(std::string_view path, std::string message);
    void security_warning(std::string_view path, std::string message);  // see Diagnostic
    // At the enclosing object, with the path the key would have had.
    void missing(std::string_view object_path, std::string_view key, std::string_view why = {});

    const std::string& base_dir() const { return m_base_dir; }
    Position position(std::string_view path) const { return m_positions.value(path); }
    bool has_errors() const;
    std::vector<Diagnostic> take_diagnostics();

private:
    void add(Position at, std::string_view path, std::string message, bool warning,
             bool security = false);

    const PositionMap& m_positions;
    std::string m_file;
    std::string m_base_dir;
    std::vector<Diagnostic> m_diagnostics;
};

using KeyNotes = std::vector<std::pair<std::string_view, std::string_view>>;

// For maps whose member names are user-chosen (hosts, providers, ...).
inline const std::vector<std::string_view> kAnyKey = {"*"};

// One JSON object: the constructor reports a non-object and every unknown
// key; the accessors report wrong types and return nullopt for absent or
// invalid members, so callers just keep the default.
class ObjectReader {
public:
    ObjectReader(Checker& checker, const Json& value, std::string path,
                 std::vector<std::string_view> known, const KeyNotes& notes = {});

    bool valid() const { return m_object != nullptr; }
    const std::string& path() const { return m_path; }
    std::string path_of(std::string_view key) const { return member_path(m_path, key); }
    const Json* get(std::string_view key) const;
    Checker& checker() { return m_checker; }

    std::optional<std::string> string(std::string_view key, bool required = false);
    std::optional<std::string> non_empty_string(std::string_view key, bool required = false);
    std::optional<bool> boolean(std::string_view key);
    std::optional<long long> integer(std::string_view key, long long min, long long max);
    std::optional<core::Seconds> duration(std::string_view key, bool allow_zero = false);
    std::optional<std::vector<std::string>> strings(std::string_view key);
    std::optional<core::KeyType> key_type(std::string_view key);
    std::optional<std::string> one_of(std::string_view key,
                                      std::initializer_list<std::string_view> allowed,
                                      bool required = false);
    // Resolved; a secret file must exist, be readable (too open: a warning).
    std::optional<std::string> secret(std::string_view key, bool required = false);
    // Resolved; must exist and be readable.
    std::optional<std::string> readable_file(std::string_view key, bool required = false);
    // Resolved; nothing checked (the file may be created later).
    std::optional<std::string> local_path(std::string_view key);
    // Absolute path on a host (never resolved locally).
    std::optional<std::string> remote_path(std::string_view key);
    // Reports a missing required member, unless an unknown key already
    // suggested it (one typo, one message).
    void missing(std::string_view key, std::string_view why = {});
    // A member that must be an object when present (non-objects are reported).
    const Json* object(std::string_view key);

private:
    void report_unknown(const std::string& key, const std::vector<std::string_view>& known,
                        const KeyNotes& notes);

    Checker& m_checker;
    const Json* m_object = nullptr;
    std::string m_path;
    std::vector<std::string> m_suggested;  // known keys some unknown key was close to
};

// Shared value checks; each returns an error message, or "" when fine.
std::string duration_error(std::string_view text);
std::string dns_name_error(std::string_view name, bool allow_wildcard, bool allow_underscore);
// "host" or "host:port" (IPv6 in brackets); normalised to "host:port".
std::optional<std::string> normalize_host_port(std::string_view text, int default_port);

// Section validators, one file each; they fill `inventory` as far as the
// input allows so later sections can cross-check names.
void load_acme(ObjectReader& top, Inventory& inventory);
void load_dns(ObjectReader& top, Inventory& inventory);
void load_hosts(ObjectReader& top, Inventory& inventory);  // defaults, groups, hosts
void load_certificates(ObjectReader& top, Inventory& inventory);
void load_policy(ObjectReader& top, Inventory& inventory);
void load_notify_and_hooks(ObjectReader& top, Inventory& inventory);

// ---- Local paths (inventory_paths.cpp) ----------------------------------------

// A shell command whose first word is an absolute path: that program must
// exist and be executable (PATH lookups and shell syntax are not checked).
void check_command(Checker& checker, std::string_view path, const std::string& command);

// Create: certfleet makes the directory (only an ancestor it cannot write to is
// worth a warning). Warn: someone else must create it.
enum class MissingDirectory { Create, Warn };
void check_directory(Checker& checker, std::string_view path, const std::string& dir,
                     MissingDirectory missing);

// Where a host's effective setting was written: the JSON path of that member
// in the host, the group or defaults; "" when it is the built-in default.
struct HostOrigins {
    std::string identity_file;
    std::string known_hosts;
    std::string cert_root;
    std::string test_command;
    std::string reload_command;
    std::string config_dump_command;
};
struct HostPathChecks {
    std::set<std::string> reported;  // paths checked: a value in defaults is reported once
    std::vector<std::string> without_known_hosts;  // ssh hosts
};
// ssh hosts: known_hosts (a missing file: error), identity_file (a secret);
// local hosts: cert_root and the commands certfleet runs itself.
void check_host_paths(Checker& checker, const Host& host, const std::string& host_path,
                      const HostOrigins& origins, HostPathChecks& state);
// One warning for all the ssh hosts without known_hosts.
void finish_host_paths(Checker& checker, const HostPathChecks& state);
// One notifier at `path` ("notify[2]"): its textfile's directory, its exec command.
void check_notifier_paths(Checker& checker, std::string_view path,
                          const NotifierSettings& notifier);
// exec DNS providers and hooks (notifiers are checked as they load).
void check_local_paths(Checker& checker, const Inventory& inventory);

}  // namespace certfleet::inventory::detail
