// The lexicon DNS provider with Debian's real `lexicon` (DNS-Lexicon 3.11)
// and its powerdns provider against the lab's PowerDNS: issuance through it,
// the API token only in lexicon's environment, and lexicon's own error.
#include <catch2/catch.hpp>

#include "core/crypto.hpp"
#include "issue_support.hpp"

using namespace certfleet;
using namespace certfleet::testing;
using nlohmann::json;

namespace {

TestInventory lexicon_inventory(const std::string& prefix, const std::string& token_file) {
    const Lab& lab = Lab::get();
    const std::string zone = lab.value("LAB_PDNS_ZONE");
    return write_inventory(
        prefix, {{"lx", {{"domains", {"lx." + zone, "*.lx." + zone}}, {"dns", "lab-lexicon"}}}},
        [&](json& inv) {
            inv["dns"]["providers"]["lab-lexicon"] = {
                {"type", "lexicon"},
                {"provider", "powerdns"},
                {"options", {{"pdns-server", lab.value("LAB_PDNS_API_URL")}}},
                {"credentials", {{"token", token_file}}},
                {"zone", zone}};
            inv["dns"]["nameservers"] = {lab.value("LAB_PDNS")};
        });
}

}  // namespace

TEST_CASE("lexicon: issuance through lexicon's powerdns provider, apex and wildcard",
          "[issue][lexicon]") {
    const Lab& lab = Lab::get();
    auto t = lexicon_inventory("lexicon-issue", lab.value("LAB_PDNS_API_KEY_FILE"));
    auto r = run_certfleet(cf_args(t, {"-vv", "--json", "issue"}));
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    CHECK(json::parse(r.out)["certificates"][0]["action"] == "issued");
    auto info = core::parse_certificate_pem(read_file(t.state_dir + "/certificates/lx/cert.pem"));
    REQUIRE(info);
    CHECK(info->dns_names.size() == 2);
    // The token reached lexicon through its environment, never a log line.
    CHECK_THAT(r.err, !Catch::Contains(read_file(lab.value("LAB_PDNS_API_KEY_FILE"))));
    CHECK_THAT(r.err, Catch::Contains("running lexicon create TXT"));
}

TEST_CASE("lexicon: a wrong token fails with lexicon's own error, nothing validated",
          "[issue][lexicon][failure]") {
    auto dir = make_temp_dir("lexicon-wrong");
    write_file(dir + "/wrong.token", "wrong-token-value", 0600);
    auto t = lexicon_inventory("lexicon-wrong", dir + "/wrong.token");
    auto r = run_certfleet(cf_args(t, {"--json", "issue"}));
    INFO(r.err);
    CHECK(r.exit_code == 2);
    auto c = json::parse(r.out)["certificates"][0];
    CHECK(c["action"] == "failed");
    const std::string error = c["error"];
    CHECK_THAT(error, Catch::Contains("lexicon lab-lexicon (powerdns)"));
    CHECK_THAT(error, Catch::Contains("401"));
    CHECK_THAT(r.err + r.out, !Catch::Contains("wrong-token-value"));
}
