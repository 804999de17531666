#include "distribute/host_files.hpp"

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

std::optional<std::uint32_t> effective_uid_in(std::string_view proc_status) {
    constexpr std::string_view kKey = "Uid:";
    std::size_t at = proc_status.starts_with(kKey) ? 0 : proc_status.find("\nUid:");
    if (at == std::string_view::npos) {
        return std::nullopt;
    }
    std::string_view line = proc_status.substr(at + (at == 0 ? 0 : 1) + kKey.size());
    line = line.substr(0, line.find('\n'));
    // Skip the real uid: the second number is the effective one.
    std::uint32_t uid = 0;
    for (int field = 0; field < 2; ++field) {
        const auto start = line.find_first_not_of(" \t");
        if (start == std::string_view::npos) {
            return std::nullopt;
        }
        line.remove_prefix(start);
        const char* end = line.data() + line.size();
        const auto [ptr, ec] = std::from_chars(line.data(), end, uid);
        if (ec != std::errc() || (ptr != end && *ptr != ' ' && *ptr != '\t')) {
            return std::nullopt;
        }
        line.remove_prefix(static_cast<std::size_t>(ptr - line.data()));
    }
    return uid;
}

}  // namespace certfleet::distribute
