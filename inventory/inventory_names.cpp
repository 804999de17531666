// Value checks shared by several sections: DNS names and host:port pairs.
#include <cctype>
#include <charconv>

#include "inventory/inventory_check.hpp"

namespace certfleet::inventory::detail {

namespace {

bool parse_port(std::string_view text, int& port) {
    if (text.empty())
        return false;
    auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), port);
    return ec == std::errc() && p == text.data() + text.size() && port >= 1 && port <= 65535;
}

bool plain_host(std::string_view host) {
    if (host.empty())
        return false;
    for (char c : host)
        if (c <= ' ' || c == '/' || c == '[' || c == ']' || static_cast<unsigned char>(c) >= 0x7F)
            return false;
    return true;
}

}  // namespace

std::string dns_name_error(std::string_view name, bool allow_wildcard, bool allow_underscore) {
    if (name.empty())
        return "empty domain name";
    for (char c : name)
        if (static_cast<unsigned char>(c) >= 0x80)
            return "use the ASCII form of an internationalised name (\"xn--...\")";
    if (name.size() > 253)
        return "longer than 253 characters";
    size_t labels = 0;
    std::string_view last;
    for (size_t start = 0; start <= name.size();) {
        size_t dot = name.find('.', start);
        std::string_view label = name.substr(
            start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
        if (label.empty())
            return "empty label (a leading dot or two dots in a row)";
        if (label.size() > 63)
            return "label '" + std::string(label) + "' is longer than 63 characters";
        if (label == "*") {
            if (!allow_wildcard || labels > 0)
                return allow_wildcard ? "'*' may only be the whole first label, as in *.example.org"
                                      : "wildcards are not allowed here";
        } else {
            for (char c : label) {
                bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
                          (allow_underscore && c == '_');
                if (!ok) {
                    if (c == '*')
                        return "'*' may only be the whole first label, as in *.example.org";
                    return "invalid character '" + std::string(1, c) + "'";
                }
            }
            if (label.front() == '-' || label.back() == '-')
                return "label '" + std::string(label) + "' starts or ends with '-'";
        }
        ++labels;
        last = label;
        if (dot == std::string_view::npos)
            break;
        start = dot + 1;
    }
    if (labels < 2)
        return "expected a fully qualified name like example.org";
    if (last.find_first_not_of("0123456789") == std::string_view::npos)
        return "IP addresses cannot be validated with DNS-01; use a DNS name";
    return {};
}

std::optional<std::string> normalize_host_port(std::string_view text, int default_port) {
    int port = default_port;
    if (text.starts_with('[')) {  // [IPv6] or [IPv6]:port
        size_t close = text.find(']');
        if (close == std::string_view::npos || close == 1)
            return std::nullopt;
        std::string_view rest = text.substr(close + 1);
        if (!rest.empty() && (!rest.starts_with(':') || !parse_port(rest.substr(1), port)))
            return std::nullopt;
        return std::string(text.substr(0, close + 1)) + ":" + std::to_string(port);
    }
    size_t colon = text.find(':');
    if (colon != std::string_view::npos && text.find(':', colon + 1) != std::string_view::npos) {
        // A bare IPv6 address: it cannot carry a port without brackets.
        for (char c : text)
            if (!(std::isxdigit(static_cast<unsigned char>(c)) || c == ':' || c == '.'))
                return std::nullopt;
        return "[" + std::string(text) + "]:" + std::to_string(port);
    }
    std::string_view host = text.substr(0, colon);
    if (!plain_host(host))
        return std::nullopt;
    if (colon != std::string_view::npos && !parse_port(text.substr(colon + 1), port))
        return std::nullopt;
    return std::string(host) + ":" + std::to_string(port);
}

}  // namespace certfleet::inventory::detail
