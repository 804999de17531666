// Inventory text at the edges of what the reader handles, each found by
// fuzz/inventory_fuzz.cpp or next to it: a number no double holds, absurd
// nesting and a long single line give a diagnostic in reasonable time, never
// an exception, a stack overflow or quadratic work.
#include <chrono>
#include <string>

#include <catch2/catch.hpp>

#include "inventory/json_positions.hpp"
#include "inventory/load.hpp"

using namespace certfleet::inventory;

TEST_CASE("a number too large for a double is reported at its position", "[inventory]") {
    // nlohmann throws out_of_range (not parse_error) for it, which escaped
    // parse_inventory and ended certfleet with terminate().
    const std::string text = "{\n  \"acme\": {\n    \"contact\": 1e999s\n  }\n}\n";
    LoadResult result;
    REQUIRE_NOTHROW(result = parse_inventory(text, "inv.json", "/nonexistent"));
    CHECK_FALSE(result.ok());
    CHECK_FALSE(result.inventory);
    REQUIRE(result.diagnostics.size() == 1);
    const Diagnostic& d = result.diagnostics.front();
    CHECK(d.line == 3);
    CHECK(d.column == 16);
    CHECK(d.message == "number '1e999' is out of range");

    const LoadResult negative = parse_inventory("[-2e400]", "inv.json", "/nonexistent");
    REQUIRE(negative.diagnostics.size() == 1);
    CHECK(negative.diagnostics.front().column == 2);
    CHECK(negative.diagnostics.front().message == "number '-2e400' is out of range");
}

TEST_CASE("an inventory nested 100,000 deep is one error, not a stack overflow", "[inventory]") {
    // The position scan recursed once per level (and kept each level's path,
    // quadratic memory): a 200 KB file overflowed the stack.
    constexpr size_t kDepth = 100'000;
    // Three levels (the document, notify, its first entry) before x's arrays.
    const std::string prefix = "{\"notify\": [{\"type\": \"webhook\", \"x\": ";
    const std::string text = prefix + std::string(kDepth, '[') + std::string(kDepth, ']') + "}]}";
    const LoadResult result = parse_inventory(text, "inv.json", "/nonexistent");
    REQUIRE(result.diagnostics.size() == 1);
    const Diagnostic& d = result.diagnostics.front();
    CHECK(d.message == "nested more than 64 levels deep");
    CHECK(d.line == 1);
    // At the 65th level: x's (64 - 3 + 1)th '['.
    CHECK(d.column == static_cast<int>(prefix.size() + kMaxJsonDepth - 3 + 1));

    // 64 levels are still read, positions and all.
    const std::string deep_enough = "{\"hooks\": " + std::string(kMaxJsonDepth - 1, '[') +
                                    std::string(kMaxJsonDepth - 1, ']') + "}";
    const LoadResult fine = parse_inventory(deep_enough, "inv.json", "/nonexistent");
    for (const auto& diagnostic : fine.diagnostics)
        CHECK(diagnostic.message.find("nested") == std::string::npos);
}

TEST_CASE("a long one-line document is mapped in linear time", "[inventory]") {
    // Each value's column was counted from the start of its line: a minified
    // inventory took time quadratic in its length (50,000 values: 15 s).
    std::string text = "{\"x\": [";
    for (int i = 0; i < 50'000; ++i)
        text += "1,";
    text += "\"last\"]}";
    const auto start = std::chrono::steady_clock::now();
    const PositionMap positions = PositionMap::scan(text);
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(2));
    const Position last = positions.value("x[50000]");
    CHECK(last.line == 1);
    CHECK(last.column == static_cast<int>(text.find("\"last\"")) + 1);
    CHECK(positions.value("x[49999]").column == last.column - 2);
}
