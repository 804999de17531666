// Small text helpers that several modules need the same way. ASCII only and
// locale-independent on purpose: they treat protocol text (header names,
// DNS names, algorithm names, inventory keys), where a locale must not
// change the answer.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace certfleet::core {

// "Content-Type" -> "content-type"; bytes outside A-Z are kept.
std::string lower(std::string_view text);

// "lexicon_powerdns" -> "LEXICON_POWERDNS"; bytes outside a-z are kept.
std::string upper(std::string_view text);

// "No such file" -> "no such file": an OS message placed mid-sentence.
std::string lower_first(std::string text);

// Without leading and trailing spaces, tabs, CR, LF, VT and FF.
std::string trim(std::string_view text);

// {"a", "b"} -> "a, b" (with the default separator).
std::string join(const std::vector<std::string>& items, std::string_view separator = ", ");

}  // namespace certfleet::core
