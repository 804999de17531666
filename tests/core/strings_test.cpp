#include "core/strings.hpp"

#include <catch2/catch.hpp>

using namespace certfleet::core;

TEST_CASE("strings: lower, lower_first", "[strings]") {
    CHECK(lower("Content-Type") == "content-type");
    CHECK(lower("HMAC-SHA256.") == "hmac-sha256.");
    CHECK(lower("") == "");
    CHECK(lower("\xC3\x84Z") == "\xC3\x84z");  // bytes outside A-Z are kept (UTF-8 stays intact)
    CHECK(lower_first("No such file") == "no such file");
    CHECK(lower_first("no change") == "no change");
    CHECK(lower_first("") == "");
    CHECK(lower_first("1 Two") == "1 Two");
}

TEST_CASE("strings: upper", "[strings]") {
    CHECK(upper("lexicon_powerdns_auth_token") == "LEXICON_POWERDNS_AUTH_TOKEN");
    CHECK(upper("a-1Z") == "A-1Z");
    CHECK(upper("\xC3\xA4") == "\xC3\xA4");  // bytes outside a-z are kept
}

TEST_CASE("strings: trim", "[strings]") {
    CHECK(trim("  value\r\n") == "value");
    CHECK(trim("\t a b \t") == "a b");
    CHECK(trim("\v\fx\f") == "x");
    CHECK(trim("   ") == "");
    CHECK(trim("") == "");
    CHECK(trim("inner  space") == "inner  space");
}

TEST_CASE("strings: join", "[strings]") {
    CHECK(join({}) == "");
    CHECK(join({"a"}) == "a");
    CHECK(join({"a", "b", "c"}) == "a, b, c");
    CHECK(join({"a", "", "c"}, "/") == "a//c");
}
