// One table per enum gives both conversions, so the strings an enum is
// printed, stored and parsed as live in exactly one place:
//
//   constexpr core::EnumNames<Color> kColorNames[] = {{Color::Red, "red"}, ...};
//   core::enum_name(kColorNames, Color::Red, "unknown")  -> "red"
//   core::enum_from_name(kColorNames, "red")             -> Color::Red
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>
#include <utility>

namespace certfleet::core {

template <class E>
using EnumNames = std::pair<E, std::string_view>;

// `otherwise` for a value missing from the table (a table kept complete
// never needs it; it keeps a new enumerator from printing nothing).
template <class E, std::size_t N>
constexpr std::string_view enum_name(const EnumNames<E> (&table)[N], E value,
                                     std::string_view otherwise) {
    for (const auto& [v, name] : table)
        if (v == value)
            return name;
    return otherwise;
}

template <class E, std::size_t N>
constexpr std::optional<E> enum_from_name(const EnumNames<E> (&table)[N], std::string_view name) {
    for (const auto& [v, n] : table)
        if (n == name)
            return v;
    return std::nullopt;
}

}  // namespace certfleet::core
