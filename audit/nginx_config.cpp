// `nginx -T` output → the certificates each server uses. Tokens follow
// nginx's ngx_conf_read_token and certificates its merge rules (a server
// without its own *_certificate list takes the enclosing one; the _key list
// is merged separately; pairs by position), because the audit must report
// what nginx does, not what the text seems to say. Nothing recurses: blocks
// and includes live on explicit stacks, and a work budget bounds what
// repeated includes can expand to.
#include "audit/nginx_config.hpp"

#include <algorithm>
#include <array>
#include <optional>
#include <unordered_map>
#include <utility>

#include "audit/nginx_config_syntax.hpp"

namespace certfleet::audit {

namespace {

using namespace nginx_syntax;

// Limits (the problems name them in words). kMaxWords: server_name lists can
// be long. kMaxNodes: server / location blocks kept at a time. kMaxStored /
// kMaxOutput: names, listens and certificate entries kept, and copied into
// uses, as include fan-out could multiply a long server_name into gigabytes.
constexpr std::size_t kMaxIncludeDepth = 16, kMaxNesting = 64, kMaxWords = 4096;
constexpr std::size_t kMaxProblems = 100, kMaxNodes = 100000, kMaxUses = 100000;
constexpr std::size_t kMaxStored = 1000000, kMaxOutput = 2000000;
constexpr std::size_t npos = std::string_view::npos;
constexpr auto& kPrefixes = kCertificatePrefixes;

struct Entry {
    std::string value;
    std::size_t file = 0;
    int line = 0;
};
struct Lists {
    std::vector<Entry> certs, keys;
};
// An http / stream / mail block, a server or a location.
struct Node {
    Ctx ctx = Ctx::Other;
    std::size_t parent = npos;
    std::array<Lists, kPrefixes.size()> own;
    std::vector<std::string> names;
    std::vector<NginxListen> listens;
    std::optional<bool> ssl_on;  // legacy "ssl on|off;", inherited by servers
    bool has_own(std::size_t p) const { return !own[p].certs.empty() || !own[p].keys.empty(); }
    bool has_any() const { return has_own(0) || has_own(1) || has_own(2) || has_own(3); }
};
struct Block {
    Ctx ctx = Ctx::Other;
    std::size_t node = npos;  // npos for main and blocks that cannot hold certificates
};
// A dumped file being read; while one of its includes is expanded, the files
// that include matched and that are still to come.
struct Frame {
    std::size_t file = 0;
    Cursor cursor;
    std::size_t depth = 0;  // block depth on entry: a file's braces must balance
    std::vector<std::size_t> pending;
    int include_line = 0;
};

class Parser {
public:
    // Generous enough for snippets included by thousands of servers, small
    // enough that include fan-out cannot take minutes.
    explicit Parser(std::string_view text) : m_budget(16 * text.size() + (16U << 20)) {}
    NginxDump run(std::string_view text);

private:
    std::size_t depth() const { return m_blocks.size() + m_overflow; }
    void problem(std::string message);
    void problem(std::size_t file, int line, const std::string& message) {
        if (m_problems <= kMaxProblems)  // 25 M "unexpected ;" must stay cheap
            problem(m_out.files[file] + ":" + std::to_string(line) + ": " + message);
    }
    void token(const Token& tok);
    void include();
    void next_include();
    void end_of_file();
    void open_block();
    void pop_block();
    void directive(Node& node);
    void resolve(std::size_t root);
    const std::vector<Entry>& effective(std::size_t node, std::size_t p, bool keys,
                                        std::size_t& from) const;
    void emit(std::size_t root, std::size_t server, std::size_t p, const std::vector<Entry>& certs,
              const std::vector<Entry>& keys);

    NginxDump m_out;
    std::size_t m_problems = 0;
    std::vector<std::string_view> m_texts;
    std::vector<std::string> m_names;  // normalized, for include matching
    std::unordered_map<std::string, std::size_t> m_by_name;
    std::vector<std::size_t> m_unique;  // first file of each normalized name
    std::string m_prefix;               // nginx's conf prefix: the main file's directory
    std::vector<Frame> m_frames;
    std::vector<Block> m_blocks;
    std::size_t m_overflow = 0;  // blocks beyond kMaxNesting, only counted
    std::vector<Node> m_nodes;
    std::vector<std::string> m_words;
    std::string m_word;
    std::size_t m_stmt_file = 0;
    int m_stmt_line = 0;
    std::size_t m_work = 0;
    const std::size_t m_budget;
    std::size_t m_stored = 0, m_output = 0;
    bool m_nodes_full = false, m_uses_full = false, m_words_full = false, m_stored_full = false;
};

void Parser::problem(std::string message) {
    if (m_problems > kMaxProblems ||
        std::find(m_out.problems.begin(), m_out.problems.end(), message) != m_out.problems.end())
        return;  // the same snippet included by many servers
    if (++m_problems <= kMaxProblems)
        m_out.problems.push_back(std::move(message));
    else if (m_problems == kMaxProblems + 1)
        m_out.problems.push_back("more than " + std::to_string(kMaxProblems) +
                                 " problems: the rest are not shown");
}

NginxDump Parser::run(std::string_view text) {
    for (auto& file : split_dump(text)) {
        m_names.push_back(normalize_path(file.name));
        if (m_by_name.emplace(m_names.back(), m_texts.size()).second)
            m_unique.push_back(m_texts.size());
        m_texts.push_back(file.text);
        m_out.files.push_back(std::move(file.name));
    }
    if (m_texts.empty()) {
        problem("no '# configuration file' header: is this nginx -T output?");
        return std::move(m_out);
    }
    const std::size_t slash = m_out.files[0].rfind('/');
    m_prefix = slash == npos ? "" : m_out.files[0].substr(0, slash + 1);
    m_blocks.push_back(Block{.ctx = Ctx::Main, .node = npos});
    m_frames.push_back(
        Frame{.file = 0, .cursor = {}, .depth = 1, .pending = {}, .include_line = 0});
    while (!m_frames.empty()) {
        if (m_work > m_budget) {
            problem("stopped after " + std::to_string(m_budget) +
                    " steps: includes expand too far (the same files included many times?)");
            break;
        }
        Frame& f = m_frames.back();
        const std::size_t before = f.cursor.pos;
        const Token tok = next_token(m_texts[f.file], f.cursor, m_word);
        m_work += 1 + f.cursor.pos - before;
        if (!tok.error.empty())
            problem(f.file, tok.line, tok.error);
        if (m_words.empty()) {
            m_stmt_file = f.file;
            m_stmt_line = tok.line;
        }
        token(tok);
    }
    while (depth() > 1)
        pop_block();  // only after the budget ran out: every file closes its own blocks
    return std::move(m_out);
}

void Parser::token(const Token& tok) {
    Frame& f = m_frames.back();
    switch (tok.kind) {
        case Tok::Word:
            if (m_words.size() < kMaxWords) {
                m_words.push_back(std::move(m_word));
            } else if (!m_words_full) {
                m_words_full = true;
                problem(f.file, m_stmt_line, "more than 4096 words in one statement");
            }
            return;
        case Tok::Semicolon:
        case Tok::Open:
            if (m_words.empty()) {
                problem(f.file, tok.line,
                        tok.kind == Tok::Open ? "unexpected \"{\"" : "unexpected \";\"");
                if (tok.kind == Tok::Semicolon)
                    break;
                m_words.emplace_back();  // still a block, so that its '}' balances
            }
            if (tok.kind == Tok::Open)
                open_block();
            else if (m_words[0] == "include")
                include();
            else if (m_blocks.back().node != npos && m_overflow == 0)
                directive(m_nodes[m_blocks.back().node]);
            break;
        case Tok::Close:
            if (!m_words.empty() || depth() <= f.depth)
                problem(f.file, tok.line, "unexpected \"}\"");
            if (depth() > f.depth)
                pop_block();
            break;
        case Tok::End:
            end_of_file();
            return;
    }
    m_words.clear();
    m_words_full = false;
}

void Parser::end_of_file() {
    const Frame& f = m_frames.back();
    if (!m_words.empty())
        problem(f.file, f.cursor.line, "unexpected end of file, expecting \";\" or \"}\"");
    m_words.clear();
    m_words_full = false;
    if (depth() > f.depth)
        problem(f.file, f.cursor.line, "unexpected end of file, expecting \"}\"");
    while (depth() > f.depth)
        pop_block();
    m_frames.pop_back();
    if (!m_frames.empty())
        next_include();
}

void Parser::include() {
    Frame& f = m_frames.back();
    if (m_words.size() != 2) {
        problem(f.file, m_stmt_line, "invalid number of arguments in \"include\" directive");
        return;
    }
    const std::string& arg = m_words[1];
    const std::string pattern = normalize_path(arg.starts_with('/') ? arg : m_prefix + arg);
    std::vector<std::size_t> matches;
    if (!has_glob(pattern)) {
        if (const auto it = m_by_name.find(pattern); it != m_by_name.end())
            matches.push_back(it->second);
    } else {
        for (const std::size_t i : m_unique)
            if (m_work <= m_budget && glob_match(pattern, m_names[i], m_work, m_budget))
                matches.push_back(i);
        // glob(3) sorts, and nginx reads the files in that order.
        std::sort(matches.begin(), matches.end(),
                  [&](std::size_t a, std::size_t b) { return m_names[a] < m_names[b]; });
    }
    if (matches.empty())
        problem(f.file, m_stmt_line, "include " + arg + ": no dumped file matches");
    f.include_line = m_stmt_line;
    f.pending.assign(matches.rbegin(), matches.rend());
    next_include();
}

void Parser::next_include() {
    while (!m_frames.back().pending.empty()) {
        Frame& parent = m_frames.back();
        const std::size_t file = parent.pending.back();
        parent.pending.pop_back();
        ++m_work;
        if (m_frames.size() > kMaxIncludeDepth) {
            problem(parent.file, parent.include_line, "includes nested deeper than 16");
            parent.pending.clear();
            return;
        }
        if (std::any_of(m_frames.begin(), m_frames.end(),
                        [&](const Frame& fr) { return fr.file == file; })) {
            problem(parent.file, parent.include_line,
                    "include cycle: " + m_out.files[file] + " is already being read");
            continue;
        }
        const std::size_t at = depth();
        m_frames.push_back(
            Frame{.file = file, .cursor = {}, .depth = at, .pending = {}, .include_line = 0});
        return;
    }
}

void Parser::open_block() {
    if (depth() >= kMaxNesting) {
        if (m_overflow++ == 0)
            problem(m_stmt_file, m_stmt_line, "blocks nested deeper than 64");
        return;
    }
    const Block top = m_blocks.back();
    Block block{.ctx = child_of(top.ctx, m_words[0]), .node = npos};
    if (block.ctx != Ctx::Other && m_nodes.size() >= kMaxNodes) {
        if (!m_nodes_full)
            problem(m_stmt_file, m_stmt_line, "more than 100000 server and location blocks");
        m_nodes_full = true;
        block.ctx = Ctx::Other;
    }
    if (block.ctx != Ctx::Other) {
        block.node = m_nodes.size();
        m_nodes.push_back(Node{});
        m_nodes.back().ctx = block.ctx;
        m_nodes.back().parent = top.node;
    }
    m_blocks.push_back(block);
}

void Parser::pop_block() {
    if (m_overflow > 0) {
        --m_overflow;
        return;
    }
    const Block block = m_blocks.back();
    m_blocks.pop_back();
    if (block.node == npos)
        return;
    // Everything a root's servers inherit is known only once the root closes
    // (nginx merges after parsing, so directive order does not matter).
    if (is_root(block.ctx)) {
        resolve(block.node);
        m_nodes.resize(block.node);
    } else if (block.ctx == Ctx::Location && block.node + 1 == m_nodes.size() &&
               !m_nodes.back().has_any()) {
        m_nodes.pop_back();  // nothing to report: keeps memory flat for big configs
    }
}

void Parser::directive(Node& node) {
    const auto& w = m_words;
    const auto cert = certificate_directive(w[0]);
    const bool listen = is_server(node.ctx) && w[0] == "listen" && w.size() >= 2;
    const bool names = is_server(node.ctx) && w[0] == "server_name";
    if (node.ctx != Ctx::Location && w[0] == "ssl" && w.size() == 2)
        node.ssl_on = w[1] == "on";
    // ssl_certificate is not valid in a location; nginx -t would have failed.
    if (!(cert && (node.ctx != Ctx::Location || cert->first != 0)) && !listen && !names)
        return;
    m_stored += names ? w.size() - 1 : 1;
    if (m_stored > kMaxStored) {
        if (!m_stored_full)
            problem(m_stmt_file, m_stmt_line, "more than 1000000 names, listens and certificates");
        m_stored_full = true;
    } else if (cert && w.size() != 2) {
        problem(m_stmt_file, m_stmt_line,
                "invalid number of arguments in \"" + w[0] + "\" directive");
    } else if (cert) {
        auto& list = cert->second ? node.own[cert->first].keys : node.own[cert->first].certs;
        list.push_back(Entry{.value = w[1], .file = m_stmt_file, .line = m_stmt_line});
    } else if (listen) {
        std::string error;
        node.listens.push_back(parse_listen(w, node.ctx == Ctx::HttpServer, error));
        if (!error.empty())
            problem(m_stmt_file, m_stmt_line, error);
    } else {
        node.names.insert(node.names.end(), w.begin() + 1, w.end());
    }
}

const std::vector<Entry>& Parser::effective(std::size_t node, std::size_t p, bool keys,
                                            std::size_t& from) const {
    static const std::vector<Entry> kNone;
    for (from = node; from != npos; from = m_nodes[from].parent) {
        const Lists& own = m_nodes[from].own[p];
        if (!(keys ? own.keys : own.certs).empty())
            return keys ? own.keys : own.certs;
    }
    return kNone;
}

void Parser::resolve(std::size_t root) {
    std::array<bool, kPrefixes.size()> inherited{};
    for (std::size_t i = root + 1; i < m_nodes.size(); ++i) {
        std::size_t server = i;
        while (!is_server(m_nodes[server].ctx))
            server = m_nodes[server].parent;
        for (std::size_t p = 0; p < kPrefixes.size(); ++p) {
            // A location only adds uses where it sets something itself; what
            // it merely inherits is its server's use already.
            if (server != i && !m_nodes[i].has_own(p))
                continue;
            std::size_t from = npos;
            const auto& certs = effective(i, p, false, from);
            inherited[p] = inherited[p] || from == root;
            emit(root, server, p, certs, effective(i, p, true, from));
        }
    }
    for (std::size_t p = 0; p < kPrefixes.size(); ++p)
        if (!inherited[p])
            emit(root, npos, p, m_nodes[root].own[p].certs, m_nodes[root].own[p].keys);
}

void Parser::emit(std::size_t root, std::size_t server, std::size_t p,
                  const std::vector<Entry>& certs, const std::vector<Entry>& keys) {
    const Node& r = m_nodes[root];
    const std::size_t cost =
        1 + (server == npos ? 0 : m_nodes[server].names.size() + m_nodes[server].listens.size());
    for (std::size_t i = 0; i < certs.size(); ++i) {
        if (m_out.uses.size() >= kMaxUses || m_output + cost > kMaxOutput) {
            if (!m_uses_full)
                problem("more than 100000 certificate uses (or 2000000 names and listens in them)");
            m_uses_full = true;
            return;
        }
        m_output += cost;
        NginxCertificateUse use;
        use.directive = std::string(kPrefixes[p]) + "_certificate";
        use.certificate = conf_path(certs[i].value, m_prefix, use.certificate_is_path);
        use.key = i < keys.size() ? conf_path(keys[i].value, m_prefix, use.key_is_path) : "";
        use.key_is_path = use.key_is_path && i < keys.size();
        use.file = m_out.files[certs[i].file];
        use.line = certs[i].line;
        use.context = r.ctx == Ctx::Http ? "http" : r.ctx == Ctx::Stream ? "stream" : "mail";
        if (server != npos) {
            const Node& s = m_nodes[server];
            use.server_names = s.names;
            use.listens = s.listens;
            if (s.ssl_on.value_or(r.ssl_on.value_or(false)))
                for (auto& listen : use.listens)
                    listen.ssl = true;
        }
        m_out.uses.push_back(std::move(use));
    }
}

}  // namespace

NginxDump parse_nginx_dump(std::string_view text) {
    return Parser(text).run(text);
}

}  // namespace certfleet::audit
