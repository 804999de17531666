// A key revoked as compromised is never certified again, even with
// reuse_key (issue #16, point 4), against the lab's pebble.
#include <catch2/catch.hpp>

#include "fleet_support.hpp"

using namespace certfleet;
using namespace certfleet::testing;
using nlohmann::json;

namespace {

// The private key of media's current version, as the store holds it.
std::string current_key(const TestInventory& t) {
    auto st = run_certfleet(cf_args(t, {"--json", "status", "--no-hosts"}));
    const std::string version = json::parse(st.out)["certificates"][0]["version"];
    return read_file(t.state_dir + "/certificates/media/versions/" + version + "/privkey.pem");
}

}  // namespace

TEST_CASE("after revoke --reason keyCompromise the replacement has a new key despite reuse_key",
          "[revoke][issue]") {
    auto t = write_fleet_inventory(
        "compromised", [](json& inv) { inv["certificates"]["media"]["reuse_key"] = true; });
    REQUIRE(run_certfleet(cf_args(t, {"issue"})).exit_code == 0);
    const std::string first = current_key(t);
    REQUIRE(run_certfleet(cf_args(t, {"issue", "--force"})).exit_code == 0);
    CHECK(current_key(t) == first);  // reuse_key keeps the key

    auto revoked =
        run_certfleet(cf_args(t, {"revoke", "media", "--reason", "keyCompromise", "--yes"}));
    INFO(revoked.out << revoked.err);
    REQUIRE(revoked.exit_code == 0);
    auto replaced = run_certfleet(cf_args(t, {"issue"}));  // due: its certificate is revoked
    INFO(replaced.out << replaced.err);
    REQUIRE(replaced.exit_code == 0);
    CHECK_THAT(replaced.err, Catch::Contains("revoked as compromised; a new key"));
    const std::string fresh = current_key(t);
    CHECK(fresh != first);

    // The new key is not compromised: reuse_key keeps it from now on.
    REQUIRE(run_certfleet(cf_args(t, {"issue", "--force"})).exit_code == 0);
    CHECK(current_key(t) == fresh);

    SECTION("another reason leaves the key alone") {
        REQUIRE(run_certfleet(cf_args(t, {"revoke", "media", "--reason", "superseded", "--yes"}))
                    .exit_code == 0);
        REQUIRE(run_certfleet(cf_args(t, {"issue"})).exit_code == 0);
        CHECK(current_key(t) == fresh);
    }
}
