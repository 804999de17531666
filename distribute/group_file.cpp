#include "distribute/group_file.hpp"

#include <charconv>

namespace certfleet::distribute {

namespace {

// Field `index` of a ':'-separated line, or nullopt when it has fewer.
std::optional<std::string_view> field(std::string_view line, std::size_t index) {
    for (std::size_t i = 0; i < index; ++i) {
        const auto colon = line.find(':');
        if (colon == std::string_view::npos) {
            return std::nullopt;
        }
        line.remove_prefix(colon + 1);
    }
    return line.substr(0, line.find(':'));
}

std::optional<std::uint32_t> gid_of_line(std::string_view line, std::string_view name) {
    if (field(line, 0) != name) {
        return std::nullopt;
    }
    const auto gid_text = field(line, 2);
    if (!gid_text || gid_text->empty()) {
        return std::nullopt;
    }
    std::uint32_t gid = 0;
    const char* end = gid_text->data() + gid_text->size();
    const auto [ptr, ec] = std::from_chars(gid_text->data(), end, gid);
    if (ec != std::errc() || ptr != end) {
        return std::nullopt;
    }
    return gid;
}

}  // namespace

std::optional<std::uint32_t> group_id_in(std::string_view group_file, std::string_view name) {
    if (name.empty() || name.find(':') != std::string_view::npos ||
        name.find('\n') != std::string_view::npos) {
        return std::nullopt;
    }
    while (!group_file.empty()) {
        const auto newline = group_file.find('\n');
        const std::string_view line = group_file.substr(0, newline);
        group_file.remove_prefix(newline == std::string_view::npos ? group_file.size()
                                                                   : newline + 1);
        // "+" / "-" lines are NIS compat entries, not groups of this file.
        if (line.empty() || line.front() == '#' || line.front() == '+' || line.front() == '-') {
            continue;
        }
        if (auto gid = gid_of_line(line, name)) {
            return gid;
        }
    }
    return std::nullopt;
}

}  // namespace certfleet::distribute
