// Amazon Route 53: every TXT value set of one hosted zone changes in one
// ChangeResourceRecordSets (UPSERT of the whole set a name must keep, DELETE
// of a set that keeps nothing, carrying its exact current values and TTL as
// Route 53 demands), then GetChange is polled until the batch is INSYNC, all
// within config.timeout. Requests are signed with SigV4 (aws_sigv4.hpp);
// answers are XML (route53_xml.hpp).
#include "acme/dns/route53.hpp"

#include <algorithm>
#include <chrono>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include <spdlog/spdlog.h>

#include "acme/dns/aws_credentials.hpp"
#include "acme/dns/aws_sigv4.hpp"
#include "acme/dns/http_api.hpp"
#include "acme/dns/names.hpp"

namespace certfleet::acme::dns {

namespace {

using core::ErrorKind;
using core::fail;
using route53_xml::Action;
using route53_xml::Change;
using route53_xml::HostedZone;
using route53_xml::RecordSet;
using Clock = ApiClock;

constexpr long kThrottledWaitSeconds = 2;
constexpr int kMaxZonePages = 20;           // of 100 zones: more needs hosted_zone_id
constexpr std::size_t kMaxZonesNamed = 10;  // in a message
constexpr const char* kApi = "/2013-04-01";

// Answers with these codes (HTTP 400) mean "later", not "never".
bool is_throttling(const std::string& code) {
    return code == "Throttling" || code == "ThrottlingException" ||
           code == "PriorRequestNotComplete" || code == "RequestLimitExceeded";
}

// Credential problems some AWS endpoints answer with 400 instead of 403.
bool is_credential_problem(const std::string& code) {
    static const std::set<std::string> kCodes = {
        "SignatureDoesNotMatch",      "InvalidClientTokenId",       "AccessDenied",
        "AccessDeniedException",      "IncompleteSignature",        "ExpiredToken",
        "MissingAuthenticationToken", "UnrecognizedClientException"};
    return kCodes.contains(code);
}

std::string quoted(const std::string& value) {
    return "\"" + value + "\"";
}

std::string zone_names(const std::vector<HostedZone>& zones) {
    std::string out;
    for (std::size_t i = 0; i < zones.size() && i < kMaxZonesNamed; ++i)
        out += (out.empty() ? "" : ", ") + zones[i].name;
    if (zones.size() > kMaxZonesNamed)
        out += " and " + std::to_string(zones.size() - kMaxZonesNamed) + " more";
    return out.empty() ? "none" : out;
}

// The zone holding `fqdn`: the longest public zone it is inside of.
const HostedZone* zone_of(const std::vector<HostedZone>& zones, const std::string& fqdn) {
    const HostedZone* best = nullptr;
    for (const auto& z : zones)
        if (!z.private_zone && name_is_subdomain_of(fqdn, z.name) &&
            (!best || z.name.size() > best->name.size()))
            best = &z;
    return best;
}

// name → the values of ours that go there (quoted, as Route 53 holds them).
using NameValues = std::map<std::string, std::set<std::string>>;

struct ZoneWork {
    HostedZone zone;
    NameValues ours;
};

std::string zone_label(const HostedZone& zone) {
    return zone.name.empty() ? "hosted zone " + zone.id
                             : "zone " + zone.name + " (" + zone.id + ")";
}

// What a 403 asks for: the keys, or a policy granting exactly these.
std::string iam_hint(const std::string& zone_id) {
    const std::string zone = zone_id.empty() ? "<zone id>" : zone_id;
    return "check the access key and secret; the least-privilege IAM policy allows "
           "route53:ListHostedZones on * (zone discovery; not needed with hosted_zone_id), "
           "route53:ListResourceRecordSets and route53:ChangeResourceRecordSets on "
           "arn:aws:route53:::hostedzone/" +
           zone + ", and route53:GetChange on arn:aws:route53:::change/*";
}

class Route53Provider final : public DnsProvider {
public:
    Route53Provider(Route53Config config, std::shared_ptr<core::HttpClient> http)
        : m_config(std::move(config)), m_http(std::move(http)) {}

    core::Status present(const std::vector<ChallengeRecord>& records) override {
        return change(records, true);
    }
    core::Status cleanup(const std::vector<ChallengeRecord>& records) override {
        return change(records, false);
    }
    core::Seconds timeout() const override { return m_config.timeout; }
    std::string describe() const override {
        return "route53 " + m_config.name + " (" + m_config.endpoint + ")";
    }
    core::Result<AccessCheck> check_access(const std::vector<ChallengeRecord>& records) override;

private:
    core::Status change(const std::vector<ChallengeRecord>& records, bool add);
    core::Result<std::vector<ZoneWork>> work_by_zone(const std::vector<ChallengeRecord>& records,
                                                     Clock::time_point deadline);
    core::Result<std::vector<HostedZone>> list_zones(Clock::time_point deadline);
    core::Result<std::optional<Change>> change_for(const HostedZone& zone, const std::string& fqdn,
                                                   const std::set<std::string>& ours, bool add,
                                                   Clock::time_point deadline);
    core::Result<std::optional<RecordSet>> txt_set(const HostedZone& zone, const std::string& fqdn,
                                                   Clock::time_point deadline);
    core::Result<route53_xml::ChangeInfo> submit(const HostedZone& zone,
                                                 const std::vector<Change>& changes,
                                                 Clock::time_point deadline);
    core::Status wait_insync(const HostedZone& zone, route53_xml::ChangeInfo change,
                             Clock::time_point deadline);
    core::Result<core::HttpResponse> request(const std::string& method, const std::string& target,
                                             const std::string& body, const std::string& what,
                                             const std::string& zone_id,
                                             Clock::time_point deadline);
    core::Failure http_failure(const core::HttpResponse& response, const std::string& what,
                               const std::string& zone_id) const;
    core::Failure garbage(const std::string& what, const core::Error& error) const;
    std::string api_text(const core::HttpResponse& response) const;

    Route53Config m_config;
    std::shared_ptr<core::HttpClient> m_http;
    // present/cleanup read a name's values and write them back: one at a time.
    std::mutex m_mutex;
};

core::Status Route53Provider::change(const std::vector<ChallengeRecord>& records, bool add) {
    std::lock_guard lock(m_mutex);
    const auto deadline = Clock::now() + m_config.timeout;
    auto work = work_by_zone(records, deadline);
    if (!work)
        return work.failure();
    for (const auto& [zone, ours] : *work) {
        std::vector<Change> changes;
        for (const auto& [fqdn, values] : ours) {
            auto needed = change_for(zone, fqdn, values, add, deadline);
            if (!needed)
                return needed.failure();
            if (*needed)
                changes.push_back(std::move(**needed));
        }
        if (changes.empty())
            continue;  // already as wanted (a repeated present, a cleanup after a crash)
        auto submitted = submit(zone, changes, deadline);
        if (!submitted)
            return submitted.failure();
        if (auto st = wait_insync(zone, *submitted, deadline); !st)
            return st;
        spdlog::info("{}: {} the TXT records at {} name(s) in {} (change {} INSYNC)", describe(),
                     add ? "added" : "removed", changes.size(), zone_label(zone), submitted->id);
    }
    return {};
}

core::Result<std::vector<ZoneWork>> Route53Provider::work_by_zone(
    const std::vector<ChallengeRecord>& records, Clock::time_point deadline) {
    std::vector<HostedZone> zones;
    if (!m_config.hosted_zone_id.empty()) {
        zones.push_back({m_config.hosted_zone_id, "", false});
    } else {
        auto listed = list_zones(deadline);
        if (!listed)
            return listed.failure();
        zones = std::move(*listed);
    }
    std::map<std::string, ZoneWork> by_id;
    for (const auto& r : records) {
        const std::string fqdn = normalize_fqdn(r.fqdn);
        const HostedZone* zone =
            m_config.hosted_zone_id.empty() ? zone_of(zones, fqdn) : &zones.front();
        if (!zone)
            return fail(ErrorKind::Dns,
                        describe() + ": no public hosted zone holds " + fqdn +
                            " (zones: " + zone_names(zones) + ")",
                        "create the hosted zone, set hosted_zone_id, or check the domain's "
                        "challenge_alias / CNAME (private zones are not used)");
        auto& work = by_id[zone->id];
        work.zone = *zone;
        work.ours[fqdn].insert(quoted(r.value));
    }
    std::vector<ZoneWork> out;
    for (auto& [id, work] : by_id)
        out.push_back(std::move(work));
    return out;
}

core::Result<std::vector<HostedZone>> Route53Provider::list_zones(Clock::time_point deadline) {
    std::vector<HostedZone> zones;
    std::string marker;
    for (int page = 0; page < kMaxZonePages; ++page) {
        std::string target = std::string(kApi) + "/hostedzone?";
        if (!marker.empty())
            target += "marker=" + sigv4::uri_encode(marker) + "&";
        target += "maxitems=100";
        auto response = request("GET", target, "", "list hosted zones", "", deadline);
        if (!response)
            return response.failure();
        auto parsed = route53_xml::parse_hosted_zones(response->body);
        if (!parsed)
            return garbage("list hosted zones", parsed.error());
        zones.insert(zones.end(), parsed->zones.begin(), parsed->zones.end());
        if (parsed->next_marker.empty())
            return zones;
        if (parsed->next_marker == marker)
            return fail(ErrorKind::Protocol,
                        describe() + ": list hosted zones: the same page came twice");
        marker = parsed->next_marker;
    }
    return fail(ErrorKind::Config,
                describe() + ": list hosted zones: more than " +
                    std::to_string(kMaxZonePages * 100) + " hosted zones",
                "set hosted_zone_id");
}

// The change a name needs, or none when it already is as wanted.
core::Result<std::optional<Change>> Route53Provider::change_for(const HostedZone& zone,
                                                                const std::string& fqdn,
                                                                const std::set<std::string>& ours,
                                                                bool add,
                                                                Clock::time_point deadline) {
    auto current = txt_set(zone, fqdn, deadline);
    if (!current)
        return current.failure();
    const RecordSet existing = current->value_or(RecordSet{fqdn, "TXT", m_config.ttl, {}});
    RecordSet wanted{fqdn, "TXT", add ? m_config.ttl : existing.ttl, {}};
    for (const auto& v : existing.values)
        if (add || !ours.contains(v))
            wanted.values.push_back(v);
    if (add)
        for (const auto& v : ours)
            if (std::find(existing.values.begin(), existing.values.end(), v) ==
                existing.values.end())
                wanted.values.push_back(v);
    if (wanted.values == existing.values)
        return std::optional<Change>();
    if (wanted.values.empty())  // Route 53 deletes a set only when told its exact contents
        return std::optional<Change>(Change{Action::Delete, existing});
    return std::optional<Change>(Change{Action::Upsert, std::move(wanted)});
}

// The TXT set at `fqdn`. Route 53 lists from that name on, so the first set
// it returns may be another name's: that means there is none.
core::Result<std::optional<RecordSet>> Route53Provider::txt_set(const HostedZone& zone,
                                                                const std::string& fqdn,
                                                                Clock::time_point deadline) {
    const std::string what = "read the TXT records at " + fqdn + " in " + zone_label(zone);
    auto response = request("GET",
                            std::string(kApi) + "/hostedzone/" + zone.id +
                                "/rrset?name=" + sigv4::uri_encode(fqdn) + "&type=TXT&maxitems=1",
                            "", what, zone.id, deadline);
    if (!response)
        return response.failure();
    auto sets = route53_xml::parse_record_sets(response->body);
    if (!sets)
        return garbage(what, sets.error());
    for (auto& set : *sets)
        if (set.name == fqdn && set.type == "TXT")
            return std::optional<RecordSet>(std::move(set));
    return std::optional<RecordSet>();
}

core::Result<route53_xml::ChangeInfo> Route53Provider::submit(const HostedZone& zone,
                                                              const std::vector<Change>& changes,
                                                              Clock::time_point deadline) {
    const std::string what = "change the TXT records in " + zone_label(zone);
    auto response = request("POST", std::string(kApi) + "/hostedzone/" + zone.id + "/rrset/",
                            route53_xml::change_batch_xml(changes), what, zone.id, deadline);
    if (!response)
        return response.failure();
    auto info = route53_xml::parse_change_info(response->body);
    if (!info)
        return garbage(what, info.error());
    return info;
}

core::Status Route53Provider::wait_insync(const HostedZone& zone, route53_xml::ChangeInfo change,
                                          Clock::time_point deadline) {
    const std::string id = change.id;
    auto not_insync = [&] {
        return fail(ErrorKind::Timeout,
                    describe() + ": change " + id + " to " + zone_label(zone) +
                        " not INSYNC within " + std::to_string(m_config.timeout.count()) +
                        " s (last status " + change.status + ")",
                    "Route 53 accepted the change but has not published it to all its "
                    "name servers yet; raise the provider's timeout if this repeats");
    };
    while (change.status != "INSYNC") {
        if (Clock::now() + m_config.insync_poll >= deadline)
            return not_insync();
        std::this_thread::sleep_for(m_config.insync_poll);
        const std::string what = "read the state of change " + id;
        auto response =
            request("GET", std::string(kApi) + "/change/" + id, "", what, zone.id, deadline);
        // A poll cut off by the deadline: what the operator needs to know is
        // that the change was not published in time, not that one GET was slow.
        if (!response && response.error().kind == ErrorKind::Timeout &&
            Clock::now() + m_config.insync_poll >= deadline)
            return not_insync();
        if (!response)
            return response.failure();
        auto info = route53_xml::parse_change_info(response->body);
        if (!info)
            return garbage(what, info.error());
        change.status = info->status;
    }
    return {};
}

core::Result<AccessCheck> Route53Provider::check_access(
    const std::vector<ChallengeRecord>& records) {
    const auto deadline = Clock::now() + m_config.timeout;
    AccessCheck check;
    if (!m_config.hosted_zone_id.empty()) {
        const HostedZone zone{m_config.hosted_zone_id, "", false};
        auto response =
            request("GET", std::string(kApi) + "/hostedzone/" + zone.id + "/rrset?maxitems=1", "",
                    "read " + zone_label(zone), zone.id, deadline);
        if (!response)
            return response.failure();
        for (const auto& r : records)
            check.notes.push_back(zone_label(zone) + " (hosted_zone_id) readable for " +
                                  normalize_fqdn(r.fqdn));
        return check;
    }
    auto zones = list_zones(deadline);
    if (!zones)
        return zones.failure();
    for (const auto& r : records) {
        const std::string fqdn = normalize_fqdn(r.fqdn);
        if (const HostedZone* zone = zone_of(*zones, fqdn))
            check.notes.push_back(zone_label(*zone) + " visible for " + fqdn);
        else
            check.problems.push_back("no public hosted zone holds " + fqdn +
                                     " (zones: " + zone_names(*zones) + ")");
    }
    return check;
}

core::Failure Route53Provider::garbage(const std::string& what, const core::Error& error) const {
    return fail(ErrorKind::Protocol, describe() + ": " + what + ": " + error.message,
                "check endpoint: it must be the Route 53 API (https://route53.amazonaws.com)");
}

// The API's own words for a failed request, with anything secret cut out.
std::string Route53Provider::api_text(const core::HttpResponse& response) const {
    const auto error = route53_xml::parse_error(response.body);
    std::string text = error.code.empty() ? response.body : error.code + ": " + error.message;
    const std::string cut = "[secret]";
    for (const std::string& secret : {m_config.secret_access_key, m_config.session_token}) {
        for (auto at = secret.empty() ? std::string::npos : text.find(secret);
             at != std::string::npos; at = text.find(secret, at + cut.size()))
            text.replace(at, secret.size(), cut);
    }
    return excerpt(text);
}

core::Failure Route53Provider::http_failure(const core::HttpResponse& response,
                                            const std::string& what,
                                            const std::string& zone_id) const {
    const std::string code = route53_xml::parse_error(response.body).code;
    const std::string text = describe() + ": " + what + ": HTTP " +
                             std::to_string(response.status) + ": " + api_text(response);
    if (response.status == 401 || response.status == 403 || is_credential_problem(code))
        return fail(ErrorKind::Config, text, iam_hint(zone_id));
    // Throttling comes without Retry-After: the next run waits a little at least.
    if (response.status == 429 || is_throttling(code))
        return rate_limited(response, text, kThrottledWaitSeconds);
    if (code == "NoSuchHostedZone")
        return fail(ErrorKind::Dns, text, "check hosted_zone_id");
    return fail(ErrorKind::Dns, text);
}

// One signed API request, tried again as send_with_retries does (throttling
// too); a final answer other than 2xx is this provider's failure. Each attempt
// is signed anew: the signature covers the time.
core::Result<core::HttpResponse> Route53Provider::request(
    const std::string& method, const std::string& target, const std::string& body,
    const std::string& what, const std::string& zone_id, Clock::time_point deadline) {
    core::HttpRequest req;
    req.method = method;
    req.url = m_config.endpoint + target;
    if (!body.empty())
        req.headers.push_back("Content-Type: application/xml");
    req.body = body;
    const AwsCredentials credentials{m_config.access_key_id, m_config.secret_access_key,
                                     m_config.session_token};
    RetryPolicy policy;
    policy.also_transient = [](const core::HttpResponse& response) {
        return is_throttling(route53_xml::parse_error(response.body).code);
    };
    policy.before_attempt = [&](core::HttpRequest& attempt) {
        sigv4::sign_request(attempt, credentials, m_config.region, "route53",
                            sigv4::amz_date(core::SystemClock().now()));
    };
    auto response = send_with_retries(*m_http, req, describe() + ": " + what, deadline, policy);
    if (response && !is_success(*response))
        return http_failure(*response, what, zone_id);
    return response;
}

bool plain_word(const std::string& text) {
    return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '-';
    });
}

// Keys go into a header: a blank or control character would break it.
bool header_safe(const std::string& text) {
    return std::all_of(text.begin(), text.end(),
                       [](char c) { return static_cast<unsigned char>(c) > ' ' && c != 0x7f; });
}

core::Status validate(Route53Config& config) {
    const std::string who = "route53 provider '" + config.name + "'";
    if (!config.endpoint.starts_with("http://") && !config.endpoint.starts_with("https://"))
        return fail(ErrorKind::Config, who + ": endpoint must start with http:// or https://");
    while (config.endpoint.ends_with("/"))
        config.endpoint.pop_back();
    const std::string key_hint =
        "set access_key_id_file and secret_access_key_file, or leave both out to use "
        "AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or the shared credentials file";
    if (config.access_key_id.empty() || config.secret_access_key.empty())
        return fail(ErrorKind::Config,
                    who + ": the " +
                        (config.access_key_id.empty() ? "access key id" : "secret access key") +
                        " is empty",
                    key_hint);
    if (!header_safe(config.access_key_id) || !header_safe(config.secret_access_key) ||
        !header_safe(config.session_token))
        return fail(ErrorKind::Config,
                    who +
                        ": the access key id, secret or session token holds a blank or a "
                        "control character",
                    key_hint);
    if (!plain_word(config.region))
        return fail(ErrorKind::Config, who + ": region must be a plain name like \"us-east-1\"");
    if (config.hosted_zone_id.starts_with(route53_xml::kHostedZonePrefix))
        config.hosted_zone_id.erase(0, std::string_view(route53_xml::kHostedZonePrefix).size());
    if (!config.hosted_zone_id.empty() && !route53_xml::is_route53_id(config.hosted_zone_id))
        return fail(
            ErrorKind::Config,
            who + ": hosted_zone_id must look like \"Z0123456789ABC\" (letters and digits)");
    if (config.timeout.count() <= 0 || config.insync_poll.count() <= 0)
        return fail(ErrorKind::Config, who + ": timeout and insync_poll must be positive");
    return {};
}

}  // namespace

core::Result<std::unique_ptr<DnsProvider>> make_route53_provider(
    Route53Config config, std::shared_ptr<core::HttpClient> http) {
    if (auto st = validate(config); !st)
        return st.failure();
    // One Route 53 call is small: config.timeout bounds the whole INSYNC wait.
    if (!http)
        http = make_api_client(config.ca_bundle, std::min(config.timeout, core::Seconds(30)));
    return std::unique_ptr<DnsProvider>(
        std::make_unique<Route53Provider>(std::move(config), std::move(http)));
}

}  // namespace certfleet::acme::dns
