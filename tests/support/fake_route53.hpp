// A Route 53 stand-in for the provider's tests: hosted zones and TXT sets in
// memory, ListHostedZones paginated, ListResourceRecordSets from a name,
// ChangeResourceRecordSets applied as AWS does (a DELETE must carry the exact
// current set, else InvalidChangeBatch), GetChange PENDING a few times, then
// INSYNC; every request's SigV4 signature recomputed from the known secret
// (sigv4_verifier.hpp), a wrong one answered 403 SignatureDoesNotMatch.
// Scripted faults per method. Handlers run on server threads: no Catch here.
#pragma once

#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <tinyxml2.h>
#include <vector>

#include "support/fake_api_server.hpp"
#include "support/sigv4_verifier.hpp"

namespace certfleet::test::route53 {

using certfleet::test::sigv4_check::signature_problem;

inline const std::string kKeyId = "AKIDEXAMPLE";
inline const std::string kSecret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
inline const std::string kApi = "/2013-04-01";

inline std::string xml_escaped(const std::string& text) {
    std::string out;
    for (char c : text) {
        switch (c) {
            case '&':
                out += "&amp;";
                break;
            case '<':
                out += "&lt;";
                break;
            case '>':
                out += "&gt;";
                break;
            default:
                out += c;
        }
    }
    return out;
}

inline ApiResponse xml(int status, const std::string& body, std::vector<std::string> headers = {}) {
    return {status, "<?xml version=\"1.0\"?>\n" + body, std::move(headers), "text/xml"};
}

inline ApiResponse aws_error(int status, const std::string& code, const std::string& message,
                             std::vector<std::string> headers = {}) {
    return xml(status,
               "<ErrorResponse xmlns=\"https://route53.amazonaws.com/doc/2013-04-01/\"><Error>"
               "<Type>Sender</Type><Code>" +
                   code + "</Code><Message>" + xml_escaped(message) +
                   "</Message></Error><RequestId>req-1</RequestId></ErrorResponse>",
               std::move(headers));
}

struct TxtSet {
    std::uint32_t ttl = 0;
    std::vector<std::string> values;  // as stored: "\"v\""
};

struct FakeZone {
    std::string id;  // "Z1EXAMPLE"
    std::string name;
    bool private_zone = false;
    std::map<std::string, TxtSet> txt;  // name → set, listed in name order
};

// The API subset certfleet uses, with Route 53's rules.
class FakeRoute53 {
public:
    std::vector<FakeZone> zones;
    std::string secret = kSecret;
    std::string session_token;  // expected X-Amz-Security-Token ("" : none)
    int page_size = 2;          // zones per ListHostedZones page, whatever maxitems asks
    int pending_polls = 2;      // GetChange answers PENDING this often, then INSYNC
    bool never_insync = false;
    std::map<std::string, std::deque<ApiResponse>> faults;  // method → answers sent first
    std::map<std::string, int> polls;                       // change id → GetChange calls

    FakeRoute53() : m_server([this](const ApiRequest& r) { return handle(r); }) {}

    std::string url() const { return m_server.url(); }
    std::vector<ApiRequest> requests() const { return m_server.requests(); }
    std::size_t count(const std::string& method, const std::string& path) const {
        std::size_t n = 0;
        for (const auto& r : requests())
            n += r.method == method && r.path == path;
        return n;
    }
    std::size_t changes() const { return m_server.count("POST"); }
    FakeZone& zone(const std::string& name) {
        for (auto& z : zones)
            if (z.name == name)
                return z;
        FAIL("no zone " << name);
        return zones.front();
    }

private:
    ApiResponse handle(const ApiRequest& r) {
        if (auto problem = signature_problem(r, kKeyId, secret, "us-east-1", "route53", true);
            !problem.empty())
            return aws_error(403, "SignatureDoesNotMatch",
                             "The request signature we calculated does not match the signature "
                             "you provided. Check your AWS Secret Access Key and signing method.");
        if (r.header("x-amz-security-token") != session_token)
            return aws_error(403, "InvalidClientTokenId",
                             "The security token included in the request is invalid.");
        if (auto& queued = faults[r.method]; !queued.empty()) {
            auto answer = queued.front();
            queued.pop_front();
            return answer;
        }
        if (r.method == "GET" && r.path == kApi + "/hostedzone")
            return list_zones(r);
        if (r.method == "GET" && r.path.starts_with(kApi + "/change/"))
            return get_change(r.path.substr(kApi.size() + 8));
        for (auto& z : zones) {
            const std::string rrset = kApi + "/hostedzone/" + z.id + "/rrset";
            if (r.method == "GET" && r.path == rrset)
                return list_sets(z, r);
            if (r.method == "POST" && (r.path == rrset || r.path == rrset + "/"))
                return change_sets(z, r.body);
        }
        return aws_error(404, "NoSuchHostedZone", "No hosted zone found: " + r.path);
    }

    ApiResponse list_zones(const ApiRequest& r) {
        std::size_t at = 0;
        while (!r.param("marker").empty() && at < zones.size() && zones[at].id != r.param("marker"))
            ++at;
        std::string body = "<ListHostedZonesResponse><HostedZones>";
        const std::size_t end = std::min(zones.size(), at + static_cast<std::size_t>(page_size));
        for (std::size_t i = at; i < end; ++i)
            body += "<HostedZone><Id>/hostedzone/" + zones[i].id + "</Id><Name>" + zones[i].name +
                    "</Name><CallerReference>x</CallerReference><Config><PrivateZone>" +
                    (zones[i].private_zone ? "true" : "false") +
                    "</PrivateZone></Config></HostedZone>";
        body += "</HostedZones><IsTruncated>" + std::string(end < zones.size() ? "true" : "false") +
                "</IsTruncated>";
        if (end < zones.size())
            body += "<NextMarker>" + zones[end].id + "</NextMarker>";
        return xml(200, body + "<MaxItems>" + r.param("maxitems") +
                            "</MaxItems></ListHostedZonesResponse>");
    }

    // As Route 53: the sets from `name` on, so the first may be another name's.
    static ApiResponse list_sets(const FakeZone& z, const ApiRequest& r) {
        std::string body = "<ListResourceRecordSetsResponse><ResourceRecordSets>";
        for (auto it = z.txt.lower_bound(r.param("name")); it != z.txt.end(); ++it) {
            body += "<ResourceRecordSet><Name>" + it->first + "</Name><Type>TXT</Type><TTL>" +
                    std::to_string(it->second.ttl) + "</TTL><ResourceRecords>";
            for (const auto& v : it->second.values)
                body += "<ResourceRecord><Value>" + xml_escaped(v) + "</Value></ResourceRecord>";
            body += "</ResourceRecords></ResourceRecordSet>";
            break;  // maxitems=1
        }
        return xml(200, body +
                            "</ResourceRecordSets><IsTruncated>false</IsTruncated>"
                            "<MaxItems>1</MaxItems></ListResourceRecordSetsResponse>");
    }

    static ApiResponse invalid_batch(const std::string& message) {
        return xml(400,
                   "<InvalidChangeBatch xmlns=\"https://route53.amazonaws.com/doc/"
                   "2013-04-01/\"><Messages><Message>" +
                       xml_escaped(message) +
                       "</Message></Messages><RequestId>req-2</RequestId>"
                       "</InvalidChangeBatch>");
    }

    // All changes or none, as Route 53 applies a batch.
    ApiResponse change_sets(FakeZone& z, const std::string& body) {
        tinyxml2::XMLDocument doc;
        if (doc.Parse(body.data(), body.size()) != tinyxml2::XML_SUCCESS)
            return aws_error(400, "MalformedInput", "not XML");
        auto* changes =
            doc.RootElement()->FirstChildElement("ChangeBatch")->FirstChildElement("Changes");
        auto txt = z.txt;
        for (auto* c = changes->FirstChildElement("Change"); c;
             c = c->NextSiblingElement("Change")) {
            auto* set = c->FirstChildElement("ResourceRecordSet");
            const std::string name = set->FirstChildElement("Name")->GetText();
            if (std::string(set->FirstChildElement("Type")->GetText()) != "TXT")
                return invalid_batch("this stand-in holds TXT sets only");
            TxtSet wanted{
                static_cast<std::uint32_t>(std::stoul(set->FirstChildElement("TTL")->GetText())),
                {}};
            for (auto* v =
                     set->FirstChildElement("ResourceRecords")->FirstChildElement("ResourceRecord");
                 v; v = v->NextSiblingElement("ResourceRecord"))
                wanted.values.push_back(v->FirstChildElement("Value")->GetText());
            const std::string action = c->FirstChildElement("Action")->GetText();
            if (action == "UPSERT") {
                txt[name] = wanted;
            } else if (action == "DELETE") {
                const auto found = txt.find(name);
                if (found == txt.end())
                    return invalid_batch("Tried to delete resource record set [name='" + name +
                                         "', type='TXT'] but it was not found");
                if (found->second.ttl != wanted.ttl || found->second.values != wanted.values)
                    return invalid_batch("Tried to delete resource record set [name='" + name +
                                         "', type='TXT'] but the values provided do not match "
                                         "the current values");
                txt.erase(found);
            } else {
                return invalid_batch("unknown action " + action);
            }
        }
        z.txt = std::move(txt);
        const std::string id = "C" + std::to_string(polls.size() + 1) + "EXAMPLE";
        polls[id] = 0;
        return xml(200, "<ChangeResourceRecordSetsResponse><ChangeInfo><Id>/change/" + id +
                            "</Id><Status>PENDING</Status><SubmittedAt>2026-01-01T00:00:00Z"
                            "</SubmittedAt></ChangeInfo></ChangeResourceRecordSetsResponse>");
    }

    ApiResponse get_change(const std::string& id) {
        if (!polls.contains(id))
            return aws_error(404, "NoSuchChange",
                             "A change with the specified change ID does "
                             "not exist: " +
                                 id);
        const bool insync = ++polls[id] > pending_polls && !never_insync;
        return xml(200, "<GetChangeResponse><ChangeInfo><Id>/change/" + id + "</Id><Status>" +
                            (insync ? "INSYNC" : "PENDING") +
                            "</Status></ChangeInfo></GetChangeResponse>");
    }

    FakeApiServer m_server;  // last: stops before the state it serves goes
};

// example.org. and sub.example.org. public; corp.example.org. private; more
// zones so the list takes three pages of two.
}  // namespace certfleet::test::route53
