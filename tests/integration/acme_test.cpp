// The ACME client library directly against the lab's pebble: account key
// rollover, and lookup of an existing account.
#include <catch2/catch.hpp>

#include "acme/client.hpp"
#include "core/http.hpp"
#include "lab.hpp"

using namespace certfleet;
using namespace certfleet::testing;

namespace {
core::HttpOptions lab_http() {
    core::HttpOptions o;
    o.ca_bundle = Lab::get().ca_bundle;
    return o;
}
acme::NewAccountOptions terms_accepted() {
    acme::NewAccountOptions o;
    o.accept_terms = true;
    o.contact = {"mailto:ops@example.test"};
    return o;
}
}  // namespace

TEST_CASE("account lookup finds an existing account and refuses an unknown key", "[acme]") {
    core::CurlHttpClient http(lab_http());
    acme::AcmeClient client(http, Lab::get().acme_directory);
    REQUIRE(client.connect());
    auto key = *core::PrivateKey::generate(core::KeyType::EcdsaP256);
    auto url = client.register_account(key, terms_accepted());
    REQUIRE(url);

    acme::NewAccountOptions lookup;
    lookup.only_return_existing = true;
    auto found = client.register_account(key, lookup);
    REQUIRE(found);
    CHECK(*found == *url);

    auto stranger = *core::PrivateKey::generate(core::KeyType::EcdsaP256);
    auto missing = client.register_account(stranger, lookup);
    REQUIRE_FALSE(missing);
    CHECK(missing.error().acme_type == "urn:ietf:params:acme:error:accountDoesNotExist");
}

TEST_CASE("account key rollover: the new key works, the old one is refused", "[acme]") {
    core::CurlHttpClient http(lab_http());
    acme::AcmeClient client(http, Lab::get().acme_directory);
    REQUIRE(client.connect());
    auto old_key = *core::PrivateKey::generate(core::KeyType::Rsa2048);  // RS256 account
    auto url = client.register_account(old_key, terms_accepted());
    REQUIRE(url);
    auto new_key = *core::PrivateKey::generate(core::KeyType::EcdsaP256);
    auto changed = client.change_key(new_key);
    INFO((changed ? std::string() : changed.error().message));
    REQUIRE(changed);

    // The client now signs with the new key: an order goes through.
    auto order = client.new_order({"rollover.example.test"}, "", "");
    INFO((order ? std::string() : order.error().message));
    CHECK(order);

    acme::NewAccountOptions lookup;
    lookup.only_return_existing = true;
    acme::AcmeClient fresh(http, Lab::get().acme_directory);
    REQUIRE(fresh.connect());
    auto by_new = fresh.register_account(new_key, lookup);
    REQUIRE(by_new);
    CHECK(*by_new == *url);
    CHECK_FALSE(fresh.register_account(old_key, lookup));
}
