// Amazon Route 53: every TXT value set of one hosted zone changes in one
// ChangeResourceRecordSets (UPSERT of the whole set a name must keep, DELETE
// of a set that keeps nothing, carrying its exact current values and TTL as
// Route 53 demands), then GetChange is polled until the batch is INSYNC, all
// within config.timeout. Requests are signed with SigV4 (aws_sigv4.hpp);
// answers are XML, read with tinyxml2 (no DTD, no external entities).
#include "acme/dns/route53.hpp"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <tinyxml2.h>

#include <spdlog/spdlog.h>

#include "acme/dns/aws_credentials.hpp"
#include "acme/dns/aws_sigv4.hpp"
#include "acme/dns/http_api.hpp"
#include "acme/dns/names.hpp"

namespace certfleet::acme::dns {
namespace {

constexpr const char* kZonePrefix = "/hostedzone/";

// Route 53's ids (zones, changes): they go into URL paths as they are.
bool alphanumeric(std::string_view text) {
    return !text.empty() && text.size() <= 64 && std::all_of(text.begin(), text.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c));
    });
}

}  // namespace

namespace route53_xml {
namespace {

using core::ErrorKind;
using core::fail;
using tinyxml2::XMLElement;

constexpr const char* kNamespace = "https://route53.amazonaws.com/doc/2013-04-01/";

// The text of `parent`'s first child element `name`, "" when absent.
std::string child_text(const XMLElement* parent, const char* name) {
    const XMLElement* child = parent ? parent->FirstChildElement(name) : nullptr;
    const char* text = child ? child->GetText() : nullptr;
    return text ? text : "";
}

core::Result<const XMLElement*> root_of(tinyxml2::XMLDocument& doc, std::string_view xml) {
    if (doc.Parse(xml.data(), xml.size()) != tinyxml2::XML_SUCCESS || !doc.RootElement())
        return fail(ErrorKind::Protocol, std::string("the answer is not XML (") +
                                             tinyxml2::XMLDocument::ErrorIDToName(doc.ErrorID()) +
                                             ")");
    return static_cast<const XMLElement*>(doc.RootElement());
}

// "/hostedzone/Z123" → "Z123". An id goes into URL paths, so it must be
// letters and digits only (as Route 53's ids are).
core::Result<std::string> plain_id(std::string_view id, std::string_view prefix) {
    if (id.starts_with(prefix))
        id.remove_prefix(prefix.size());
    if (!alphanumeric(id))
        return fail(ErrorKind::Protocol, "an id that is not letters and digits");
    return std::string(id);
}

// "052" → 42; -1 unless three octal digits.
int octal_code(std::string_view digits) {
    int code = 0;
    for (char c : digits) {
        if (c < '0' || c > '7')
            return -1;
        code = code * 8 + (c - '0');
    }
    return digits.size() == 3 ? code : -1;
}

// Route 53 writes characters other than a-z, 0-9, '-' and '_' as "\ooo".
// Only printable ones are decoded: a control character is in no name
// certfleet looks for, and would not survive being written back as XML.
std::string decode_name(std::string_view name) {
    std::string out;
    for (std::size_t i = 0; i < name.size(); ++i) {
        const int code = name[i] == '\\' ? octal_code(name.substr(i + 1, 3)) : -1;
        if (code > ' ' && code < 0x7f) {
            out += static_cast<char>(code);
            i += 3;
        } else {
            out += name[i];
        }
    }
    return normalize_fqdn(out);
}

core::Result<std::uint32_t> parse_ttl(const std::string& text) {
    if (text.empty())
        return std::uint32_t{0};
    std::uint32_t ttl = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), ttl);
    if (ec != std::errc() || end != text.data() + text.size())
        return fail(ErrorKind::Protocol, "a TTL that is not a number");
    return ttl;
}

core::Result<RecordSet> parse_record_set(const XMLElement* element) {
    RecordSet set;
    set.name = decode_name(child_text(element, "Name"));
    set.type = child_text(element, "Type");
    auto ttl = parse_ttl(child_text(element, "TTL"));
    if (!ttl)
        return ttl.failure();
    set.ttl = *ttl;
    const XMLElement* records = element->FirstChildElement("ResourceRecords");
    for (const XMLElement* r = records ? records->FirstChildElement("ResourceRecord") : nullptr; r;
         r = r->NextSiblingElement("ResourceRecord"))
        set.values.push_back(child_text(r, "Value"));
    return set;
}

void print_text_element(tinyxml2::XMLPrinter& printer, const char* name, const std::string& text) {
    printer.OpenElement(name);
    printer.PushText(text.c_str());
    printer.CloseElement();
}

void print_change(tinyxml2::XMLPrinter& printer, const Change& change) {
    printer.OpenElement("Change");
    print_text_element(printer, "Action", change.action == Action::Delete ? "DELETE" : "UPSERT");
    printer.OpenElement("ResourceRecordSet");
    print_text_element(printer, "Name", change.set.name);
    print_text_element(printer, "Type", change.set.type);
    print_text_element(printer, "TTL", std::to_string(change.set.ttl));
    printer.OpenElement("ResourceRecords");
    for (const auto& value : change.set.values) {
        printer.OpenElement("ResourceRecord");
        print_text_element(printer, "Value", value);
        printer.CloseElement();
    }
    printer.CloseElement();  // ResourceRecords
    printer.CloseElement();  // ResourceRecordSet
    printer.CloseElement();  // Change
}

}  // namespace

core::Result<HostedZonePage> parse_hosted_zones(std::string_view xml) {
    tinyxml2::XMLDocument doc;
    auto root = root_of(doc, xml);
    if (!root)
        return root.failure();
    const XMLElement* zones = (*root)->FirstChildElement("HostedZones");
    if (!zones)
        return fail(ErrorKind::Protocol, "no <HostedZones> in the answer");
    HostedZonePage page;
    for (const XMLElement* z = zones->FirstChildElement("HostedZone"); z;
         z = z->NextSiblingElement("HostedZone")) {
        auto id = plain_id(child_text(z, "Id"), kZonePrefix);
        if (!id)
            return fail(ErrorKind::Protocol, "a hosted zone with " + id.error().message);
        const XMLElement* config = z->FirstChildElement("Config");
        page.zones.push_back(
            {*id, decode_name(child_text(z, "Name")), child_text(config, "PrivateZone") == "true"});
    }
    if (child_text(*root, "IsTruncated") == "true") {
        page.next_marker = child_text(*root, "NextMarker");
        if (page.next_marker.empty())
            return fail(ErrorKind::Protocol, "a truncated zone list without <NextMarker>");
    }
    return page;
}

core::Result<std::vector<RecordSet>> parse_record_sets(std::string_view xml) {
    tinyxml2::XMLDocument doc;
    auto root = root_of(doc, xml);
    if (!root)
        return root.failure();
    const XMLElement* sets = (*root)->FirstChildElement("ResourceRecordSets");
    if (!sets)
        return fail(ErrorKind::Protocol, "no <ResourceRecordSets> in the answer");
    std::vector<RecordSet> out;
    for (const XMLElement* s = sets->FirstChildElement("ResourceRecordSet"); s;
         s = s->NextSiblingElement("ResourceRecordSet")) {
        auto set = parse_record_set(s);
        if (!set)
            return set.failure();
        out.push_back(std::move(*set));
    }
    return out;
}

core::Result<ChangeInfo> parse_change_info(std::string_view xml) {
    tinyxml2::XMLDocument doc;
    auto root = root_of(doc, xml);
    if (!root)
        return root.failure();
    const XMLElement* info = (*root)->FirstChildElement("ChangeInfo");
    if (!info)
        return fail(ErrorKind::Protocol, "no <ChangeInfo> in the answer");
    auto id = plain_id(child_text(info, "Id"), "/change/");
    if (!id)
        return fail(ErrorKind::Protocol, "a change with " + id.error().message);
    ChangeInfo change{*id, child_text(info, "Status")};
    if (change.status.empty())
        return fail(ErrorKind::Protocol, "a change without <Status>");
    return change;
}

ApiError parse_error(std::string_view xml) {
    tinyxml2::XMLDocument doc;
    auto root = root_of(doc, xml);
    if (!root)
        return {};
    if (std::string_view((*root)->Name()) == "InvalidChangeBatch") {
        ApiError error{"InvalidChangeBatch", ""};
        const XMLElement* messages = (*root)->FirstChildElement("Messages");
        for (const XMLElement* m = messages ? messages->FirstChildElement("Message") : nullptr; m;
             m = m->NextSiblingElement("Message"))
            error.message +=
                (error.message.empty() ? "" : "; ") + std::string(m->GetText() ? m->GetText() : "");
        if (error.message.empty())
            error.message = child_text(*root, "Message");
        return error;
    }
    const XMLElement* error = (*root)->FirstChildElement("Error");
    return {child_text(error, "Code"), child_text(error, "Message")};
}

std::string change_batch_xml(const std::vector<Change>& changes) {
    tinyxml2::XMLPrinter printer(nullptr, true);
    printer.PushHeader(false, true);
    printer.OpenElement("ChangeResourceRecordSetsRequest");
    printer.PushAttribute("xmlns", kNamespace);
    printer.OpenElement("ChangeBatch");
    print_text_element(printer, "Comment", "certfleet: ACME DNS-01 challenge records");
    printer.OpenElement("Changes");
    for (const auto& change : changes)
        print_change(printer, change);
    printer.CloseElement();  // Changes
    printer.CloseElement();  // ChangeBatch
    printer.CloseElement();  // ChangeResourceRecordSetsRequest
    return {printer.CStr(), static_cast<std::size_t>(printer.CStrSize() - 1)};
}

}  // namespace route53_xml

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
    while (change.status != "INSYNC") {
        if (Clock::now() + m_config.insync_poll >= deadline)
            return fail(ErrorKind::Timeout,
                        describe() + ": change " + id + " to " + zone_label(zone) +
                            " not INSYNC within " + std::to_string(m_config.timeout.count()) +
                            " s (last status " + change.status + ")",
                        "Route 53 accepted the change but has not published it to all its "
                        "name servers yet; raise the provider's timeout if this repeats");
        std::this_thread::sleep_for(m_config.insync_poll);
        const std::string what = "read the state of change " + id;
        auto response =
            request("GET", std::string(kApi) + "/change/" + id, "", what, zone.id, deadline);
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
    if (config.hosted_zone_id.starts_with(kZonePrefix))
        config.hosted_zone_id.erase(0, std::string_view(kZonePrefix).size());
    if (!config.hosted_zone_id.empty() && !alphanumeric(config.hosted_zone_id))
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
