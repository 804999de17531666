// What -vv shows of a JWS: decoded, nested EAB included, private JWK members never.
#include <catch2/catch.hpp>

#include "acme/jws.hpp"

using namespace certfleet;
using nlohmann::json;

TEST_CASE("describe_jws decodes nested JWSs and hides private JWK members", "[acme]") {
    auto key = core::PrivateKey::generate(core::KeyType::EcdsaP256);
    REQUIRE(key);
    const std::string mac_key = "eab-mac-key-0123456789abcdefghij";
    json eab = acme::sign_eab(*key, "kid-1", mac_key, "https://ca.test/new-acct");
    // A private JWK never belongs in a payload; if one ever got there, the trace hides it.
    json careless = key->public_jwk();
    careless["d"] = "c2VjcmV0LXNjYWxhci1kLXZhbHVlLTAxMjM0NTY3ODk";
    json payload{{"contact", {"mailto:ops@example.test"}},
                 {"externalAccountBinding", eab},
                 {"mistake", careless},
                 {"k", "not a JWK: kept"}};
    auto jws = acme::sign_jws(*key, "https://ca.test/new-acct", "nonce-1", "", payload);
    REQUIRE(jws);

    json shown = json::parse(acme::describe_jws(*jws));
    CHECK(shown["protected"]["url"] == "https://ca.test/new-acct");
    CHECK(shown["protected"]["jwk"] == key->public_jwk());
    CHECK(shown["payload"]["contact"][0] == "mailto:ops@example.test");
    CHECK(shown["payload"]["externalAccountBinding"]["protected"]["kid"] == "kid-1");
    CHECK(shown["payload"]["externalAccountBinding"]["payload"] == key->public_jwk());
    CHECK(shown["payload"]["mistake"]["d"] == "[private, not shown]");
    CHECK(shown["payload"]["mistake"]["x"] == key->public_jwk()["x"]);
    CHECK(shown["payload"]["k"] == "not a JWK: kept");
    const std::string text = shown.dump();
    CHECK(text.find("c2VjcmV0") == std::string::npos);
    CHECK(text.find("signature") == std::string::npos);
    CHECK(text.find(mac_key) == std::string::npos);

    auto post_as_get =
        acme::sign_jws(*key, "https://ca.test/order/1", "nonce-2", "kid", std::nullopt);
    REQUIRE(post_as_get);
    CHECK(json::parse(acme::describe_jws(*post_as_get))["payload"] == "");
}
