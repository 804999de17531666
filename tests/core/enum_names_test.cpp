#include "core/enum_names.hpp"

#include <catch2/catch.hpp>

using namespace certfleet::core;

namespace {

enum class Color { Red, Green, Blue };
constexpr EnumNames<Color> kColorNames[] = {{Color::Red, "red"}, {Color::Green, "green"}};

}  // namespace

TEST_CASE("enum_names: one table converts both ways", "[enum_names]") {
    CHECK(enum_name(kColorNames, Color::Red, "unknown") == "red");
    CHECK(enum_name(kColorNames, Color::Green, "unknown") == "green");
    CHECK(enum_from_name(kColorNames, "green") == Color::Green);
    static_assert(enum_from_name(kColorNames, "red") == Color::Red, "usable at compile time");
}

TEST_CASE("enum_names: a value or a name outside the table", "[enum_names]") {
    CHECK(enum_name(kColorNames, Color::Blue, "unknown") == "unknown");
    CHECK_FALSE(enum_from_name(kColorNames, "blue").has_value());
    CHECK_FALSE(enum_from_name(kColorNames, "Red").has_value());  // names are exact
    CHECK_FALSE(enum_from_name(kColorNames, "").has_value());
}
