#include "core/time.hpp"

#include <catch2/catch.hpp>

using namespace certfleet::core;

TEST_CASE("durations parse with units and reject bare numbers", "[time]") {
    CHECK(parse_duration("90s") == Seconds(90));
    CHECK(parse_duration("15m") == Seconds(900));
    CHECK(parse_duration("12h") == Seconds(43200));
    CHECK(parse_duration("21d") == Seconds(21 * 86400));
    CHECK(parse_duration("1h30m") == Seconds(5400));
    CHECK(parse_duration("500ms") == Seconds(1));
    CHECK_FALSE(parse_duration("90"));
    CHECK_FALSE(parse_duration("3x"));
    CHECK_FALSE(parse_duration(""));
    CHECK_FALSE(parse_duration("-5s"));
    CHECK(format_duration(Seconds(5400)) == "1h30m");
    CHECK(format_duration(Seconds(21 * 86400)) == "21d");
}

TEST_CASE("RFC 3339 dates and date-times", "[time]") {
    auto t = parse_rfc3339("2026-11-21T10:30:00Z");
    REQUIRE(t);
    CHECK(format_rfc3339(*t) == "2026-11-21T10:30:00Z");
    CHECK(format_compact_utc(*t) == "20261121T103000Z");
    CHECK(parse_rfc3339("2026-11-21T12:30:00.5+02:00") == t);
    CHECK(parse_rfc3339("2026-11-21") == parse_rfc3339("2026-11-21T00:00:00Z"));
    CHECK_FALSE(parse_rfc3339("2026-11-21T10:30:00"));
    CHECK_FALSE(parse_rfc3339("2026-13-01"));
    CHECK_FALSE(parse_rfc3339("yesterday"));
}
