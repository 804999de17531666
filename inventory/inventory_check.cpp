#include "inventory/inventory_check.hpp"

#include <algorithm>
#include <climits>
#include <numeric>

#include "core/strings.hpp"
#include "inventory/secrets.hpp"

namespace certfleet::inventory::detail {

namespace {

const char* type_name(const Json& v) {
    switch (v.type()) {
        case Json::value_t::null:
            return "null";
        case Json::value_t::boolean:
            return "a boolean";
        case Json::value_t::number_integer:
        case Json::value_t::number_unsigned:
        case Json::value_t::number_float:
            return "a number";
        case Json::value_t::string:
            return "a string";
        case Json::value_t::array:
            return "an array";
        case Json::value_t::object:
            return "an object";
        default:
            return "something else";
    }
}

}  // namespace

size_t edit_distance(std::string_view a, std::string_view b) {
    std::vector<std::vector<size_t>> d(a.size() + 1, std::vector<size_t>(b.size() + 1));
    for (size_t i = 0; i <= a.size(); ++i)
        d[i][0] = i;
    for (size_t j = 0; j <= b.size(); ++j)
        d[0][j] = j;
    for (size_t i = 1; i <= a.size(); ++i) {
        for (size_t j = 1; j <= b.size(); ++j) {
            size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
            d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
        }
    }
    return d[a.size()][b.size()];
}

std::string closest(std::string_view word, const std::vector<std::string>& candidates) {
    // Short words are within two edits of almost anything.
    size_t limit = word.size() <= 3 ? 1 : 2;
    std::string best;
    size_t best_distance = limit + 1;
    std::string w = core::lower(word);
    for (const auto& c : candidates) {
        size_t dist = edit_distance(w, core::lower(c));
        if (dist < best_distance) {
            best_distance = dist;
            best = c;
        }
    }
    if (best.empty() && w.size() >= 4) {
        // "deploy" for "deploy_to": a truncated key is far in edits, close in intent.
        for (const auto& c : candidates)
            if (core::lower(c).starts_with(w))
                return c;
    }
    return best;
}

std::string did_you_mean(std::string_view word, const std::vector<std::string>& candidates) {
    std::string best = closest(word, candidates);
    return best.empty() ? std::string() : " (did you mean " + quote(best) + "?)";
}

std::string quote(std::string_view s) {
    return "'" + std::string(s) + "'";
}

// ---- Checker ----------------------------------------------------------------

Checker::Checker(const PositionMap& positions, std::string file, std::string base_dir)
    : m_positions(positions), m_file(std::move(file)), m_base_dir(std::move(base_dir)) {}

void Checker::add(Position at, std::string_view path, std::string message, bool warning,
                  bool security) {
    m_diagnostics.push_back(Diagnostic{.file = m_file,
                                       .line = at.line,
                                       .column = at.column,
                                       .path = std::string(path),
                                       .message = std::move(message),
                                       .warning = warning,
                                       .security = security});
}

void Checker::error(std::string_view path, std::string message) {
    add(m_positions.value(path), path, std::move(message), false);
}

void Checker::error_at_key(std::string_view path, std::string message) {
    add(m_positions.key(path), path, std::move(message), false);
}

void Checker::warning(std::string_view path, std::string message) {
    add(m_positions.value(path), path, std::move(message), true);
}

void Checker::security_warning(std::string_view path, std::string message) {
    add(m_positions.value(path), path, std::move(message), true, true);
}

void Checker::missing(std::string_view object_path, std::string_view key, std::string_view why) {
    std::string message = "required key is missing";
    if (!why.empty())
        message += " (" + std::string(why) + ")";
    add(m_positions.value(object_path), member_path(object_path, key), std::move(message), false);
}

bool Checker::has_errors() const {
    return std::any_of(m_diagnostics.begin(), m_diagnostics.end(),
                       [](const Diagnostic& d) { return !d.warning; });
}

std::vector<Diagnostic> Checker::take_diagnostics() {
    std::stable_sort(m_diagnostics.begin(), m_diagnostics.end(),
                     [](const Diagnostic& a, const Diagnostic& b) {
                         return std::tie(a.line, a.column) < std::tie(b.line, b.column);
                     });
    return std::move(m_diagnostics);
}

// ---- ObjectReader -----------------------------------------------------------

ObjectReader::ObjectReader(Checker& checker, const Json& value, std::string path,
                           std::vector<std::string_view> known, const KeyNotes& notes)
    : m_checker(checker), m_path(std::move(path)) {
    if (!value.is_object()) {
        m_checker.error(m_path, std::string("expected an object, not ") + type_name(value));
        return;
    }
    m_object = &value;
    if (known == kAnyKey)
        return;
    for (const auto& item : value.items())
        if (std::find(known.begin(), known.end(), item.key()) == known.end())
            report_unknown(item.key(), known, notes);
}

void ObjectReader::report_unknown(const std::string& key,
                                  const std::vector<std::string_view>& known,
                                  const KeyNotes& notes) {
    std::string path = path_of(key);
    std::string head = "unknown key " + quote(key);
    for (const auto& [name, note] : notes) {
        if (name == key) {
            m_checker.error_at_key(path, head + ": " + std::string(note));
            return;
        }
    }
    // An inline secret: point at the *_file form whose stem it resembles.
    std::string k = core::lower(key);
    for (std::string_view candidate : known) {
        if (!candidate.ends_with("_file"))
            continue;
        std::string stem(candidate.substr(0, candidate.size() - 5));
        if (k.size() >= 4 && (stem.find(k) != std::string::npos ||
                              k.find(stem) != std::string::npos || edit_distance(k, stem) <= 2)) {
            m_checker.error_at_key(path,
                                   head + ": secrets are never written in the inventory; use " +
                                       quote(candidate) + " with a file path or \"env:NAME\"");
            return;
        }
    }
    std::vector<std::string> candidates(known.begin(), known.end());
    std::string hint = did_you_mean(key, candidates);
    if (!hint.empty())
        m_suggested.push_back(closest(key, candidates));
    if (hint.empty() && !candidates.empty()) {
        hint = " (expected ";
        for (size_t i = 0; i < candidates.size(); ++i)
            hint += (i ? ", " : "") + candidates[i];
        hint += ")";
    }
    m_checker.error_at_key(path, head + hint);
}

const Json* ObjectReader::get(std::string_view key) const {
    if (!m_object)
        return nullptr;
    auto it = m_object->find(key);
    return it == m_object->end() ? nullptr : &*it;
}

std::optional<std::string> ObjectReader::string(std::string_view key, bool required) {
    const Json* v = get(key);
    if (!v) {
        if (required)
            missing(key);
        return std::nullopt;
    }
    if (!v->is_string()) {
        m_checker.error(path_of(key), std::string("expected a string, not ") + type_name(*v));
        return std::nullopt;
    }
    return v->get<std::string>();
}

std::optional<std::string> ObjectReader::non_empty_string(std::string_view key, bool required) {
    auto s = string(key, required);
    if (s && s->empty()) {
        m_checker.error(path_of(key), "must not be empty");
        return std::nullopt;
    }
    return s;
}

std::optional<bool> ObjectReader::boolean(std::string_view key) {
    const Json* v = get(key);
    if (!v)
        return std::nullopt;
    if (!v->is_boolean()) {
        m_checker.error(path_of(key), std::string("expected true or false, not ") + type_name(*v));
        return std::nullopt;
    }
    return v->get<bool>();
}

std::optional<long long> ObjectReader::integer(std::string_view key, long long min, long long max) {
    const Json* v = get(key);
    if (!v)
        return std::nullopt;
    if (!v->is_number_integer()) {
        m_checker.error(path_of(key), std::string("expected an integer, not ") + type_name(*v));
        return std::nullopt;
    }
    long long n = v->is_number_unsigned() && v->get<unsigned long long>() > LLONG_MAX
                      ? LLONG_MAX
                      : v->get<long long>();
    if (n < min || n > max) {
        m_checker.error(path_of(key), max == LLONG_MAX ? "must be at least " + std::to_string(min)
                                                       : "must be between " + std::to_string(min) +
                                                             " and " + std::to_string(max));
        return std::nullopt;
    }
    return n;
}

std::string duration_error(std::string_view text) {
    if (core::parse_duration(text))
        return {};
    return "invalid duration '" + std::string(text) +
           "': use a number and a unit, like \"90s\", \"15m\", \"12h\" or \"21d\"";
}

std::optional<core::Seconds> ObjectReader::duration(std::string_view key, bool allow_zero) {
    const Json* v = get(key);
    if (!v)
        return std::nullopt;
    if (!v->is_string()) {
        m_checker.error(path_of(key), std::string("expected a duration string like \"90s\", "
                                                  "\"15m\", \"12h\" or \"21d\", not ") +
                                          type_name(*v));
        return std::nullopt;
    }
    const auto& text = v->get_ref<const std::string&>();
    if (std::string e = duration_error(text); !e.empty()) {
        m_checker.error(path_of(key), e);
        return std::nullopt;
    }
    auto d = core::parse_duration(text);
    if (!allow_zero && d->count() == 0) {
        m_checker.error(path_of(key), "must be longer than 0s");
        return std::nullopt;
    }
    return d;
}

std::optional<std::vector<std::string>> ObjectReader::strings(std::string_view key) {
    const Json* v = get(key);
    if (!v)
        return std::nullopt;
    if (!v->is_array()) {
        m_checker.error(path_of(key),
                        std::string("expected an array of strings, not ") + type_name(*v));
        return std::nullopt;
    }
    std::vector<std::string> out;
    bool ok = true;
    for (size_t i = 0; i < v->size(); ++i) {
        const Json& e = (*v)[i];
        if (!e.is_string()) {
            m_checker.error(element_path(path_of(key), i),
                            std::string("expected a string, not ") + type_name(e));
            ok = false;
            continue;
        }
        out.push_back(e.get<std::string>());
    }
    if (!ok)
        return std::nullopt;
    return out;
}

std::optional<core::KeyType> ObjectReader::key_type(std::string_view key) {
    auto s = string(key);
    if (!s)
        return std::nullopt;
    auto t = core::parse_key_type(*s);
    if (!t)
        m_checker.error(path_of(key), "unknown key type " + quote(*s) +
                                          ": use ecdsa-p256, ecdsa-p384, rsa-2048, rsa-3072 or "
                                          "rsa-4096");
    return t;
}

std::optional<std::string> ObjectReader::one_of(std::string_view key,
                                                std::initializer_list<std::string_view> allowed,
                                                bool required) {
    auto s = string(key, required);
    if (!s)
        return std::nullopt;
    if (std::find(allowed.begin(), allowed.end(), *s) != allowed.end())
        return s;
    std::vector<std::string> names(allowed.begin(), allowed.end());
    std::string list;
    for (size_t i = 0; i < names.size(); ++i)
        list += (i == 0 ? "" : i + 1 == names.size() ? " or " : ", ") + names[i];
    m_checker.error(path_of(key), quote(*s) + " is not one of " + list + did_you_mean(*s, names));
    return std::nullopt;
}

std::optional<std::string> ObjectReader::secret(std::string_view key, bool required) {
    auto s = string(key, required);
    if (!s)
        return std::nullopt;
    SecretCheck check = check_secret_reference(*s, m_checker.base_dir());
    if (!check.error.empty()) {
        m_checker.error(path_of(key), check.error);
        return std::nullopt;
    }
    if (!check.warning.empty())
        m_checker.security_warning(path_of(key), check.warning);
    return check.resolved;
}

std::optional<std::string> ObjectReader::readable_file(std::string_view key, bool required) {
    auto s = string(key, required);
    if (!s)
        return std::nullopt;
    if (std::string e = check_readable_file(*s, m_checker.base_dir()); !e.empty()) {
        m_checker.error(path_of(key), e);
        return std::nullopt;
    }
    return resolve_path(*s, m_checker.base_dir());
}

std::optional<std::string> ObjectReader::local_path(std::string_view key) {
    auto s = non_empty_string(key);
    if (!s)
        return std::nullopt;
    return resolve_path(*s, m_checker.base_dir());
}

std::optional<std::string> ObjectReader::remote_path(std::string_view key) {
    auto s = non_empty_string(key);
    if (s && !s->starts_with('/')) {
        m_checker.error(path_of(key), "must be an absolute path (it is a path on the host)");
        return std::nullopt;
    }
    return s;
}

void ObjectReader::missing(std::string_view key, std::string_view why) {
    if (!valid())
        return;
    if (std::find(m_suggested.begin(), m_suggested.end(), key) != m_suggested.end())
        return;
    m_checker.missing(m_path, key, why);
}

const Json* ObjectReader::object(std::string_view key) {
    const Json* v = get(key);
    if (v && !v->is_object()) {
        m_checker.error(path_of(key), std::string("expected an object, not ") + type_name(*v));
        return nullptr;
    }
    return v;
}

}  // namespace certfleet::inventory::detail
