// acme and dns sections.
#include <algorithm>
#include <map>

#include "inventory/inventory_check.hpp"

namespace certfleet::inventory::detail {

namespace {

// http:// is for local test CAs (pebble) only; anything else would send the
// account key's signatures and the CA's answers in the clear.
std::string directory_error(const std::string& url) {
    std::string_view rest;
    if (url.starts_with("https://")) {
        rest = std::string_view(url).substr(8);
        if (rest.empty() || rest.starts_with('/'))
            return "the URL has no host";
        return {};
    }
    if (!url.starts_with("http://"))
        return "must be an https:// URL";
    rest = std::string_view(url).substr(7);
    std::string_view host = rest.substr(0, rest.find('/'));
    if (host.starts_with("[::1]"))
        return {};
    host = host.substr(0, host.find(':'));
    if (host == "localhost" || host.starts_with("127."))
        return {};
    return "must be an https:// URL (http:// is allowed only for localhost and 127.0.0.0/8)";
}

void load_eab(ObjectReader& acme, Inventory& inventory) {
    const Json* value = acme.get("eab");
    if (!value)
        return;
    ObjectReader r(acme.checker(), *value, acme.path_of("eab"), {"kid", "hmac_key_file"});
    if (!r.valid())
        return;
    EabConfig eab;
    if (auto kid = r.non_empty_string("kid", true))
        eab.kid = *kid;
    if (auto key = r.secret("hmac_key_file", true))
        eab.hmac_key_file = *key;
    inventory.acme.eab = eab;
}

// The settings each provider type takes (besides "type").
struct ProviderType {
    DnsProviderType type;
    std::vector<std::string_view> keys;
    std::string_view name() const {
        return core::enum_name(kDnsProviderTypeNames, type, "unknown");
    }
};
const std::vector<ProviderType>& provider_types() {
    using T = DnsProviderType;
    static const std::vector<ProviderType> types = {
        {T::Rfc2136, {"server", "tsig_name", "tsig_algorithm", "tsig_secret_file", "ttl"}},
        {T::Exec, {"command", "mode", "timeout"}},
        {T::PowerDns, {"api_url", "server_id", "api_key_file", "ttl", "timeout", "ca_bundle"}},
        {T::Lexicon, {"provider", "options", "credentials", "zone", "program", "ttl", "timeout"}},
        {T::Cloudflare, {"api_token_file", "api_url", "ttl", "timeout", "ca_bundle"}},
        {T::Route53,
         {"access_key_id_file", "secret_access_key_file", "profile", "hosted_zone_id", "region",
          "endpoint", "ttl", "timeout", "ca_bundle"}},
        {T::AcmeDns, {"api_url", "allow_from", "timeout", "ca_bundle"}},
    };
    return types;
}

bool takes(const ProviderType& type, std::string_view key) {
    return std::find(type.keys.begin(), type.keys.end(), key) != type.keys.end();
}

// "\"a\", \"b\" or \"c\""
std::string quoted_list(const std::vector<std::string_view>& names) {
    std::string list;
    for (std::size_t i = 0; i < names.size(); ++i)
        list += std::string(i == 0                  ? ""
                            : i + 1 == names.size() ? " or "
                                                    : ", ") +
                "\"" + std::string(names[i]) + "\"";
    return list;
}

// For a key given to a type that does not take it: every type that does
// (`only for "rfc2136", "powerdns" or "lexicon" providers`). Built once.
const std::map<std::string_view, std::string>& key_notes() {
    static const std::map<std::string_view, std::string> notes = [] {
        std::map<std::string_view, std::vector<std::string_view>> owners;
        for (const auto& t : provider_types())
            for (auto k : t.keys)
                owners[k].push_back(t.name());
        std::map<std::string_view, std::string> out;
        for (const auto& [key, types] : owners)
            out[key] = "only for " + quoted_list(types) + " providers";
        return out;
    }();
    return notes;
}

// The keys a provider of `type` may have (every type's, when the type is
// unknown, so the only error is the type's), and a note for each key that
// other types take.
std::pair<std::vector<std::string_view>, KeyNotes> provider_keys(const std::string& type) {
    const ProviderType* mine = nullptr;
    for (const auto& t : provider_types())
        if (t.name() == type)
            mine = &t;
    std::vector<std::string_view> known = {"type"};
    KeyNotes notes;
    for (const auto& [key, note] : key_notes()) {
        if (!mine || takes(*mine, key))
            known.push_back(key);
        else
            notes.emplace_back(key, note);
    }
    return {known, notes};
}

std::optional<DnsProviderType> read_type(ObjectReader& r) {
    // The list spelled out for one_of's message and its "did you mean";
    // kDnsProviderTypeNames converts (a name missing from it: no type).
    auto name = r.one_of(
        "type", {"rfc2136", "exec", "powerdns", "lexicon", "cloudflare", "route53", "acme-dns"},
        true);
    return name ? core::enum_from_name(kDnsProviderTypeNames, *name) : std::nullopt;
}

void load_rfc2136(ObjectReader& r, DnsProviderConfig& provider);
void load_exec(ObjectReader& r, DnsProviderConfig& provider);
void load_powerdns(ObjectReader& r, DnsProviderConfig& provider);
void load_lexicon(ObjectReader& r, DnsProviderConfig& provider);
void load_cloudflare(ObjectReader& r, DnsProviderConfig& provider);
void load_route53(ObjectReader& r, DnsProviderConfig& provider);
void load_acme_dns(ObjectReader& r, DnsProviderConfig& provider);

void load_provider(Checker& checker, const std::string& name, const Json& value,
                   const std::string& path, DnsProviderConfig& provider) {
    provider.name = name;
    std::string type_name;
    if (value.is_object() && value.contains("type") && value["type"].is_string())
        type_name = value["type"].get<std::string>();
    auto [known, notes] = provider_keys(type_name);

    ObjectReader r(checker, value, path, known, notes);
    if (!r.valid())
        return;
    const auto type = read_type(r);
    if (!type)
        return;
    provider.type = *type;
    using Loader = void (*)(ObjectReader&, DnsProviderConfig&);
    static constexpr std::pair<DnsProviderType, Loader> loaders[] = {
        {DnsProviderType::Rfc2136, load_rfc2136},       {DnsProviderType::Exec, load_exec},
        {DnsProviderType::PowerDns, load_powerdns},     {DnsProviderType::Lexicon, load_lexicon},
        {DnsProviderType::Cloudflare, load_cloudflare}, {DnsProviderType::Route53, load_route53},
        {DnsProviderType::AcmeDns, load_acme_dns},
    };
    for (const auto& [t, load] : loaders)
        if (t == *type)
            load(r, provider);
}

void load_exec(ObjectReader& r, DnsProviderConfig& provider) {
    if (auto command = r.non_empty_string("command", true))
        provider.command = *command;
    if (auto mode = r.one_of("mode", {"default", "raw"}))
        provider.mode = *mode;
    if (auto timeout = r.duration("timeout"))
        provider.timeout = *timeout;
}

void load_rfc2136(ObjectReader& r, DnsProviderConfig& provider) {
    if (auto server = r.non_empty_string("server", true)) {
        if (auto hp = normalize_host_port(*server, 53))
            provider.server = *hp;
        else
            r.checker().error(r.path_of("server"), "expected \"host\" or \"host:port\"");
    }
    auto tsig_name = r.non_empty_string("tsig_name");
    auto secret = r.secret("tsig_secret_file");
    bool has_name = r.get("tsig_name") != nullptr;
    bool has_secret = r.get("tsig_secret_file") != nullptr;
    if (has_name && !has_secret)
        r.missing("tsig_secret_file", "tsig_name is set");
    if (has_secret && !has_name)
        r.missing("tsig_name", "tsig_secret_file is set");
    if (tsig_name)
        provider.tsig_name = *tsig_name;
    if (secret)
        provider.tsig_secret_file = *secret;
    if (auto alg = r.one_of("tsig_algorithm", {"hmac-sha256", "hmac-sha512", "hmac-sha384",
                                               "hmac-sha224", "hmac-sha1"}))
        provider.tsig_algorithm = *alg;
    if (auto ttl = r.integer("ttl", 1, 86400))
        provider.ttl = static_cast<uint32_t>(*ttl);
}

// An http(s) API address; `key` names it in the error.
void load_api_url(ObjectReader& r, std::string_view key, bool required, std::string_view example,
                  DnsProviderConfig& provider) {
    auto url = r.non_empty_string(key, required);
    if (!url)
        return;
    if (!url->starts_with("http://") && !url->starts_with("https://"))
        r.checker().error(r.path_of(key), "expected an http:// or https:// URL like \"" +
                                              std::string(example) + "\"");
    provider.api_url = *url;
}

// ttl, timeout (with the type's default) and ca_bundle, as most HTTP APIs take.
void load_http_common(ObjectReader& r, DnsProviderConfig& provider, Seconds default_timeout) {
    if (auto ttl = r.integer("ttl", 1, 86400))
        provider.ttl = static_cast<uint32_t>(*ttl);
    provider.timeout = default_timeout;
    if (auto timeout = r.duration("timeout"))
        provider.timeout = *timeout;
    if (auto bundle = r.readable_file("ca_bundle"))
        provider.ca_bundle = *bundle;
}

void load_powerdns(ObjectReader& r, DnsProviderConfig& provider) {
    load_api_url(r, "api_url", true, "http://127.0.0.1:8081", provider);
    if (auto server_id = r.non_empty_string("server_id")) {
        if (server_id->find('/') != std::string::npos)
            r.checker().error(r.path_of("server_id"), "expected a server name like \"localhost\"");
        provider.server_id = *server_id;
    }
    if (auto key = r.secret("api_key_file", true))
        provider.api_key_file = *key;
    load_http_common(r, provider, Seconds{30});
}

void load_cloudflare(ObjectReader& r, DnsProviderConfig& provider) {
    provider.api_url = "https://api.cloudflare.com/client/v4";
    load_api_url(r, "api_url", false, "https://api.cloudflare.com/client/v4", provider);
    if (auto token = r.secret("api_token_file", true))
        provider.api_token_file = *token;
    provider.ttl = 120;
    load_http_common(r, provider, Seconds{30});
    if (provider.ttl != 1 && provider.ttl < 60)
        r.checker().error(r.path_of("ttl"), "Cloudflare takes 1 (automatic) or 60 and more");
}

void load_route53(ObjectReader& r, DnsProviderConfig& provider) {
    provider.api_url = "https://route53.amazonaws.com";
    load_api_url(r, "endpoint", false, "https://route53.amazonaws.com", provider);
    auto key_id = r.secret("access_key_id_file");
    auto secret = r.secret("secret_access_key_file");
    const bool has_id = r.get("access_key_id_file") != nullptr;
    const bool has_secret = r.get("secret_access_key_file") != nullptr;
    if (has_id && !has_secret)
        r.missing("secret_access_key_file", "access_key_id_file is set");
    if (has_secret && !has_id)
        r.missing("access_key_id_file", "secret_access_key_file is set");
    if (key_id)
        provider.access_key_id_file = *key_id;
    if (secret)
        provider.secret_access_key_file = *secret;
    if (auto profile = r.non_empty_string("profile"))
        provider.aws_profile = *profile;
    if (has_id && r.get("profile"))
        r.checker().error(r.path_of("profile"),
                          "give either the key files or a shared-credentials profile, not both");
    if (auto zone = r.non_empty_string("hosted_zone_id"))
        provider.hosted_zone_id = *zone;
    if (auto region = r.non_empty_string("region"))
        provider.region = *region;
    load_http_common(r, provider, Seconds{180});
}

void load_acme_dns(ObjectReader& r, DnsProviderConfig& provider) {
    load_api_url(r, "api_url", true, "https://auth.acme-dns.io", provider);
    if (auto ranges = r.strings("allow_from"))
        provider.allow_from = *ranges;
    load_http_common(r, provider, Seconds{30});
}

// "options": {"pdns-server": "http://…"}: non-secret, on lexicon's command line.
// "credentials": {"token": "env:CF_TOKEN"}: secrets, only in its environment.
void load_lexicon(ObjectReader& r, DnsProviderConfig& provider) {
    if (auto name = r.non_empty_string("provider", true))
        provider.lexicon_provider = *name;
    auto read_map = [&](std::string_view key, bool secret) {
        std::vector<std::pair<std::string, std::string>> out;
        const Json* map = r.object(key);
        if (!map)
            return out;
        ObjectReader entries(r.checker(), *map, r.path_of(key), kAnyKey);
        for (const auto& [name, value] : map->items()) {
            auto read = secret ? entries.secret(name) : entries.non_empty_string(name);
            if (read)
                out.emplace_back(name, *read);
        }
        return out;
    };
    provider.options = read_map("options", false);
    provider.credentials = read_map("credentials", true);
    if (auto zone = r.non_empty_string("zone"))
        provider.zone = *zone;
    if (auto program = r.non_empty_string("program"))
        provider.program = *program;
    if (auto ttl = r.integer("ttl", 1, 86400))
        provider.ttl = static_cast<uint32_t>(*ttl);
    provider.timeout = Seconds{60};
    if (auto timeout = r.duration("timeout"))
        provider.timeout = *timeout;
}

}  // namespace

void load_acme(ObjectReader& top, Inventory& inventory) {
    const Json* value = top.get("acme");
    if (!value) {
        top.missing("acme");
        return;
    }
    ObjectReader r(
        top.checker(), *value, "acme",
        {"directory", "contact", "accept_terms", "ca_bundle", "eab", "account_key", "profile"});
    if (!r.valid())
        return;
    AcmeConfig& acme = inventory.acme;
    if (auto dir = r.non_empty_string("directory", true)) {
        if (std::string e = directory_error(*dir); !e.empty())
            r.checker().error(r.path_of("directory"), e);
        acme.directory = *dir;
    }
    if (auto contact = r.strings("contact")) {
        for (size_t i = 0; i < contact->size(); ++i) {
            const std::string& c = (*contact)[i];
            if (!c.starts_with("mailto:") || c.find('@') == std::string::npos)
                r.checker().error(element_path(r.path_of("contact"), i),
                                  "expected a mailto: URI like \"mailto:ops@example.org\"");
        }
        acme.contact = *contact;
    }
    if (auto terms = r.boolean("accept_terms"))
        acme.accept_terms = *terms;
    if (auto bundle = r.readable_file("ca_bundle"))
        acme.ca_bundle = *bundle;
    load_eab(r, inventory);
    if (auto key = r.key_type("account_key"))
        acme.account_key = *key;
    if (auto profile = r.non_empty_string("profile"))
        acme.profile = *profile;
}

void load_dns(ObjectReader& top, Inventory& inventory) {
    const Json* value = top.get("dns");
    if (!value)
        return;
    ObjectReader r(top.checker(), *value, "dns",
                   {"providers", "nameservers", "propagation_timeout", "poll_interval"});
    if (!r.valid())
        return;
    DnsConfig& dns = inventory.dns;
    if (const Json* providers = r.get("providers")) {
        // Any member name is a provider name, so there are no unknown keys here.
        ObjectReader list(r.checker(), *providers, r.path_of("providers"), kAnyKey);
        if (list.valid()) {
            for (const auto& item : providers->items()) {
                if (item.key().empty())
                    r.checker().error_at_key(list.path_of(item.key()), "empty provider name");
                load_provider(r.checker(), item.key(), item.value(), list.path_of(item.key()),
                              dns.providers[item.key()]);
            }
        }
    }
    if (auto servers = r.strings("nameservers")) {
        for (size_t i = 0; i < servers->size(); ++i) {
            if (auto hp = normalize_host_port((*servers)[i], 53))
                dns.nameservers.push_back(*hp);
            else
                r.checker().error(element_path(r.path_of("nameservers"), i),
                                  "expected \"host\" or \"host:port\"");
        }
    }
    if (auto d = r.duration("propagation_timeout"))
        dns.propagation_timeout = *d;
    if (auto d = r.duration("poll_interval"))
        dns.poll_interval = *d;
}

}  // namespace certfleet::inventory::detail
