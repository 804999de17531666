#include "inventory/load.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "inventory/inventory_check.hpp"
#include "inventory/json_positions.hpp"

namespace certfleet::inventory {

namespace {

constexpr const char* kDefaultStateDir = "/var/lib/certfleet";

// nlohmann's text repeats a position we compute ourselves and may quote the
// input ("last read: '...'"), which could be a pasted secret: keep the gist.
std::string syntax_message(const std::string& what) {
    std::string msg = what;
    if (size_t col = msg.find("column "); col != std::string::npos) {
        if (size_t colon = msg.find(": ", col); colon != std::string::npos)
            msg = msg.substr(colon + 2);
    }
    if (size_t last = msg.find("; last read: "); last != std::string::npos) {
        size_t quote_end = msg.find('\'', last + 14);
        msg.erase(last, quote_end == std::string::npos ? std::string::npos : quote_end + 1 - last);
    }
    // The usual cause of "unexpected X; expected '}'" is the comma forgotten
    // at the end of the previous line.
    if (msg.find("unexpected '") == std::string::npos &&
        (msg.ends_with("expected '}'") || msg.ends_with("expected ']'")))
        msg += " (is a ',' missing before it?)";
    return msg;
}

// nlohmann points at the last character of the offending token; a reader
// looks for its first one.
size_t token_start(std::string_view text, size_t offset, const std::string& message) {
    if (offset >= text.size())
        return offset;
    if (message.find("unexpected string literal") != std::string::npos && text[offset] == '"') {
        for (size_t i = offset; i-- > 0;) {
            if (text[i] != '"')
                continue;
            size_t backslashes = 0;
            while (i > backslashes && text[i - 1 - backslashes] == '\\')
                ++backslashes;
            if (backslashes % 2 == 0)
                return i;
        }
    }
    if (message.find(" literal") != std::string::npos) {
        while (offset > 0 && std::string_view("0123456789+-.eEtrufalsn").find(text[offset - 1]) !=
                                 std::string_view::npos)
            --offset;
    }
    return offset;
}

}  // namespace

std::string Diagnostic::format() const {
    std::string out = file + ":";
    if (line > 0)
        out += std::to_string(line) + ":" + std::to_string(column) + ":";
    out += " ";
    if (warning)
        out += "warning: ";
    if (!path.empty())
        out += path + ": ";
    out += message;
    return out;
}

bool LoadResult::ok() const {
    return std::none_of(diagnostics.begin(), diagnostics.end(),
                        [](const Diagnostic& d) { return !d.warning; });
}

LoadResult load_inventory(const std::string& path) {
    LoadResult result;
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        result.diagnostics.push_back(
            Diagnostic{path, 0, 0, "", std::string("cannot read: ") + std::strerror(errno), false});
        return result;
    }
    std::ostringstream buffer;
    buffer << in.rdbuf();
    std::error_code ec;
    std::filesystem::path absolute = std::filesystem::absolute(path, ec);
    std::string base_dir = ec ? std::string(".") : absolute.parent_path().string();
    return parse_inventory(buffer.str(), path, base_dir);
}

LoadResult parse_inventory(std::string_view text, const std::string& file_name,
                           const std::string& base_dir) {
    using detail::Json;
    LoadResult result;
    Json root;
    try {
        root = Json::parse(text, nullptr, true, /*ignore_comments=*/true);
    } catch (const Json::parse_error& e) {
        // `byte` counts from 1 and points at the character that failed.
        std::string message = syntax_message(e.what());
        size_t offset = token_start(text, e.byte > 0 ? e.byte - 1 : 0, message);
        Position at = position_of_offset(text, offset);
        result.diagnostics.push_back(
            Diagnostic{file_name, at.line, at.column, "", std::move(message), false});
        return result;
    }

    PositionMap positions = PositionMap::scan(text);
    detail::Checker checker(positions, file_name, base_dir);
    for (const auto& dup : positions.duplicates())
        checker.error_at_key(dup.path, "duplicate key (first at line " +
                                           std::to_string(dup.first.line) + ", column " +
                                           std::to_string(dup.first.column) + ")");

    Inventory inventory;
    inventory.path = file_name;
    inventory.base_dir = base_dir;
    inventory.state_dir = kDefaultStateDir;
    if (!root.is_object()) {
        checker.error("", "the inventory must be a JSON object");
    } else {
        detail::ObjectReader top(checker, root, "",
                                 {"state_dir", "acme", "dns", "defaults", "groups", "hosts",
                                  "certificates", "policy", "notify", "hooks"});
        if (auto dir = top.local_path("state_dir")) {
            inventory.state_dir = *dir;
            detail::check_directory(checker, "state_dir", *dir, detail::MissingDirectory::Create);
        }
        detail::load_acme(top, inventory);
        detail::load_dns(top, inventory);
        detail::load_hosts(top, inventory);
        detail::load_certificates(top, inventory);
        detail::load_policy(top, inventory);
        detail::load_notify_and_hooks(top, inventory);
        detail::check_local_paths(checker, inventory);
    }
    bool failed = checker.has_errors();
    result.diagnostics = checker.take_diagnostics();
    if (!failed)
        result.inventory = std::move(inventory);
    return result;
}

}  // namespace certfleet::inventory
