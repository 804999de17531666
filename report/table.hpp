// The one table layout every command prints: left-aligned columns fitted to
// their content, trailing spaces trimmed.
#pragma once

#include <string>
#include <vector>

namespace certfleet::report {

// A cell with several lines (nginx -t's error, say) keeps its first line in
// the row and indents the others under its own column, so rows stay readable.
std::string format_table(const std::vector<std::string>& header,
                         const std::vector<std::vector<std::string>>& rows);

}  // namespace certfleet::report
