// See nginx_config_syntax.hpp. The tokenizer mirrors ngx_conf_read_token
// (src/core/ngx_conf_file.c) closely, because a quoted path with spaces or an
// escaped quote must come out exactly as nginx reads it.
#include "audit/nginx_config_syntax.hpp"

#include <algorithm>
#include <charconv>

namespace certfleet::audit::nginx_syntax {

namespace {

constexpr std::string_view kHeader = "# configuration file ";
constexpr std::size_t npos = std::string_view::npos;

bool is_space(char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

void append_escaped(std::string& word, char c) {
    switch (c) {
        case '"':
        case '\'':
        case '\\':
            word += c;
            break;
        case 't':
            word += '\t';
            break;
        case 'r':
            word += '\r';
            break;
        case 'n':
            word += '\n';
            break;
        default:  // nginx keeps other escapes as written
            word += '\\';
            word += c;
    }
}

std::size_t read_quoted(std::string_view s, std::size_t i, Cursor& cursor, std::string& word,
                        Token& token) {
    const char quote = s[i];
    for (++i; i < s.size() && s[i] != quote; ++i) {
        if (s[i] == '\\' && i + 1 < s.size()) {
            ++i;
            append_escaped(word, s[i]);
        } else {
            word += s[i];
        }
        if (s[i] == '\n')
            ++cursor.line;
    }
    if (i >= s.size()) {
        token.error = "unterminated quoted string";
        return i;
    }
    ++i;
    // nginx wants a separator after the closing quote (')' for "if (...)").
    if (i < s.size() && !is_space(s[i]) && s[i] != ';' && s[i] != '{' && s[i] != ')')
        token.error = "unexpected character after a quoted string";
    return i;
}

std::size_t read_plain(std::string_view s, std::size_t i, Cursor& cursor, std::string& word) {
    bool variable = false;  // after '$', '{' belongs to the word (and stays so, as in nginx)
    while (i < s.size()) {
        const char c = s[i];
        if (c == '{' && variable) {
            word += c;
            ++i;
        } else if (is_space(c) || c == ';' || c == '{') {
            break;
        } else if (c == '\\' && i + 1 < s.size()) {
            append_escaped(word, s[i + 1]);
            cursor.line += s[i + 1] == '\n' ? 1 : 0;
            i += 2;
            variable = false;
        } else {
            // Plain runs in one append: a 50 MB word must not cost 50 M calls.
            const std::size_t end = std::min(s.find_first_of(" \t\r\n;{\\$", i + 1), s.size());
            word.append(s.substr(i, end - i));
            variable = s[end - 1] == '$';
            i = end;
        }
    }
    return i;
}

// One element at the start of `pat` against `c`; `len` is its length.
bool match_one(std::string_view pat, char c, std::size_t& len, std::size_t& steps) {
    len = 1;
    if (pat[0] == '?')
        return true;
    if (pat[0] == '\\' && pat.size() > 1) {
        len = 2;
        return pat[1] == c;
    }
    if (pat[0] == '[') {
        const auto uc = [](char x) { return static_cast<unsigned char>(x); };
        std::size_t i = 1;
        const bool negate = i < pat.size() && (pat[i] == '!' || pat[i] == '^');
        i += negate ? 1 : 0;
        const std::size_t first = i;
        bool found = false;
        for (; i < pat.size() && (pat[i] != ']' || i == first); ++i) {
            const char lo = pat[i] == '\\' && i + 1 < pat.size() ? pat[++i] : pat[i];
            char hi = lo;
            if (i + 2 < pat.size() && pat[i + 1] == '-' && pat[i + 2] != ']') {
                i += 2;
                hi = pat[i] == '\\' && i + 1 < pat.size() ? pat[++i] : pat[i];
            }
            found = found || (uc(lo) <= uc(c) && uc(c) <= uc(hi));
        }
        steps += i;
        if (i < pat.size()) {
            len = i + 1;
            return found != negate;
        }
        // No closing ']': the '[' is an ordinary character.
    }
    return pat[0] == c;
}

// Only the last '*' is ever backtracked: an earlier one could only absorb
// more of the name to let the later pattern match later, which the last
// star already tries. That makes it O(pattern × name) at worst.
bool match_segment(std::string_view pat, std::string_view name, std::size_t& steps,
                   std::size_t limit) {
    if (name.starts_with('.') && !pat.starts_with('.') && !pat.starts_with("\\."))
        return false;
    std::size_t p = 0, n = 0, star_p = npos, star_n = 0, len = 0;
    while (n < name.size()) {
        if (++steps > limit)
            return false;
        if (p < pat.size() && pat[p] == '*') {
            star_p = ++p;
            star_n = n;
        } else if (p < pat.size() && match_one(pat.substr(p), name[n], len, steps)) {
            p += len;
            ++n;
        } else if (star_p != npos) {
            p = star_p;
            n = ++star_n;
        } else {
            return false;
        }
    }
    while (p < pat.size() && pat[p] == '*')
        ++p;
    return p == pat.size();
}

}  // namespace

std::vector<DumpedFile> split_dump(std::string_view text) {
    std::vector<DumpedFile> files;
    std::size_t content = 0;
    for (std::size_t pos = 0; pos < text.size();) {
        const std::size_t nl = text.find('\n', pos);
        const std::size_t next = nl == npos ? text.size() : nl + 1;
        std::string_view line = text.substr(pos, next - pos);
        while (!line.empty() && (line.back() == '\n' || line.back() == '\r'))
            line.remove_suffix(1);
        if (line.size() > kHeader.size() + 1 && line.starts_with(kHeader) && line.ends_with(':')) {
            if (!files.empty())
                files.back().text = text.substr(content, pos - content);
            files.push_back(DumpedFile{
                .name = std::string(line.substr(kHeader.size(), line.size() - kHeader.size() - 1)),
                .text = {}});
            content = next;
        }
        pos = next;
    }
    if (!files.empty())
        files.back().text = text.substr(content);
    return files;
}

Token next_token(std::string_view s, Cursor& cursor, std::string& word) {
    Token token;
    std::size_t i = cursor.pos;
    while (i < s.size()) {
        if (s[i] == '#') {
            i = s.find('\n', i);
            i = i == npos ? s.size() : i;
            continue;
        }
        if (!is_space(s[i]))
            break;
        cursor.line += s[i] == '\n' ? 1 : 0;
        ++i;
    }
    token.line = cursor.line;
    word.clear();
    if (i >= s.size()) {
        token.kind = Tok::End;
    } else if (s[i] == ';' || s[i] == '{' || s[i] == '}') {
        token.kind = s[i] == ';' ? Tok::Semicolon : s[i] == '{' ? Tok::Open : Tok::Close;
        ++i;
    } else {
        token.kind = Tok::Word;
        i = s[i] == '"' || s[i] == '\'' ? read_quoted(s, i, cursor, word, token)
                                        : read_plain(s, i, cursor, word);
    }
    cursor.pos = i;
    return token;
}

std::string conf_path(const std::string& value, const std::string& prefix, bool& is_path) {
    is_path = value.find('$') == npos && !value.starts_with("data:") &&
              !value.starts_with("engine:") && !value.starts_with("store:");
    return !is_path ? value : normalize_path(value.starts_with('/') ? value : prefix + value);
}

std::string normalize_path(std::string_view path) {
    std::string out = path.starts_with('/') ? "/" : "";
    for (std::size_t i = 0; i <= path.size();) {
        std::size_t j = path.find('/', i);
        j = j == npos ? path.size() : j;
        const std::string_view seg = path.substr(i, j - i);
        if (!seg.empty() && seg != ".")
            out.append(out.empty() || out.back() == '/' ? "" : "/").append(seg);
        i = j + 1;
    }
    return out;
}

bool has_glob(std::string_view pattern) {
    return pattern.find_first_of("*?[") != npos;
}

bool glob_match(std::string_view pattern, std::string_view name, std::size_t& steps,
                std::size_t limit) {
    for (;;) {
        const std::size_t ps = pattern.find('/'), ns = name.find('/');
        steps += 1 + (ns == npos ? name.size() : ns);
        if (!match_segment(pattern.substr(0, ps), name.substr(0, ns), steps, limit))
            return false;
        if (ps == npos || ns == npos)
            return ps == ns;
        pattern.remove_prefix(ps + 1);
        name.remove_prefix(ns + 1);
    }
}

Ctx child_of(Ctx parent, std::string_view name) {
    switch (parent) {
        case Ctx::Main:
            return name == "http"     ? Ctx::Http
                   : name == "stream" ? Ctx::Stream
                   : name == "mail"   ? Ctx::Mail
                                      : Ctx::Other;
        case Ctx::Http:
            return name == "server" ? Ctx::HttpServer : Ctx::Other;
        case Ctx::Stream:
            return name == "server" ? Ctx::StreamServer : Ctx::Other;
        case Ctx::Mail:
            return name == "server" ? Ctx::MailServer : Ctx::Other;
        case Ctx::HttpServer:
        case Ctx::Location:
            return name == "location" ? Ctx::Location : Ctx::Other;
        default:
            return Ctx::Other;
    }
}

std::optional<std::pair<std::size_t, bool>> certificate_directive(std::string_view name) {
    for (std::size_t i = 0; i < kCertificatePrefixes.size(); ++i) {
        if (!name.starts_with(kCertificatePrefixes[i]))
            continue;
        const std::string_view rest = name.substr(kCertificatePrefixes[i].size());
        if (rest == "_certificate" || rest == "_certificate_key")
            return std::pair{i, rest == "_certificate_key"};
    }
    return std::nullopt;
}

NginxListen parse_listen(const std::vector<std::string>& words, bool http, std::string& error) {
    NginxListen listen;
    const std::string_view arg = words.at(1);
    std::optional<std::string_view> port;
    if (arg.starts_with("unix:")) {
        listen.address = arg;
        listen.port = 0;
    } else if (arg.starts_with('[')) {
        const std::size_t close = arg.find(']');
        listen.address = arg.substr(1, close == npos ? npos : close - 1);
        const std::string_view rest = close == npos ? "" : arg.substr(close + 1);
        if (close == npos || !(rest.empty() || rest.starts_with(':')))
            error = "invalid IPv6 address in \"listen " + std::string(arg) + "\"";
        else if (!rest.empty())
            port = rest.substr(1);
    } else if (arg.find_first_not_of("0123456789") == npos) {
        port = arg;
    } else {
        // nginx splits at the first ':' (IPv6 needs brackets).
        const std::size_t colon = arg.find(':');
        listen.address = arg.substr(0, colon);
        if (colon != npos)
            port = arg.substr(colon + 1);
    }
    if (listen.address == "*")
        listen.address.clear();
    if (port) {
        int value = 0;
        const auto [end, ec] = std::from_chars(port->data(), port->data() + port->size(), value);
        listen.port =
            ec == std::errc{} && end == port->data() + port->size() && value > 0 && value <= 65535
                ? value
                : 0;
        if (listen.port == 0)
            error = "invalid port in \"listen " + std::string(arg) + "\"";
    } else if (!http && !arg.starts_with("unix:")) {
        listen.port = 0;
        error = "no port in \"listen " + std::string(arg) + "\"";
    }
    for (std::size_t i = 2; i < words.size(); ++i) {
        listen.ssl = listen.ssl || words[i] == "ssl";
        listen.quic = listen.quic || words[i] == "quic";
        listen.default_server =
            listen.default_server || words[i] == "default_server" || words[i] == "default";
    }
    return listen;
}

}  // namespace certfleet::audit::nginx_syntax
