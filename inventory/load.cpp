#include "inventory/load.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "core/fs.hpp"
#include "inventory/inventory_check.hpp"
#include "inventory/json_positions.hpp"

namespace certfleet::inventory {

namespace {

constexpr const char* kDefaultStateDir = "/var/lib/certfleet";
// Far beyond any real fleet's inventory; a bound on what is read into memory.
constexpr std::size_t kMaxInventoryBytes = 64 * 1024 * 1024;

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

// Where parsing stopped, for the error nlohmann throws without a position:
// a number too large for a double ("1e999") is an out_of_range exception,
// not a parse_error. A second pass through the SAX interface has it.
size_t error_offset(std::string_view text) {
    using detail::Json;
    class ErrorOffset final : public nlohmann::json_sax<Json> {
    public:
        size_t offset = 0;
        bool null() override { return true; }
        bool boolean(bool) override { return true; }
        bool number_integer(Json::number_integer_t) override { return true; }
        bool number_unsigned(Json::number_unsigned_t) override { return true; }
        bool number_float(Json::number_float_t, const Json::string_t&) override { return true; }
        bool string(Json::string_t&) override { return true; }
        bool binary(Json::binary_t&) override { return true; }
        bool start_object(size_t) override { return true; }
        bool key(Json::string_t&) override { return true; }
        bool end_object() override { return true; }
        bool start_array(size_t) override { return true; }
        bool end_array() override { return true; }
        bool parse_error(size_t position, const std::string&, const Json::exception&) override {
            offset = position > 0 ? position - 1 : 0;  // counted from 1, like parse_error::byte
            return false;
        }
    } error;
    Json::sax_parse(text, &error, Json::input_format_t::json, /*strict=*/true,
                    /*ignore_comments=*/true);
    return error.offset;
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

core::Result<InventoryFile> read_inventory_file(const std::string& path) {
    // core::read_file: a FIFO or device named as the inventory is refused,
    // not waited on.
    auto text = core::read_file(path, kMaxInventoryBytes);
    if (!text) {
        core::Error e = text.error();
        const std::string prefix = "cannot read " + path + ": ";
        if (e.message.starts_with(prefix))
            e.message.erase(0, prefix.size());  // the why: the caller names the file
        return core::fail(std::move(e));
    }
    std::error_code ec;
    const std::filesystem::path absolute = std::filesystem::absolute(path, ec);
    return InventoryFile{std::move(*text), ec ? std::string(".") : absolute.parent_path().string()};
}

LoadResult load_inventory(const std::string& path) {
    auto file = read_inventory_file(path);
    if (!file) {
        LoadResult result;
        result.diagnostics.push_back(Diagnostic{.file = path,
                                                .line = 0,
                                                .column = 0,
                                                .path = "",
                                                .message = "cannot read: " + file.error().message,
                                                .warning = false,
                                                .security = false});
        return result;
    }
    return parse_inventory(file->text, path, file->base_dir);
}

namespace {

// The top-level keys an inventory may have.
const std::vector<std::string_view> kTopLevelKeys = {
    "state_dir", "acme",         "dns",    "defaults", "groups",
    "hosts",     "certificates", "policy", "notify",   "hooks"};

struct Document {
    detail::Json root;
    PositionMap positions;
};

// The JSON and its positions; nullopt (with the diagnostic in `result`) when
// the text is not JSON or nests too deep to check.
std::optional<Document> read_document(std::string_view text, const std::string& file_name,
                                      LoadResult& result) {
    using detail::Json;
    Json root;
    try {
        root = Json::parse(text, nullptr, true, /*ignore_comments=*/true);
    } catch (const Json::parse_error& e) {
        // `byte` counts from 1 and points at the character that failed.
        std::string message = syntax_message(e.what());
        size_t offset = token_start(text, e.byte > 0 ? e.byte - 1 : 0, message);
        Position at = position_of_offset(text, offset);
        result.diagnostics.push_back(Diagnostic{.file = file_name,
                                                .line = at.line,
                                                .column = at.column,
                                                .path = "",
                                                .message = std::move(message),
                                                .warning = false,
                                                .security = false});
        return std::nullopt;
    } catch (const Json::out_of_range&) {
        const size_t end = error_offset(text);
        const size_t start = token_start(text, end, " literal");
        const Position at = position_of_offset(text, start);
        const auto number = text.substr(start, end >= start ? end - start + 1 : 0);
        result.diagnostics.push_back(
            Diagnostic{.file = file_name,
                       .line = at.line,
                       .column = at.column,
                       .path = "",
                       .message = "number '" + std::string(number) + "' is out of range",
                       .warning = false,
                       .security = false});
        return std::nullopt;
    }

    PositionMap positions = PositionMap::scan(text);
    if (const auto& at = positions.too_deep()) {
        // Nothing in an inventory nests this deep; checking such a document
        // would only copy and walk it recursively.
        result.diagnostics.push_back(Diagnostic{
            .file = file_name,
            .line = at->line,
            .column = at->column,
            .path = "",
            .message = "nested more than " + std::to_string(kMaxJsonDepth) + " levels deep",
            .warning = false,
            .security = false});
        return std::nullopt;
    }
    return Document{std::move(root), std::move(positions)};
}

Inventory empty_inventory(const std::string& file_name, const std::string& base_dir) {
    Inventory inventory;
    inventory.path = file_name;
    inventory.base_dir = base_dir;
    inventory.state_dir = kDefaultStateDir;
    return inventory;
}

void load_state_dir(detail::ObjectReader& top, Inventory& inventory) {
    if (auto dir = top.local_path("state_dir")) {
        inventory.state_dir = *dir;
        detail::check_directory(top.checker(), "state_dir", *dir, detail::MissingDirectory::Create);
    }
}

}  // namespace

LoadResult parse_inventory(std::string_view text, const std::string& file_name,
                           const std::string& base_dir) {
    LoadResult result;
    auto doc = read_document(text, file_name, result);
    if (!doc)
        return result;
    const auto& root = doc->root;
    const auto& positions = doc->positions;
    detail::Checker checker(positions, file_name, base_dir);
    for (const auto& dup : positions.duplicates())
        checker.error_at_key(dup.path, "duplicate key (first at line " +
                                           std::to_string(dup.first.line) + ", column " +
                                           std::to_string(dup.first.column) + ")");

    Inventory inventory = empty_inventory(file_name, base_dir);
    if (!root.is_object()) {
        checker.error("", "the inventory must be a JSON object");
    } else {
        detail::ObjectReader top(checker, root, "", kTopLevelKeys);
        load_state_dir(top, inventory);
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

LoadResult parse_alarm_sections(std::string_view text, const std::string& file_name,
                                const std::string& base_dir) {
    LoadResult result;
    auto doc = read_document(text, file_name, result);
    if (!doc || !doc->root.is_object())
        return result;
    Inventory inventory = empty_inventory(file_name, base_dir);
    // Only these sections are read: a typo in any other must not stop the alarm.
    detail::Json sections = detail::Json::object();
    for (const char* key : {"state_dir", "notify", "hooks"})
        if (doc->root.contains(key))
            sections[key] = doc->root[key];
    detail::Checker checker(doc->positions, file_name, base_dir);
    detail::ObjectReader top(checker, sections, "", kTopLevelKeys);
    load_state_dir(top, inventory);
    detail::load_notify_and_hooks(top, inventory);
    detail::check_local_paths(checker, inventory);
    // A broken policy must not silence the alarm: its defaults do then.
    detail::Checker policy_checker(doc->positions, file_name, base_dir);
    detail::Json policy = detail::Json::object();
    if (doc->root.contains("policy"))
        policy["policy"] = doc->root["policy"];
    detail::ObjectReader policy_top(policy_checker, policy, "", kTopLevelKeys);
    detail::load_policy(policy_top, inventory);
    if (policy_checker.has_errors())
        inventory.policy = Policy{};
    const bool failed = checker.has_errors();
    result.diagnostics = checker.take_diagnostics();
    if (!failed)
        result.inventory = std::move(inventory);
    return result;
}

}  // namespace certfleet::inventory
