// Route 53's XML: the readers of what the API answers (zone lists, record
// sets, change states, errors) and the change batch writer, apart from the
// provider so the fuzzer and tests reach them without HTTP. tinyxml2 reads
// no DTD and fetches no external entity.
#include "acme/dns/route53_xml.hpp"

#include <algorithm>
#include <charconv>
#include <tinyxml2.h>

#include "acme/dns/names.hpp"

namespace certfleet::acme::dns::route53_xml {

bool is_route53_id(std::string_view text) {
    return !text.empty() && text.size() <= 64 && std::all_of(text.begin(), text.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c));
    });
}

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
    if (!is_route53_id(id))
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
        auto id = plain_id(child_text(z, "Id"), kHostedZonePrefix);
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

}  // namespace certfleet::acme::dns::route53_xml
