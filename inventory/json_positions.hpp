// Where each value of a JSON document starts. nlohmann::json keeps no source
// positions, so diagnostics get theirs from this separate scan of the text.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace certfleet::inventory {

struct Position {
    int line = 0;    // 1-based; 0 = unknown
    int column = 0;  // 1-based, counted in characters (UTF-8 code points)
};

// Paths look like `certificates.site.domains[1]`; a key that is not a plain
// word is quoted so the path stays unambiguous: `hosts["web1.example.org"]`.
std::string member_path(std::string_view parent, std::string_view key);
std::string element_path(std::string_view parent, size_t index);
// The path one level up; "" for a top-level member (and for "").
std::string parent_path(std::string_view path);

// How deep PositionMap::scan follows objects and arrays (an inventory needs
// five levels): beyond, a recursive walk could overflow the stack, and the
// paths alone would take memory quadratic in the depth.
constexpr size_t kMaxJsonDepth = 64;

// Line and column of a byte offset (an offset past the end is the end).
Position position_of_offset(std::string_view text, size_t offset);

class PositionMap {
public:
    struct Duplicate {
        std::string path;  // the repeated member
        Position first;    // key of the earlier occurrence
        Position second;   // key of the later one (nlohmann keeps the later value)
    };

    // `text` must already have been accepted by nlohmann::json::parse with
    // comments ignored; malformed input yields a partial map, never a crash.
    static PositionMap scan(std::string_view text);

    // Where the value at `path` starts; falls back to the nearest ancestor.
    Position value(std::string_view path) const;
    // Where the member's key starts (the value position for array elements).
    Position key(std::string_view path) const;
    const std::vector<Duplicate>& duplicates() const { return m_duplicates; }
    // Where an object or array first lies deeper than kMaxJsonDepth; what is
    // inside it is not mapped.
    const std::optional<Position>& too_deep() const { return m_too_deep; }

private:
    struct Entry {
        Position value;
        Position key;
    };
    friend class PositionScanner;
    std::unordered_map<std::string, Entry> m_entries;
    std::vector<Duplicate> m_duplicates;
    std::optional<Position> m_too_deep;
};

}  // namespace certfleet::inventory
