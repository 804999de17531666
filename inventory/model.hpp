// The inventory (docs/inventory.md) as typed data. Parsing and validation live in
// inventory/load.*; this header is plain data so every module can include it.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <sys/types.h>
#include <variant>
#include <vector>

#include "core/crypto.hpp"
#include "core/enum_names.hpp"
#include "core/time.hpp"

namespace certfleet::inventory {

using core::Seconds;

struct EabConfig {
    std::string kid;
    std::string hmac_key_file;  // resolved path or "env:NAME"; content is base64url
};

struct AcmeConfig {
    std::string directory;
    std::vector<std::string> contact;
    bool accept_terms = false;
    std::string ca_bundle;  // extra trust for the CA's TLS (empty: system store)
    std::optional<EabConfig> eab;
    core::KeyType account_key = core::KeyType::EcdsaP256;
    std::string profile;
};

// How a DNS provider publishes challenge records (docs/inventory.md).
enum class DnsProviderType { Rfc2136, Exec, PowerDns, Lexicon, Cloudflare, Route53, AcmeDns };
inline constexpr core::EnumNames<DnsProviderType> kDnsProviderTypeNames[] = {
    {DnsProviderType::Rfc2136, "rfc2136"},       {DnsProviderType::Exec, "exec"},
    {DnsProviderType::PowerDns, "powerdns"},     {DnsProviderType::Lexicon, "lexicon"},
    {DnsProviderType::Cloudflare, "cloudflare"}, {DnsProviderType::Route53, "route53"},
    {DnsProviderType::AcmeDns, "acme-dns"},
};

struct DnsProviderConfig {
    std::string name;
    DnsProviderType type = DnsProviderType::Rfc2136;
    // rfc2136
    std::string server;  // "host:port" (port default 53)
    std::string tsig_name;
    std::string tsig_algorithm = "hmac-sha256";
    std::string tsig_secret_file;  // resolved path or "env:NAME"; content is base64
    uint32_t ttl = 60;             // cloudflare: 120
    // exec
    std::string command;
    std::string mode = "default";  // "default" | "raw"
    // exec: per command (120s); lexicon: per run (60s); route53: whole
    // present/cleanup with the INSYNC wait (180s); others: per present/cleanup (30s)
    Seconds timeout{120};
    // powerdns, cloudflare, acme-dns (api_url); route53 (endpoint)
    std::string api_url;  // "http://127.0.0.1:8081"
    std::string server_id = "localhost";
    std::string api_key_file;  // resolved path or "env:NAME"
    std::string ca_bundle;     // resolved path; empty: the system's trust store
    // lexicon
    std::string lexicon_provider;                                  // "cloudflare"
    std::vector<std::pair<std::string, std::string>> options;      // non-secret, name → value
    std::vector<std::pair<std::string, std::string>> credentials;  // name → secret reference
    std::string zone;                                              // --delegated
    std::string program = "lexicon";
    // cloudflare
    std::string api_token_file;  // resolved path or "env:NAME"
    // route53: keys from these, else the AWS environment / shared credentials
    std::string access_key_id_file;      // resolved path or "env:NAME"
    std::string secret_access_key_file;  // resolved path or "env:NAME"
    std::string aws_profile;             // shared credentials profile ("" : AWS_PROFILE/default)
    std::string hosted_zone_id;          // "" : found by name
    std::string region = "us-east-1";
    // acme-dns
    std::vector<std::string> allow_from;  // CIDR ranges sent at registration
};

struct DnsConfig {
    std::map<std::string, DnsProviderConfig> providers;
    std::vector<std::string> nameservers;  // "host:port"; empty: discover NS
    Seconds propagation_timeout{600};
    Seconds poll_interval{2};
};

// A threshold is either a duration before not-after or a fraction of lifetime.
struct Threshold {
    std::optional<Seconds> duration;
    std::optional<double> fraction;
};

struct Policy {
    std::optional<Seconds> renew_before;  // nullopt = "auto"
    Threshold warn_before{Seconds{21 * 86400}, std::nullopt};
    Threshold critical_before{Seconds{7 * 86400}, std::nullopt};
    int keep_versions = 3;
    Seconds notify_interval{86400};
};

struct VerifySettings {
    std::optional<std::string> address;
    int port = 443;
    std::optional<std::string> server_name;
    bool enabled = true;
};

struct SshSettings {
    std::string user = "certfleet";
    int port = 22;
    std::string identity_file;
    std::string known_hosts;
    Seconds connect_timeout{10};
};

struct AuditSettings {
    std::string config_dump_command = "nginx -T";
    std::vector<std::string> scan_dirs;
};

// Hosts per wave after the canary: a count, or a percentage of the group.
struct RolloutBatch {
    enum class Unit { Hosts, Percent };
    Unit unit = Unit::Percent;
    int value = 100;  // hosts: at least 1; percent: 1 to 100

    friend bool operator==(const RolloutBatch&, const RolloutBatch&) = default;
};

struct RolloutSettings {
    int canary = 0;
    RolloutBatch batch;
    int max_failures = 0;
};

// Host settings after resolving host > groups (in order) > defaults.
struct HostSettings {
    SshSettings ssh;
    std::string cert_root = "/etc/certfleet/live";
    std::string test_command;
    std::string reload_command;
    VerifySettings verify;
    mode_t key_mode = 0600;  // permission bits only; never any for others
    std::optional<std::string> key_group;
    AuditSettings audit;
    // The most one host may take for one certificate's deployment, or for
    // its audit; past it the host fails (swapped back) and the run goes on.
    Seconds host_timeout{300};
};

// How certfleet reaches a host: over SSH, or on this machine itself.
enum class HostTransport { Ssh, Local };

std::string_view host_transport_name(HostTransport transport);  // "ssh" | "local"
std::optional<HostTransport> parse_host_transport(std::string_view name);

struct Host {
    std::string name;
    std::string address;
    HostTransport transport = HostTransport::Ssh;
    std::vector<std::string> groups;
    HostSettings settings;  // resolved
};

struct Group {
    std::string name;
    RolloutSettings rollout;
    // false: only named by some host's "groups" (a label with the default rollout)
    bool declared = true;
    std::vector<std::string> hosts;  // members, sorted
};

struct CertificateSpec {
    std::string name;
    std::vector<std::string> domains;
    std::string dns_provider;  // key into DnsConfig::providers
    core::KeyType key = core::KeyType::EcdsaP256;
    bool reuse_key = false;
    std::string challenge_alias;
    std::vector<std::string> deploy_to;  // group or host names
    std::string profile;                 // overrides acme.profile
};

// Notifiers (docs/inventory.md, notify), one struct per "type". File paths are resolved.
enum class WebhookFormat { Json, Slack };

struct WebhookNotifierSettings {
    std::string url;
    WebhookFormat format = WebhookFormat::Json;
    std::string ca_bundle;  // "": acme.ca_bundle
};

struct EmailNotifierSettings {
    std::string smtp_url;
    std::string from;
    std::vector<std::string> to;
    std::string password_file;  // resolved path or "env:NAME"; "": no authentication
    std::string username;       // "": `from`
    std::string ca_bundle;      // "": acme.ca_bundle
};

struct ExecNotifierSettings {
    std::string command;
    Seconds timeout{120};
};

// Not a channel: the file the Prometheus node_exporter collects.
struct PrometheusNotifierSettings {
    std::string textfile;
};

using NotifierSettings = std::variant<WebhookNotifierSettings, EmailNotifierSettings,
                                      ExecNotifierSettings, PrometheusNotifierSettings>;

// The events a hook command may be set for. Declared in the order of their
// names, so a map keyed by them lists hooks like the inventory's JSON object.
enum class HookEvent { Deploy, Failure, Post, Pre, Warning };

// "pre", "post", ...: the key in the inventory and the event hooks are fired with.
std::string_view hook_event_name(HookEvent event);
std::optional<HookEvent> parse_hook_event(std::string_view name);
inline constexpr HookEvent kHookEvents[] = {HookEvent::Deploy, HookEvent::Failure, HookEvent::Post,
                                            HookEvent::Pre, HookEvent::Warning};

struct HookSettings {
    std::map<HookEvent, std::string> commands;  // shell commands; only the events set
    Seconds timeout{120};
};

struct Inventory {
    std::string path;       // the file it was loaded from
    std::string base_dir;   // its directory: relative paths resolve against it
    std::string state_dir;  // resolved (inventory, else /var/lib/certfleet)
    AcmeConfig acme;
    DnsConfig dns;
    std::map<std::string, Group> groups;
    std::map<std::string, Host> hosts;
    std::map<std::string, CertificateSpec> certificates;  // sorted by name
    Policy policy;
    std::vector<NotifierSettings> notify;  // in the inventory's order
    HookSettings hooks;
};

// The hosts a certificate goes to: deploy_to with group names expanded; sorted, unique.
std::vector<std::string> deploy_hosts(const Inventory& inventory, const CertificateSpec& cert);
// The certificates deployed to a host, sorted by name.
std::vector<std::string> certificates_for_host(const Inventory& inventory, const std::string& host);
// certificates_for_host for every host at once (hosts without any are absent):
// one pass over the certificates instead of one per host, for `audit`.
std::map<std::string, std::vector<std::string>> certificates_by_host(const Inventory& inventory);

}  // namespace certfleet::inventory
