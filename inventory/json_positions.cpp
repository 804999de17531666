#include "inventory/json_positions.hpp"

#include <algorithm>
#include <cstdint>

namespace certfleet::inventory {

namespace {

bool is_plain_key(std::string_view key) {
    if (key.empty())
        return false;
    return std::all_of(key.begin(), key.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '_' || c == '-';
    });
}

void append_utf8(std::string& out, uint32_t cp) {
    if (cp < 0x80) {
        out += static_cast<char>(cp);
    } else if (cp < 0x800) {
        out += static_cast<char>(0xC0 | (cp >> 6));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        out += static_cast<char>(0xE0 | (cp >> 12));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
        out += static_cast<char>(0xF0 | (cp >> 18));
        out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    }
}

bool has_bom(std::string_view text) {
    return text.starts_with("\xEF\xBB\xBF");
}

// Line starts are computed once so every lookup is a binary search plus a
// walk along one line.
class LineIndex {
public:
    explicit LineIndex(std::string_view text) : m_text(text) {
        m_starts.push_back(0);
        for (size_t i = 0; i < text.size(); ++i)
            if (text[i] == '\n')
                m_starts.push_back(i + 1);
    }

    Position at(size_t offset) {
        offset = std::min(offset, m_text.size());
        auto it = std::upper_bound(m_starts.begin(), m_starts.end(), offset);
        size_t line_start = *(it - 1);
        int column = 1;
        // Editors count characters, not bytes; a BOM is invisible.
        size_t from = (line_start == 0 && has_bom(m_text)) ? 3 : line_start;
        // The scanner asks for ever larger offsets: go on counting from the
        // previous answer on the same line, or a long line (a minified
        // inventory) would cost time quadratic in its length.
        if (m_last.line_start == line_start && m_last.offset >= from && m_last.offset <= offset) {
            from = m_last.offset;
            column = m_last.column;
        }
        for (size_t i = from; i < offset; ++i)
            if ((static_cast<unsigned char>(m_text[i]) & 0xC0) != 0x80)
                ++column;
        m_last = Last{.line_start = line_start, .offset = offset, .column = column};
        return Position{static_cast<int>(it - m_starts.begin()), column};
    }

private:
    struct Last {
        size_t line_start = SIZE_MAX;
        size_t offset = 0;
        int column = 1;
    };
    std::string_view m_text;
    std::vector<size_t> m_starts;
    Last m_last;
};

}  // namespace

std::string member_path(std::string_view parent, std::string_view key) {
    std::string out(parent);
    if (is_plain_key(key)) {
        if (!out.empty())
            out += '.';
        out += key;
        return out;
    }
    out += "[\"";
    for (char c : key) {
        if (c == '"' || c == '\\')
            out += '\\';
        out += c;
    }
    out += "\"]";
    return out;
}

std::string element_path(std::string_view parent, size_t index) {
    return std::string(parent) + "[" + std::to_string(index) + "]";
}

std::string parent_path(std::string_view path) {
    size_t last = 0;  // start of the last component
    bool in_quotes = false;
    for (size_t i = 0; i < path.size(); ++i) {
        char c = path[i];
        if (in_quotes) {
            if (c == '\\')
                ++i;
            else if (c == '"')
                in_quotes = false;
        } else if (c == '"') {
            in_quotes = true;
        } else if (c == '.' || c == '[') {
            last = i;
        }
    }
    return std::string(path.substr(0, last));
}

Position position_of_offset(std::string_view text, size_t offset) {
    return LineIndex(text).at(offset);
}

// A forgiving recursive walk: the text is known to be valid, so it only has
// to keep track of where it is, never to judge. It descends kMaxJsonDepth
// levels at most: deeper values are skipped, and the first one is noted.
class PositionScanner {
public:
    PositionScanner(std::string_view text, PositionMap& map)
        : m_text(text), m_lines(text), m_map(map) {
        if (has_bom(text))
            m_i = 3;
    }

    void run() {
        skip_space();
        if (m_i < m_text.size())
            value("", Position{}, 0);
    }

private:
    bool at_end() const { return m_i >= m_text.size(); }
    char peek() const { return at_end() ? '\0' : m_text[m_i]; }

    void skip_space() {
        while (!at_end()) {
            char c = m_text[m_i];
            if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
                ++m_i;
            } else if (m_text.substr(m_i).starts_with("//")) {
                size_t nl = m_text.find('\n', m_i);
                m_i = nl == std::string_view::npos ? m_text.size() : nl + 1;
            } else if (m_text.substr(m_i).starts_with("/*")) {
                size_t end = m_text.find("*/", m_i + 2);
                m_i = end == std::string_view::npos ? m_text.size() : end + 2;
            } else {
                return;
            }
        }
    }

    uint32_t hex4() {
        uint32_t v = 0;
        for (int k = 0; k < 4 && !at_end(); ++k, ++m_i) {
            char c = m_text[m_i];
            v <<= 4;
            if (c >= '0' && c <= '9')
                v |= static_cast<uint32_t>(c - '0');
            else if (c >= 'a' && c <= 'f')
                v |= static_cast<uint32_t>(c - 'a' + 10);
            else if (c >= 'A' && c <= 'F')
                v |= static_cast<uint32_t>(c - 'A' + 10);
        }
        return v;
    }

    // At the opening quote; leaves m_i after the closing one.
    std::string string() {
        std::string out;
        ++m_i;
        while (!at_end() && m_text[m_i] != '"') {
            char c = m_text[m_i++];
            if (c != '\\') {
                out += c;
                continue;
            }
            char e = peek();
            ++m_i;
            switch (e) {
                case 'b':
                    out += '\b';
                    break;
                case 'f':
                    out += '\f';
                    break;
                case 'n':
                    out += '\n';
                    break;
                case 'r':
                    out += '\r';
                    break;
                case 't':
                    out += '\t';
                    break;
                case 'u': {
                    uint32_t cp = hex4();
                    if (cp >= 0xD800 && cp < 0xDC00 && m_text.substr(m_i).starts_with("\\u")) {
                        m_i += 2;
                        uint32_t low = hex4();
                        cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
                    }
                    append_utf8(out, cp);
                    break;
                }
                default:
                    out += e;
                    break;
            }
        }
        ++m_i;
        return out;
    }

    // Past an object or array nested too deep, without recursion. Strings
    // may hold brackets; comments between elements are skipped as spaces.
    void skip_nested() {
        size_t open = 0;
        do {
            skip_space();
            char c = peek();
            if (c == '"') {
                string();
                continue;
            }
            if (c == '{' || c == '[')
                ++open;
            else if (c == '}' || c == ']')
                --open;
            ++m_i;
        } while (open > 0 && !at_end());
    }

    void value(const std::string& path, Position key_pos, size_t depth) {
        Position here = m_lines.at(m_i);
        m_map.m_entries[path] = PositionMap::Entry{here, key_pos.line ? key_pos : here};
        char c = peek();
        if ((c == '{' || c == '[') && depth >= kMaxJsonDepth) {
            if (!m_map.m_too_deep)
                m_map.m_too_deep = here;
            skip_nested();
        } else if (c == '{') {
            object(path, depth + 1);
        } else if (c == '[') {
            array(path, depth + 1);
        } else if (c == '"') {
            string();
        } else {
            while (!at_end() &&
                   std::string_view(",]} \t\r\n/").find(m_text[m_i]) == std::string_view::npos)
                ++m_i;
        }
    }

    void object(const std::string& path, size_t depth) {
        ++m_i;
        std::unordered_map<std::string, Position> seen;
        for (;;) {
            skip_space();
            if (at_end() || peek() == '}')
                break;
            if (peek() != '"')
                return;  // not valid JSON after all: stop quietly
            Position key_pos = m_lines.at(m_i);
            std::string key = string();
            std::string child = member_path(path, key);
            auto [it, inserted] = seen.emplace(key, key_pos);
            if (!inserted)
                m_map.m_duplicates.push_back({child, it->second, key_pos});
            skip_space();
            if (peek() != ':')
                return;
            ++m_i;
            skip_space();
            value(child, key_pos, depth);
            skip_space();
            if (peek() == ',')
                ++m_i;
        }
        ++m_i;
    }

    void array(const std::string& path, size_t depth) {
        ++m_i;
        for (size_t index = 0;; ++index) {
            skip_space();
            if (at_end() || peek() == ']')
                break;
            size_t before = m_i;
            value(element_path(path, index), Position{}, depth);
            skip_space();
            if (peek() == ',')
                ++m_i;
            if (m_i == before)
                return;  // no progress: malformed
        }
        ++m_i;
    }

    std::string_view m_text;
    LineIndex m_lines;
    PositionMap& m_map;
    size_t m_i = 0;
};

PositionMap PositionMap::scan(std::string_view text) {
    PositionMap map;
    PositionScanner(text, map).run();
    return map;
}

Position PositionMap::value(std::string_view path) const {
    std::string p(path);
    for (;;) {
        if (auto it = m_entries.find(p); it != m_entries.end())
            return it->second.value;
        if (p.empty())
            return Position{1, 1};
        p = parent_path(p);
    }
}

Position PositionMap::key(std::string_view path) const {
    if (auto it = m_entries.find(std::string(path)); it != m_entries.end())
        return it->second.key;
    return value(path);
}

}  // namespace certfleet::inventory
