// The acme-dns HTTP API (joohoi/acme-dns). acme-dns serves the TXT records of
// its own zone, and a domain hands its challenge name over with a CNAME
// (_acme-challenge.example.org → <uuid>.auth.example.org) that only the
// operator can add. So:
//  - the first present() for a domain registers it (POST /register gives a
//    username, an API key and the "fulldomain"), keeps the registration in
//    <storage_dir>/<domain>.json (0600) and stops with the CNAME to add: no
//    challenge can succeed before it is there;
//  - once the caller's CNAME following lands on the fulldomain, each
//    challenge value is one POST /update. acme-dns keeps the two latest
//    values of a registration (enough for a domain and its wildcard) and has
//    no delete, so cleanup() has nothing to do.
// The API key goes only into the X-Api-Key header and the 0600 file.
#include "acme/dns/acme_dns.hpp"

#include <algorithm>
#include <arpa/inet.h>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <netinet/in.h>
#include <set>
#include <sys/stat.h>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "acme/dns/http_api.hpp"
#include "acme/dns/names.hpp"
#include "core/fs.hpp"
#include "core/strings.hpp"

namespace certfleet::acme::dns {
namespace {

using core::ErrorKind;
using core::fail;
using Clock = ApiClock;
using Json = nlohmann::json;

constexpr int kMaxAttempts = 3;                   // per request: transient failures only
constexpr std::size_t kMaxFileBytes = 64 * 1024;  // a registration is about 250 bytes
constexpr std::size_t kValuesKept = 2;            // acme-dns keeps a registration's two latest
constexpr std::size_t kMaxFieldLength = 253;

// "Example.ORG." → "example.org": a registration's key and file name.
std::string domain_key(std::string_view domain) {
    std::string key = core::lower(domain);
    while (key.ends_with('.'))
        key.pop_back();
    return key;
}

bool is_name_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.';
}

// Labels of letters, digits, '-' and '_': also a file name that stays inside
// storage_dir ("..", "/" and "*" cannot appear).
bool is_dns_name(const std::string& name) {
    return !name.empty() && name.size() <= kMaxFieldLength && name.front() != '.' &&
           name.find("..") == std::string::npos &&
           std::all_of(name.begin(), name.end(), is_name_char);
}

// Credentials go into HTTP headers: printable ASCII without blanks, so a
// hostile answer or a tampered file cannot add header lines.
bool is_header_safe(const std::string& text) {
    return !text.empty() && text.size() <= kMaxFieldLength &&
           std::all_of(text.begin(), text.end(), [](char c) { return c > ' ' && c < '\x7f'; });
}

bool is_http_url(const std::string& url) {
    return url.starts_with("http://") || url.starts_with("https://");
}

std::string without_trailing_slashes(std::string url) {
    while (url.ends_with('/'))
        url.pop_back();
    return url;
}

// acme-dns parses allowfrom with Go's net.ParseCIDR: an address and a prefix length.
bool is_cidr(const std::string& text) {
    const std::size_t slash = text.find('/');
    if (slash == std::string::npos)
        return false;
    const std::string address = text.substr(0, slash);
    const std::string bits = text.substr(slash + 1);
    if (bits.empty() || bits.size() > 3 ||
        !std::all_of(bits.begin(), bits.end(), [](char c) { return c >= '0' && c <= '9'; }))
        return false;
    const int prefix = std::stoi(bits);
    in6_addr parsed{};
    if (::inet_pton(AF_INET, address.c_str(), &parsed) == 1)
        return prefix <= 32;
    return ::inet_pton(AF_INET6, address.c_str(), &parsed) == 1 && prefix <= 128;
}

std::string octal_mode(mode_t mode) {
    char text[16];
    std::snprintf(text, sizeof text, "%04o", static_cast<unsigned>(mode & 07777));
    return text;
}

std::string string_field(const Json& json, const char* name) {
    const auto it = json.find(name);
    return it != json.end() && it->is_string() ? it->get<std::string>() : "";
}

// The registration in `json`: POST /register's answer, or a stored file
// (which also has server_url). A failure names the field, never its value.
core::Result<AcmeDnsRegistration> registration_from(const Json& json, bool stored) {
    if (!json.is_object())
        return fail(ErrorKind::Protocol, "not a JSON object");
    AcmeDnsRegistration r{string_field(json, "username"), string_field(json, "password"),
                          string_field(json, "fulldomain"), string_field(json, "subdomain"),
                          stored ? string_field(json, "server_url") : ""};
    for (const auto& [name, value] :
         {std::pair{"username", &r.username}, std::pair{"password", &r.password},
          std::pair{"subdomain", &r.subdomain}})
        if (!is_header_safe(*value))
            return fail(ErrorKind::Protocol, std::string("no usable \"") + name + "\"");
    if (!is_dns_name(domain_key(r.fulldomain)))
        return fail(ErrorKind::Protocol, "no usable \"fulldomain\"");
    if (stored && !is_http_url(r.server_url))
        return fail(ErrorKind::Protocol, "no usable \"server_url\"");
    return r;
}

Json to_json(const AcmeDnsRegistration& r) {
    return Json{{"username", r.username},
                {"password", r.password},
                {"fulldomain", r.fulldomain},
                {"subdomain", r.subdomain},
                {"server_url", r.server_url}};
}

std::string forget_hint(const std::string& file, const std::string& domain) {
    return "delete " + file + " to register " + domain +
           " again (then point the CNAME at the new fulldomain)";
}

// The API's own words for a failed request: {"error": "..."} or the body.
std::string api_error_text(const core::HttpResponse& response) {
    auto json = Json::parse(response.body, nullptr, false);
    std::string text = json.is_object() && json.contains("error") && json["error"].is_string()
                           ? json["error"].get<std::string>()
                           : response.body;
    return excerpt(text);
}

// The records of one domain in a batch (a domain and its wildcard share
// one registration), with that registration once loaded.
struct DomainBatch {
    std::string domain;               // domain_key
    std::string file;                 // where its registration is kept
    std::vector<std::string> fqdns;   // where its challenge names lead, normalized
    std::vector<std::string> values;  // distinct, in the order given
    std::optional<AcmeDnsRegistration> registration;
};

template <class T>
void add_unique(std::vector<T>& items, const T& item) {
    if (std::find(items.begin(), items.end(), item) == items.end())
        items.push_back(item);
}

// A challenge name that does not lead to the registration's fulldomain.
std::optional<std::string> cname_missing(const DomainBatch& batch) {
    const std::string target = normalize_fqdn(batch.registration->fulldomain);
    for (const auto& fqdn : batch.fqdns)
        if (fqdn != target)
            return fqdn;
    return std::nullopt;
}

std::string plural_s(std::size_t n) {
    return n > 1 ? "s" : "";
}

std::string validate_hint(std::size_t records) {
    // --force: the failure that printed this would otherwise defer the next
    // attempt by the usual backoff.
    return "`certfleet validate --online` tells when " +
           std::string(records > 1 ? "they are" : "it is") +
           " in place; then `certfleet issue --force CERT` issues at once";
}

class AcmeDnsProvider final : public DnsProvider {
public:
    AcmeDnsProvider(AcmeDnsConfig config, std::shared_ptr<core::HttpClient> http)
        : m_config(std::move(config)), m_http(std::move(http)) {}

    core::Status present(const std::vector<ChallengeRecord>& records) override;
    // acme-dns has no delete: a registration keeps its two latest values and
    // the next /update rotates ours out, so there is nothing to remove.
    core::Status cleanup(const std::vector<ChallengeRecord>& records) override {
        (void)records;
        return {};
    }
    core::Seconds timeout() const override { return m_config.timeout; }
    std::string describe() const override {
        return "acme-dns " + m_config.name + " (" + m_config.api_url + ")";
    }
    core::Result<AccessCheck> check_access(const std::vector<ChallengeRecord>& records) override;

private:
    core::Result<std::vector<DomainBatch>> batches_of(
        const std::vector<ChallengeRecord>& records) const;
    core::Status load_registration(DomainBatch& batch) const;
    core::Status register_missing(std::vector<DomainBatch>& batches, Clock::time_point deadline);
    core::Result<AcmeDnsRegistration> register_domain(const std::string& domain,
                                                      Clock::time_point deadline);
    core::Status store(const DomainBatch& batch) const;
    core::Status require_cnames(const std::vector<DomainBatch>& batches) const;
    core::Status update(const DomainBatch& batch, const std::string& value,
                        Clock::time_point deadline);
    core::Status check_health();
    void report_access(const std::string& domain, const std::string& fqdn,
                       AccessCheck& check) const;
    core::HttpRequest request(const std::string& method, const std::string& path,
                              const std::string& body) const;
    core::Result<core::HttpResponse> send(const core::HttpRequest& request, const std::string& what,
                                          Clock::time_point deadline, int max_attempts);
    core::Failure http_failure(const core::HttpResponse& response, const std::string& what) const;

    AcmeDnsConfig m_config;
    std::shared_ptr<core::HttpClient> m_http;
    // One registration per domain: two presents must not both register it.
    std::mutex m_mutex;
};

core::Status AcmeDnsProvider::present(const std::vector<ChallengeRecord>& records) {
    std::lock_guard lock(m_mutex);
    const auto deadline = Clock::now() + m_config.timeout;
    auto batches = batches_of(records);
    if (!batches)
        return batches.failure();
    if (auto st = register_missing(*batches, deadline); !st)
        return st;
    if (auto st = require_cnames(*batches); !st)
        return st;
    for (const auto& batch : *batches)
        for (const auto& value : batch.values)
            if (auto st = update(batch, value, deadline); !st)
                return st;
    return {};
}

// Records grouped by domain, each batch checked and its registration loaded,
// all before any request.
core::Result<std::vector<DomainBatch>> AcmeDnsProvider::batches_of(
    const std::vector<ChallengeRecord>& records) const {
    std::vector<DomainBatch> batches;
    for (const auto& r : records) {
        const std::string domain = domain_key(r.domain);
        auto it = std::find_if(batches.begin(), batches.end(),
                               [&](const DomainBatch& b) { return b.domain == domain; });
        if (it == batches.end())
            it = batches.insert(batches.end(), DomainBatch{domain, {}, {}, {}, std::nullopt});
        add_unique(it->fqdns, normalize_fqdn(r.fqdn));
        add_unique(it->values, r.value);
    }
    for (const auto& batch : batches)
        if (batch.values.size() > kValuesKept)
            return fail(ErrorKind::Config,
                        describe() + ": " + std::to_string(batch.values.size()) +
                            " challenge values for " + batch.domain +
                            " at once, but acme-dns keeps only the two latest of a registration",
                        "validate " + batch.domain + " and *." + batch.domain +
                            " at most, for one certificate at a time");
    for (auto& batch : batches)
        if (auto st = load_registration(batch); !st)
            return st.failure();
    return batches;
}

core::Status AcmeDnsProvider::load_registration(DomainBatch& batch) const {
    auto file = acme_dns_registration_file(m_config.storage_dir, batch.domain);
    auto stored = load_acme_dns_registration(m_config.storage_dir, batch.domain);
    if (!file || !stored) {
        const auto& error = file ? stored.error() : file.error();
        return fail(ErrorKind::Config, describe() + ": " + error.message, error.hint);
    }
    batch.file = *file;
    batch.registration = std::move(*stored);
    // The credentials belong to the server that issued them: never sent elsewhere.
    if (batch.registration &&
        without_trailing_slashes(batch.registration->server_url) != m_config.api_url)
        return fail(ErrorKind::Config,
                    describe() + ": the registration of " + batch.domain + " in " + batch.file +
                        " was made at " + batch.registration->server_url + ", not at " +
                        m_config.api_url,
                    "set api_url back, or " + forget_hint(batch.file, batch.domain));
    return {};
}

// Registers every unregistered domain of the batch, then fails with every
// CNAME still missing, so the operator adds them all at once.
core::Status AcmeDnsProvider::register_missing(std::vector<DomainBatch>& batches,
                                               Clock::time_point deadline) {
    std::vector<std::string> registered;
    for (auto& batch : batches) {
        if (batch.registration)
            continue;
        auto made = register_domain(batch.domain, deadline);
        if (!made)
            return made.failure();
        batch.registration = std::move(*made);
        if (auto st = store(batch); !st)
            return st;
        registered.push_back(batch.domain);
    }
    if (registered.empty())
        return {};
    std::vector<std::string> to_add;
    for (const auto& batch : batches)
        if (cname_missing(batch))
            to_add.push_back(acme_dns_cname_record(batch.domain, *batch.registration));
    return fail(ErrorKind::Config,
                describe() + ": registered " + core::join(registered) +
                    " with acme-dns; add the DNS record" + plural_s(to_add.size()) + "  " +
                    core::join(to_add, "  and  ") + "  and issue again",
                validate_hint(to_add.size()));
}

core::Result<AcmeDnsRegistration> AcmeDnsProvider::register_domain(const std::string& domain,
                                                                   Clock::time_point deadline) {
    const std::string body =
        m_config.allow_from.empty() ? "" : Json{{"allowfrom", m_config.allow_from}}.dump();
    const std::string what = "register " + domain;
    auto response = send(request("POST", "/register", body), what, deadline, kMaxAttempts);
    if (!response)
        return response.failure();
    if (response->status < 200 || response->status >= 300)
        return http_failure(*response, what);
    auto registration = registration_from(Json::parse(response->body, nullptr, false), false);
    if (!registration)
        return fail(ErrorKind::Protocol,
                    describe() + ": " + what + ": the answer is not an acme-dns registration (" +
                        registration.error().message + ")",
                    "check api_url: it must point at acme-dns");
    registration->server_url = m_config.api_url;
    spdlog::info("{}: registered {}: its challenge name must be a CNAME to {}", describe(), domain,
                 normalize_fqdn(registration->fulldomain));
    return registration;
}

core::Status AcmeDnsProvider::store(const DomainBatch& batch) const {
    // 0700 and 0600: the files hold API keys.
    auto st = core::make_dirs(m_config.storage_dir, 0700);
    if (st)
        st = core::write_file_atomic(batch.file, to_json(*batch.registration).dump(2) + "\n", 0600);
    if (!st)
        return fail(
            st.error().kind,
            describe() + ": registered " + batch.domain +
                " but could not keep the registration: " + st.error().message,
            "fix the storage directory and run again: " + batch.domain + " is registered afresh");
    return {};
}

core::Status AcmeDnsProvider::require_cnames(const std::vector<DomainBatch>& batches) const {
    std::vector<std::string> missing;
    std::vector<std::string> to_add;
    for (const auto& batch : batches) {
        const auto resolves_to = cname_missing(batch);
        if (!resolves_to)
            continue;
        missing.push_back("the CNAME " + challenge_name(batch.domain) + " → " +
                          normalize_fqdn(batch.registration->fulldomain) +
                          " is not in place (the challenge name resolves to " + *resolves_to + ")");
        to_add.push_back(acme_dns_cname_record(batch.domain, *batch.registration));
    }
    if (missing.empty())
        return {};
    return fail(ErrorKind::Config, describe() + ": " + core::join(missing, "; "),
                "add the DNS record" + plural_s(to_add.size()) + "  " +
                    core::join(to_add, "  and  ") + "  (" + validate_hint(to_add.size()) + ")");
}

core::Status AcmeDnsProvider::update(const DomainBatch& batch, const std::string& value,
                                     Clock::time_point deadline) {
    const AcmeDnsRegistration& registration = *batch.registration;
    auto req = request("POST", "/update",
                       Json{{"subdomain", registration.subdomain}, {"txt", value}}.dump());
    req.headers.push_back("X-Api-User: " + registration.username);
    req.headers.push_back("X-Api-Key: " + registration.password);
    const std::string what = "update the TXT value of " + batch.domain;
    auto response = send(req, what, deadline, kMaxAttempts);
    if (!response)
        return response.failure();
    if (response->status == 401)
        return fail(ErrorKind::Config,
                    describe() + ": acme-dns rejected the stored credentials for " + batch.domain +
                        " (" + batch.file + ")",
                    forget_hint(batch.file, batch.domain));
    if (response->status < 200 || response->status >= 300)
        return http_failure(*response, what);
    auto json = Json::parse(response->body, nullptr, false);
    if (!json.is_object() || string_field(json, "txt") != value)
        return fail(ErrorKind::Protocol,
                    describe() + ": " + what + ": the answer does not echo the value set",
                    "check api_url: it must point at acme-dns");
    spdlog::info("{}: set a TXT value of {} at {}", describe(), batch.domain,
                 normalize_fqdn(registration.fulldomain));
    return {};
}

core::Result<AccessCheck> AcmeDnsProvider::check_access(
    const std::vector<ChallengeRecord>& records) {
    std::lock_guard lock(m_mutex);
    if (auto st = check_health(); !st)
        return st.failure();
    AccessCheck check;
    std::set<std::pair<std::string, std::string>> seen;
    for (const auto& r : records) {
        const std::string domain = domain_key(r.domain);
        const std::string fqdn = normalize_fqdn(r.fqdn);
        if (seen.emplace(domain, fqdn).second)
            report_access(domain, fqdn, check);
    }
    return check;
}

// GET /health: the API's one read-only call (registrations cannot be read back).
core::Status AcmeDnsProvider::check_health() {
    const std::string what = "GET " + m_config.api_url + "/health";
    auto response = send(request("GET", "/health", ""), what, Clock::now() + m_config.timeout, 1);
    if (!response)
        return response.failure();
    if (response->status != 200)
        return http_failure(*response, what);
    return {};
}

void AcmeDnsProvider::report_access(const std::string& domain, const std::string& fqdn,
                                    AccessCheck& check) const {
    DomainBatch batch{domain, {}, {fqdn}, {}, std::nullopt};
    if (auto st = load_registration(batch); !st)
        check.problems.push_back(st.error().describe());
    else if (!batch.registration)
        check.problems.push_back(
            domain + ": not registered yet: the first issue registers it and prints the CNAME");
    else if (cname_missing(batch))
        check.problems.push_back(domain + ": add " +
                                 acme_dns_cname_record(domain, *batch.registration));
    else
        check.notes.push_back(domain + ": CNAME in place (" + challenge_name(domain) + " → " +
                              fqdn + ")");
}

core::HttpRequest AcmeDnsProvider::request(const std::string& method, const std::string& path,
                                           const std::string& body) const {
    core::HttpRequest req;
    req.method = method;
    req.url = m_config.api_url + path;
    req.headers = {"Accept: application/json"};
    if (!body.empty())
        req.headers.push_back("Content-Type: application/json");
    req.body = body;
    return req;
}

core::Failure AcmeDnsProvider::http_failure(const core::HttpResponse& response,
                                            const std::string& what) const {
    const std::string text = describe() + ": " + what + ": HTTP " +
                             std::to_string(response.status) + ": " + api_error_text(response);
    if (response.status == 401 || response.status == 403)
        return fail(ErrorKind::Config, text,
                    "check api_url, and that acme-dns allows this machine's address");
    if (response.status == 429)
        return rate_limited(response, text);
    return fail(ErrorKind::Dns, text);
}

// One request, tried again as send_with_retries does, at most `max_attempts`
// times. Any final HTTP status is returned for the caller to judge. A
// /register whose answer was lost and is sent again leaves an unused
// registration on the server, which is harmless.
core::Result<core::HttpResponse> AcmeDnsProvider::send(const core::HttpRequest& request,
                                                       const std::string& what,
                                                       Clock::time_point deadline,
                                                       int max_attempts) {
    RetryPolicy policy;
    policy.max_attempts = max_attempts;
    return send_with_retries(*m_http, request, describe() + ": " + what, deadline, policy);
}

}  // namespace

core::Result<std::string> acme_dns_registration_file(const std::string& storage_dir,
                                                     std::string_view domain) {
    const std::string key = domain_key(domain);
    if (!is_dns_name(key))
        return fail(ErrorKind::Config,
                    "acme-dns: \"" + std::string(domain) + "\" cannot name a registration file",
                    "acme-dns registrations are per domain name (the identifier without \"*.\")");
    return without_trailing_slashes(storage_dir) + "/" + key + ".json";
}

core::Result<std::optional<AcmeDnsRegistration>> load_acme_dns_registration(
    const std::string& storage_dir, std::string_view domain) {
    auto file = acme_dns_registration_file(storage_dir, domain);
    if (!file)
        return file.failure();
    const std::string what = "the acme-dns registration " + *file;
    const std::string forget = forget_hint(*file, domain_key(domain));
    struct stat st {};
    if (::lstat(file->c_str(), &st) != 0) {
        const int err = errno;
        if (err == ENOENT)
            return std::optional<AcmeDnsRegistration>();
        return fail(ErrorKind::Config, "cannot read " + what + ": " + core::errno_text(err));
    }
    if (!S_ISREG(st.st_mode))
        return fail(ErrorKind::Config, what + " is not a regular file", forget);
    if ((st.st_mode & 07777) != 0600)
        return fail(ErrorKind::Config,
                    what + " has mode " + octal_mode(st.st_mode) +
                        ", but it holds an API key: it must be 0600",
                    "chmod 600 " + *file + " if nobody else could read it; else " + forget);
    auto text = core::read_file(*file, kMaxFileBytes);
    if (!text)
        return fail(ErrorKind::Config, text.error().message);
    auto json = Json::parse(*text, nullptr, false);
    if (json.is_discarded())
        return fail(ErrorKind::Config, what + " is not valid JSON", forget);
    auto registration = registration_from(json, true);
    if (!registration)
        return fail(ErrorKind::Config, what + " is malformed: " + registration.error().message,
                    forget);
    return std::optional<AcmeDnsRegistration>(std::move(*registration));
}

std::string acme_dns_cname_record(std::string_view domain,
                                  const AcmeDnsRegistration& registration) {
    return challenge_name(domain_key(domain)) + " CNAME " + normalize_fqdn(registration.fulldomain);
}

core::Result<std::unique_ptr<DnsProvider>> make_acme_dns_provider(
    AcmeDnsConfig config, std::shared_ptr<core::HttpClient> http) {
    const std::string who = "acme-dns provider '" + config.name + "'";
    if (!is_http_url(config.api_url))
        return fail(ErrorKind::Config, who + ": api_url must start with http:// or https://");
    config.api_url = without_trailing_slashes(config.api_url);
    if (config.storage_dir.empty())
        return fail(ErrorKind::Config, who + ": storage_dir is empty",
                    "the registrations are kept there (0600 files)");
    for (const auto& range : config.allow_from)
        if (!is_cidr(range))
            return fail(ErrorKind::Config,
                        who + ": allow_from entry \"" + range + "\" is not a CIDR range",
                        "write an address and a prefix length: \"192.0.2.0/24\", "
                        "\"2001:db8::/32\"");
    if (config.timeout <= core::Seconds(0))
        return fail(ErrorKind::Config, who + ": timeout must be positive");
    if (!http)
        http = make_api_client(config.ca_bundle, config.timeout);
    return std::unique_ptr<DnsProvider>(
        std::make_unique<AcmeDnsProvider>(std::move(config), std::move(http)));
}

}  // namespace certfleet::acme::dns
