#include "acme/dns/names.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <set>
#include <utility>

#include "core/strings.hpp"

namespace certfleet::acme::dns {

std::string normalize_fqdn(std::string_view name) {
    std::string out = core::lower(name);
    if (out.empty() || out.back() != '.') {
        out.push_back('.');
    }
    return out;
}

std::string parent_name(std::string_view fqdn) {
    if (fqdn.empty() || fqdn == ".") {
        return {};
    }
    const auto dot = fqdn.find('.');
    if (dot == std::string_view::npos || dot + 1 >= fqdn.size()) {
        return ".";
    }
    return std::string(fqdn.substr(dot + 1));
}

bool name_is_subdomain_of(std::string_view name, std::string_view zone) {
    if (zone == ".") {
        return true;
    }
    if (name.size() < zone.size() || name.substr(name.size() - zone.size()) != zone) {
        return false;
    }
    return name.size() == zone.size() || name[name.size() - zone.size() - 1] == '.';
}

std::string challenge_name(std::string_view domain, std::string_view challenge_alias) {
    std::string_view base = challenge_alias.empty() ? domain : challenge_alias;
    if (base.substr(0, 2) == "*.") {
        base.remove_prefix(2);
    }
    return normalize_fqdn("_acme-challenge." + std::string(base));
}

std::string ServerAddress::label() const {
    const std::string& h = address.empty() ? host : address;
    const bool v6 = h.find(':') != std::string::npos;
    return (v6 ? "[" + h + "]" : h) + ":" + std::to_string(port);
}

core::Result<ServerAddress> parse_server(std::string_view text, std::uint16_t default_port) {
    ServerAddress out;
    out.port = default_port;
    std::string_view host = text;
    std::string_view port;
    if (!text.empty() && text.front() == '[') {
        const auto close = text.find(']');
        if (close == std::string_view::npos) {
            return core::fail(core::ErrorKind::Config,
                              "DNS server '" + std::string(text) + "': missing ']'");
        }
        host = text.substr(1, close - 1);
        if (close + 1 < text.size()) {
            if (text[close + 1] != ':') {
                return core::fail(core::ErrorKind::Config,
                                  "DNS server '" + std::string(text) + "': expected ':' after ']'");
            }
            port = text.substr(close + 2);
        }
    } else if (std::count(text.begin(), text.end(), ':') == 1) {
        const auto colon = text.find(':');
        host = text.substr(0, colon);
        port = text.substr(colon + 1);
    }
    if (host.empty()) {
        return core::fail(core::ErrorKind::Config, "DNS server '" + std::string(text) +
                                                       "': missing host (expected host:port)");
    }
    if (!port.empty() || (!text.empty() && text.back() == ':')) {
        unsigned value = 0;
        const auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
        if (ec != std::errc() || ptr != port.data() + port.size() || value == 0 || value > 65535) {
            return core::fail(
                core::ErrorKind::Config,
                "DNS server '" + std::string(text) + "': invalid port '" + std::string(port) + "'");
        }
        out.port = static_cast<std::uint16_t>(value);
    }
    out.host = std::string(host);
    return out;
}

core::Result<std::string> follow_cname_chain(const std::string& start, const CnameLookup& lookup,
                                             int max_hops) {
    std::string current = normalize_fqdn(start);
    std::set<std::string> seen{current};
    for (int hop = 0; hop <= max_hops; ++hop) {
        auto target = lookup(current);
        if (!target) {
            return target.failure();
        }
        if (target->empty()) {
            return current;
        }
        std::string next = normalize_fqdn(*target);
        if (!seen.insert(next).second) {
            return core::fail(core::ErrorKind::Dns,
                              "CNAME loop at " + current + " (points back to " + next + ")",
                              "fix the _acme-challenge CNAME records, or set challenge_alias");
        }
        current = std::move(next);
    }
    return core::fail(core::ErrorKind::Dns,
                      "CNAME chain from " + normalize_fqdn(start) + " is longer than " +
                          std::to_string(max_hops) + " hops",
                      "point _acme-challenge directly at the delegated name");
}

core::Result<std::vector<ZoneBatch>> group_by_zone(const std::vector<ChallengeRecord>& records,
                                                   const ZoneLookup& zone_of) {
    std::vector<ZoneBatch> batches;
    std::set<std::pair<std::string, std::string>> seen;
    for (const auto& record : records) {
        ChallengeRecord r = record;
        r.fqdn = normalize_fqdn(r.fqdn);
        if (!seen.emplace(r.fqdn, r.value).second) {
            continue;
        }
        auto zone = zone_of(r.fqdn);
        if (!zone) {
            return zone.failure();
        }
        const std::string z = normalize_fqdn(*zone);
        auto it = std::find_if(batches.begin(), batches.end(),
                               [&](const ZoneBatch& b) { return b.zone == z; });
        if (it == batches.end()) {
            batches.push_back(ZoneBatch{z, {}});
            it = std::prev(batches.end());
        }
        it->records.push_back(std::move(r));
    }
    return batches;
}

std::string names_summary(const std::vector<ChallengeRecord>& records) {
    std::vector<std::string> names;
    for (const auto& r : records) {
        if (std::find(names.begin(), names.end(), r.fqdn) == names.end()) {
            names.push_back(r.fqdn);
        }
    }
    if (names.empty()) {
        return "(no records)";
    }
    std::string out = names.front();
    if (names.size() == 2) {
        out += " and " + names[1];
    } else if (names.size() > 2) {
        out += " and " + std::to_string(names.size() - 1) + " more";
    }
    return out;
}

}  // namespace certfleet::acme::dns
