// acme-dns (joohoi/acme-dns): one registration per domain, kept in a 0600
// file, to which the operator CNAMEs _acme-challenge.<domain> once; each
// challenge is then one POST /update. See config.hpp (AcmeDnsConfig) for the
// settings. The helpers below let `certfleet validate` read a registration
// and print the CNAME the operator must add.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "acme/dns/config.hpp"
#include "acme/dns/provider.hpp"
#include "core/http.hpp"
#include "core/result.hpp"

namespace certfleet::acme::dns {

// What POST /register returned, as stored in <storage_dir>/<domain>.json.
struct AcmeDnsRegistration {
    std::string username;    // sent as X-Api-User
    std::string password;    // sent as X-Api-Key; never in a message or log
    std::string fulldomain;  // "<uuid>.auth.example.org": the CNAME target
    std::string subdomain;   // "<uuid>": named in each /update
    std::string server_url;  // api_url at registration: the credentials hold only there
};

// "<storage_dir>/<domain>.json" for a domain ("example.org", case and a
// trailing dot ignored). A domain that cannot be a file name ("../x", "*.a")
// is an ErrorKind::Config failure.
core::Result<std::string> acme_dns_registration_file(const std::string& storage_dir,
                                                     std::string_view domain);

// The stored registration of `domain`, or nullopt when there is none yet. A
// file that is not mode 0600, unreadable or malformed is an ErrorKind::Config
// failure naming the file (never its content).
core::Result<std::optional<AcmeDnsRegistration>> load_acme_dns_registration(
    const std::string& storage_dir, std::string_view domain);

// The record the operator adds once:
// "_acme-challenge.example.org. CNAME <uuid>.auth.example.org."
std::string acme_dns_cname_record(std::string_view domain, const AcmeDnsRegistration& registration);

// Validates the settings without network traffic (errors are
// ErrorKind::Config). `http` is the client to use; null: a libcurl client
// bounded by config.timeout (a seam for tests).
core::Result<std::unique_ptr<DnsProvider>> make_acme_dns_provider(
    AcmeDnsConfig config, std::shared_ptr<core::HttpClient> http = nullptr);

}  // namespace certfleet::acme::dns
