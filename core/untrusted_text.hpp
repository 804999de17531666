// Text that came from a host, a CA, a DNS server or a webhook, on its way to
// a terminal or a JSON document. Such text may hold anything: terminal
// escape sequences (which can rewrite what the operator sees), invalid
// UTF-8 (on which nlohmann::json's encoder throws), NUL bytes.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace certfleet::core {

// Valid UTF-8 with no control characters but newline and tab: every other
// C0 or C1 control and DEL becomes "?", every byte that is not part of a
// well-formed UTF-8 sequence becomes U+FFFD.
std::string terminal_safe(std::string_view text);

// j.dump(indent), with invalid UTF-8 in any string replaced by U+FFFD
// instead of throwing. For every document certfleet prints or sends.
std::string json_text(const nlohmann::json& j, int indent = -1);
std::string json_text(const nlohmann::ordered_json& j, int indent = -1);

}  // namespace certfleet::core
