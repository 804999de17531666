// Settings of the DNS providers and of the propagation checker. The acme
// module knows nothing of the inventory: the CLI maps inventory settings
// (durations already parsed, secret files already read) onto these.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <set>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "core/time.hpp"

namespace certfleet::acme::dns {

// RFC 2136 dynamic update with TSIG against the zone's primary.
struct Rfc2136Config {
    std::string name;                            // provider name in messages ("primary")
    std::string server;                          // "host[:port]", port 53 by default
    std::string tsig_name;                       // key name as configured on the server
    std::string tsig_algorithm = "hmac-sha256";  // hmac-sha256 | hmac-sha512 | hmac-sha1
    std::string tsig_secret;                     // base64; never logged
    std::uint32_t ttl = 60;
    core::Seconds timeout{30};  // whole present/cleanup, SOA lookups and retries included
};

// lego-compatible exec provider (see docs/inventory.md, "exec" provider).
struct ExecConfig {
    enum class Mode { Default, Raw };
    std::string name;
    std::string command;  // split on whitespace into argv; no shell
    Mode mode = Mode::Default;
    core::Seconds timeout{120};  // per command run
};

// The PowerDNS Authoritative HTTP API.
struct PowerDnsConfig {
    std::string name;     // provider name in messages ("pdns")
    std::string api_url;  // "http://127.0.0.1:8081" (the part before /api/v1)
    std::string server_id = "localhost";
    std::string api_key;  // sent as X-API-Key; never logged
    std::uint32_t ttl = 60;
    core::Seconds timeout{30};  // whole present/cleanup, retries included
    std::string ca_bundle;      // PEM file trusted for an https api_url (empty: system)
};

// Debian's lexicon (DNS-Lexicon 3.11) run once per record: about 80 DNS APIs.
struct LexiconConfig {
    std::string name;      // provider name in messages
    std::string provider;  // lexicon's provider ("cloudflare", "powerdns", "ovh", …)
    // Non-secret provider options, passed as "--<name> <value>" ("pdns-server").
    std::vector<std::pair<std::string, std::string>> options;
    // Secrets, passed only as LEXICON_<PROVIDER>_AUTH_<NAME> in lexicon's
    // environment, never on its command line ("token" → ..._AUTH_TOKEN).
    std::vector<std::pair<std::string, std::string>> credentials;
    std::string zone;  // --delegated: the zone when it is not the registered domain
    std::string program = "lexicon";
    std::uint32_t ttl = 60;
    core::Seconds timeout{60};  // per lexicon run
};

// Cloudflare's API v4 with an API token (Bearer): zones by name, TXT records
// listed (paginated), created and deleted one by one (the API has no batch).
struct CloudflareConfig {
    std::string name;
    std::string api_url = "https://api.cloudflare.com/client/v4";
    std::string api_token;      // sent as "Authorization: Bearer"; never logged
    std::uint32_t ttl = 120;    // Cloudflare's minimum outside Enterprise plans
    core::Seconds timeout{30};  // whole present/cleanup, retries included
    std::string ca_bundle;      // extra trust for api_url (tests; empty: system)
};

// Amazon Route 53 with Signature Version 4: one ChangeResourceRecordSets per
// hosted zone (UPSERT / DELETE of whole TXT value sets), then GetChange until
// INSYNC.
struct Route53Config {
    std::string name;
    std::string endpoint = "https://route53.amazonaws.com";
    std::string region = "us-east-1";  // Route 53 signs in us-east-1
    std::string access_key_id;
    std::string secret_access_key;  // never logged
    std::string session_token;      // temporary credentials (STS); may be empty
    std::string hosted_zone_id;     // empty: found through ListHostedZones
    std::uint32_t ttl = 60;
    core::Seconds timeout{180};  // whole present/cleanup, the INSYNC wait included
    std::chrono::milliseconds insync_poll{std::chrono::seconds(2)};
    std::string ca_bundle;  // extra trust for endpoint (tests; empty: system)
};

// acme-dns (joohoi/acme-dns): one registration per domain, kept in
// `storage_dir` (0600 files); the operator CNAMEs _acme-challenge.<domain>
// to the registration's fulldomain once; each challenge is one /update.
struct AcmeDnsConfig {
    std::string name;
    std::string api_url;                  // "https://auth.acme-dns.io"
    std::string storage_dir;              // "<state_dir>/acme-dns/<provider name>"
    std::vector<std::string> allow_from;  // CIDR ranges sent at registration
    core::Seconds timeout{30};            // whole present, retries included
    std::string ca_bundle;                // extra trust for api_url (empty: system)
};

// The tag is the variant index; `make_provider` dispatches on it.
using ProviderConfig = std::variant<Rfc2136Config, ExecConfig, PowerDnsConfig, LexiconConfig,
                                    CloudflareConfig, Route53Config, AcmeDnsConfig>;

// Where challenge names are looked up and propagation is checked.
struct ResolverConfig {
    // "host[:port]". Set: these are authoritative for every challenge zone and
    // are asked with recursion off. Empty: /etc/resolv.conf servers (recursion
    // on) discover the zone and its NS, which are then asked directly.
    std::vector<std::string> nameservers;
    core::Seconds propagation_timeout{600};
    std::chrono::milliseconds poll_interval{std::chrono::seconds(5)};
    std::chrono::milliseconds query_timeout{std::chrono::seconds(3)};  // one DNS query
    std::string resolv_conf = "/etc/resolv.conf";
    // How the propagation check asks one server ("host:port") for one name's
    // TXT values: "" when all `expected` are there, else why not. Empty: a
    // DNS query with recursion off. A seam for tests, which cannot make a
    // real query throw.
    std::function<std::string(const std::string& server, const std::string& fqdn,
                              const std::set<std::string>& expected,
                              std::chrono::milliseconds timeout)>
        check_with;
};

}  // namespace certfleet::acme::dns
