#include "report/table.hpp"

#include <algorithm>
#include <sstream>

namespace certfleet::report {

namespace {

std::vector<std::string> split_lines(const std::string& cell) {
    std::vector<std::string> lines;
    std::istringstream in(cell);
    for (std::string l; std::getline(in, l);)
        lines.push_back(l);
    if (lines.empty())
        lines.emplace_back();
    return lines;
}

}  // namespace

std::string format_table(const std::vector<std::string>& header,
                         const std::vector<std::vector<std::string>>& rows) {
    std::vector<size_t> width(header.size(), 0);
    auto fit = [&](const std::vector<std::string>& row) {
        for (size_t i = 0; i < row.size() && i < width.size(); ++i)
            width[i] = std::max(width[i], split_lines(row[i]).front().size());
    };
    fit(header);
    for (const auto& r : rows)
        fit(r);
    std::ostringstream out;
    auto emit = [&](std::string text) {
        while (!text.empty() && text.back() == ' ')
            text.pop_back();
        out << text << "\n";
    };
    auto line = [&](const std::vector<std::string>& row) {
        std::string text;
        std::vector<std::pair<size_t, std::string>> more;  // (column offset, line)
        for (size_t i = 0; i < row.size(); ++i) {
            auto lines = split_lines(row[i]);
            for (size_t k = 1; k < lines.size(); ++k)
                more.emplace_back(text.size(), lines[k]);
            text += lines.front();
            if (i + 1 < row.size())
                text += std::string(width[i] - lines.front().size() + 2, ' ');
        }
        emit(text);
        for (const auto& [offset, extra] : more)
            emit(std::string(offset + 2, ' ') + extra);
    };
    line(header);
    for (const auto& r : rows)
        line(r);
    return out.str();
}

}  // namespace certfleet::report
