// libFuzzer: Route 53 answers as the endpoint (or anyone in its place) could
// send them. Every reader of acme/dns/route53.hpp runs on the bytes: the
// zone list, the record sets, a change's state and an error document.
// Beyond "no crash, leak, timeout or UB": ids that come out are letters and
// digits only (they go into URL paths), names are absolute, and a record set
// read here survives the trip through the change batch writer unchanged, as
// a foreign value must when certfleet writes it back beside its own.
#include <algorithm>
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <tinyxml2.h>
#include <vector>

#include "acme/dns/route53_xml.hpp"

namespace {

using namespace certfleet::acme::dns::route53_xml;

void require(bool condition) {
    if (!condition)
        std::abort();
}

bool plain_id(const std::string& id) {
    return !id.empty() && std::all_of(id.begin(), id.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c));
    });
}

std::string text_of(const tinyxml2::XMLElement* parent, const char* name) {
    const auto* child = parent ? parent->FirstChildElement(name) : nullptr;
    const char* text = child ? child->GetText() : nullptr;
    return text ? text : "";
}

// XML turns "\r\n" and a lone "\r" into "\n" when read: such a value cannot
// come back byte for byte from any writer.
bool survives_xml(const std::string& text) {
    return text.find('\r') == std::string::npos;
}

void check_round_trip(const RecordSet& set) {
    const std::string batch = change_batch_xml({{Action::Upsert, set}});
    tinyxml2::XMLDocument doc;
    require(doc.Parse(batch.data(), batch.size()) == tinyxml2::XML_SUCCESS);
    const auto* root = doc.RootElement();
    const auto* change = root->FirstChildElement("ChangeBatch")
                             ->FirstChildElement("Changes")
                             ->FirstChildElement("Change");
    const auto* written = change->FirstChildElement("ResourceRecordSet");
    require(written != nullptr);
    if (survives_xml(set.name))
        require(text_of(written, "Name") == set.name);
    require(text_of(written, "TTL") == std::to_string(set.ttl));
    std::vector<std::string> values;
    const auto* records = written->FirstChildElement("ResourceRecords");
    for (const auto* r = records->FirstChildElement("ResourceRecord"); r;
         r = r->NextSiblingElement("ResourceRecord"))
        values.push_back(text_of(r, "Value"));
    require(values.size() == set.values.size());
    for (std::size_t i = 0; i < values.size(); ++i)
        if (survives_xml(set.values[i]))
            require(values[i] == set.values[i]);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view xml(reinterpret_cast<const char*>(data), size);

    if (auto page = parse_hosted_zones(xml)) {
        for (const auto& zone : page->zones) {
            require(plain_id(zone.id));
            require(!zone.name.empty() && zone.name.back() == '.');
        }
    }
    if (auto sets = parse_record_sets(xml)) {
        for (const auto& set : *sets) {
            require(!set.name.empty() && set.name.back() == '.');
            check_round_trip(set);
        }
    }
    if (auto change = parse_change_info(xml)) {
        require(plain_id(change->id));
        require(!change->status.empty());
    }
    (void)parse_error(xml);
    return 0;
}
