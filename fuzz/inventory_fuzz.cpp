// libFuzzer: parse_inventory on arbitrary bytes (JSON with comments, then
// every section's validation). Beyond "no crash, leak, timeout or
// exception", the documented contract must hold: an inventory exactly when
// there is no error, diagnostics sorted by position, every position inside
// the text. The base directory does not exist, so relative paths only ever
// resolve to missing files (the checks stat paths, they never open them).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "inventory/load.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace certfleet::inventory;
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    const LoadResult result = parse_inventory(text, "fuzz.json", "/nonexistent/certfleet-fuzz");
    if (result.ok() != result.inventory.has_value())
        __builtin_trap();
    int lines = 1;
    for (char c : text)
        lines += c == '\n' ? 1 : 0;
    int last_line = 0;
    int last_column = 0;
    for (const auto& d : result.diagnostics) {
        if (d.line < 0 || d.line > lines || d.column < 0 || (d.line > 0 && d.column < 1) ||
            d.message.empty() || d.file != "fuzz.json")
            __builtin_trap();
        if (d.line < last_line || (d.line == last_line && d.column < last_column))
            __builtin_trap();
        last_line = d.line;
        last_column = d.column;
        if (d.format().empty())
            __builtin_trap();
    }
    return 0;
}
