// The syntax level of nginx_config.cpp: splitting `nginx -T` output into
// files, nginx's tokenizer, include globs, paths, block and directive names,
// listen arguments. Standard library only, like nginx_config.cpp (the two are
// all the nginx fuzz target compiles).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "audit/nginx_config.hpp"

namespace certfleet::audit::nginx_syntax {

struct DumpedFile {
    std::string name;       // as nginx printed it
    std::string_view text;  // everything up to the next header
};
// Files after each "# configuration file <path>:" line; text before the first
// header (nginx's own "syntax is ok" lines when 2>&1) is dropped.
std::vector<DumpedFile> split_dump(std::string_view text);

enum class Tok { Word, Semicolon, Open, Close, End };

struct Cursor {
    std::size_t pos = 0;
    int line = 1;
};

struct Token {
    Tok kind = Tok::End;
    int line = 0;       // where it starts
    std::string error;  // "unterminated quoted string", ...: the token is still usable
};

// The next token from `cursor` as ngx_conf_read_token reads it: '#' starts a
// comment only at the start of a token; ';' and '{' end a word but '}' does
// not; "${" stays in a word; quotes and backslash escapes as nginx unescapes
// them. A Word's text goes to `word`.
Token next_token(std::string_view text, Cursor& cursor, std::string& word);

// A *_certificate(_key) value as nginx opens it: relative to the conf prefix
// (the main file's directory, with its '/'). Not a path (is_path false, kept
// as written) with '$' or a "data:", "engine:" or "store:" prefix.
std::string conf_path(const std::string& value, const std::string& prefix, bool& is_path);
// Drops empty and "." segments; ".." is kept, as nginx never resolves it either.
std::string normalize_path(std::string_view path);
bool has_glob(std::string_view pattern);
// fnmatch(pattern, name, FNM_PATHNAME | FNM_PERIOD), which is how glob(3)
// (and so nginx's include) matches, but linear per segment instead of
// fnmatch's exponential worst case. `steps` grows by the work done; past
// `limit` the answer is "no match".
bool glob_match(std::string_view pattern, std::string_view name, std::size_t& steps,
                std::size_t limit = SIZE_MAX);

// Blocks whose directives matter; every other block (if, map, types,
// upstream, limit_except, ...) is Other and its contents are ignored.
enum class Ctx { Main, Http, HttpServer, Location, Stream, StreamServer, Mail, MailServer, Other };
inline bool is_root(Ctx c) {
    return c == Ctx::Http || c == Ctx::Stream || c == Ctx::Mail;
}
inline bool is_server(Ctx c) {
    return c == Ctx::HttpServer || c == Ctx::StreamServer || c == Ctx::MailServer;
}
// The context a block named `name` opens inside `parent`.
Ctx child_of(Ctx parent, std::string_view name);

// X in X_certificate / X_certificate_key.
constexpr std::array<std::string_view, 4> kCertificatePrefixes = {"ssl", "proxy_ssl", "grpc_ssl",
                                                                  "uwsgi_ssl"};
// "ssl_certificate_key" → {0, true} (prefix index, is the key)
std::optional<std::pair<std::size_t, bool>> certificate_directive(std::string_view name);

// `words` is the whole statement ("listen" "127.0.0.1:8443" "ssl" ...).
// Only http has a default port (80); elsewhere a missing port is an error.
NginxListen parse_listen(const std::vector<std::string>& words, bool http, std::string& error);

}  // namespace certfleet::audit::nginx_syntax
