// Route 53's XML readers and change batch writer (acme/dns/route53_xml.hpp):
// escapes decoded, broken documents refused, every text escaped on the way out.
#include "acme/dns/route53_xml.hpp"

#include <string>
#include <tinyxml2.h>

#include <catch2/catch.hpp>

using namespace certfleet::acme::dns::route53_xml;

TEST_CASE("route53: the XML readers and writer", "[dns][route53]") {
    auto page = parse_hosted_zones(
        "<ListHostedZonesResponse><HostedZones><HostedZone><Id>/hostedzone/Z9</Id>"
        "<Name>\\052.Example.org.</Name><Config><PrivateZone>true</PrivateZone></Config>"
        "</HostedZone></HostedZones><IsTruncated>true</IsTruncated><NextMarker>Z10</NextMarker>"
        "</ListHostedZonesResponse>");
    REQUIRE(page);
    REQUIRE(page->zones.size() == 1);
    CHECK(page->zones[0].id == "Z9");
    CHECK(page->zones[0].name == "*.example.org.");
    CHECK(page->zones[0].private_zone);
    CHECK(page->next_marker == "Z10");
    CHECK_FALSE(parse_hosted_zones("<L><HostedZones/><IsTruncated>true</IsTruncated></L>"));
    CHECK_FALSE(
        parse_record_sets("<L><ResourceRecordSets><ResourceRecordSet><TTL>-1</TTL>"
                          "</ResourceRecordSet></ResourceRecordSets></L>"));
    CHECK(parse_error("not xml").code.empty());
    CHECK(parse_error("<ErrorResponse><Error><Code>Throttling</Code><Message>slow</Message>"
                      "</Error></ErrorResponse>")
              .code == "Throttling");

    const std::string batch = change_batch_xml(
        {{Action::Delete, {"a.example.", "TXT", 300, {"\"x<y&z\"", "\"two\" \"strings\""}}}});
    tinyxml2::XMLDocument doc;
    REQUIRE(doc.Parse(batch.c_str()) == tinyxml2::XML_SUCCESS);
    CHECK(batch.find("&lt;y&amp;z") != std::string::npos);
    auto* set = doc.RootElement()
                    ->FirstChildElement("ChangeBatch")
                    ->FirstChildElement("Changes")
                    ->FirstChildElement("Change")
                    ->FirstChildElement("ResourceRecordSet");
    CHECK(std::string(set->FirstChildElement("ResourceRecords")
                          ->FirstChildElement("ResourceRecord")
                          ->FirstChildElement("Value")
                          ->GetText()) == "\"x<y&z\"");
    CHECK(std::string(doc.RootElement()->Attribute("xmlns")) ==
          "https://route53.amazonaws.com/doc/2013-04-01/");
}
