#include "acme/dns/rfc2136.hpp"

#include <algorithm>
#include <cctype>
#include <map>

#include <spdlog/spdlog.h>

#include "acme/dns/answers.hpp"
#include "acme/dns/names.hpp"
#include "core/strings.hpp"

namespace certfleet::acme::dns {
namespace {

using detail::SteadyClock;
using std::chrono::milliseconds;

constexpr uint16_t kTsigFudge = 300;  // RFC 8945 §5.2.3 recommendation

bool is_base64(std::string_view s) {
    if (s.empty() || s.size() % 4 != 0) {
        return false;
    }
    const auto pad = s.find('=');
    if (pad != std::string_view::npos &&
        (s.size() - pad > 2 || s.find_first_not_of('=', pad) != std::string_view::npos)) {
        return false;
    }
    return std::all_of(s.begin(), s.begin() + static_cast<long>(std::min(pad, s.size())),
                       [](unsigned char c) { return std::isalnum(c) || c == '+' || c == '/'; });
}

// TXT values are base64url digests; anything needing escapes is a bug upstream.
bool is_plain_txt(std::string_view v) {
    return !v.empty() && v.size() <= 255 && std::all_of(v.begin(), v.end(), [](unsigned char c) {
        return c > 0x20 && c < 0x7f && c != '"' && c != '\\' && c != ';';
    });
}

class Rfc2136Provider final : public DnsProvider {
public:
    Rfc2136Provider(Rfc2136Config config, ServerAddress server, detail::TsigKey key)
        : m_config(std::move(config)), m_server(std::move(server)), m_key(std::move(key)) {}

    core::Status present(const std::vector<ChallengeRecord>& records) override {
        return apply(records, true);
    }
    core::Status cleanup(const std::vector<ChallengeRecord>& records) override {
        return apply(records, false);
    }
    core::Seconds timeout() const override { return m_config.timeout; }
    std::string describe() const override {
        return "rfc2136 " + (m_config.name.empty() ? std::string() : m_config.name + " ") + "(" +
               m_server.label() + ")";
    }

private:
    detail::ExchangeOptions options(SteadyClock::time_point deadline) const {
        detail::ExchangeOptions o;
        o.recursion_desired = false;
        // Half the provider's time per attempt, counted in milliseconds: in
        // seconds a 1 s timeout would halve to 0 (and each attempt get 50 ms).
        o.timeout = std::min(milliseconds(5000),
                             std::chrono::duration_cast<milliseconds>(m_config.timeout) / 2);
        o.attempts = 2;
        o.deadline = deadline;
        return o;
    }

    core::Status apply(const std::vector<ChallengeRecord>& records, bool add) {
        if (records.empty()) {
            return {};
        }
        for (const auto& r : records) {
            if (!is_plain_txt(r.value)) {
                return core::fail(core::ErrorKind::Generic, "refusing to publish TXT value for " +
                                                                r.fqdn +
                                                                ": not a plain base64url string");
            }
        }
        const auto deadline = SteadyClock::now() + m_config.timeout;
        auto server = detail::resolve_server(m_server);
        if (!server) {
            return server.failure();
        }
        const auto opts = options(deadline);
        std::map<std::string, std::string> zone_cache;
        auto batches =
            group_by_zone(records, [&](const std::string& fqdn) -> core::Result<std::string> {
                if (auto it = zone_cache.find(fqdn); it != zone_cache.end()) {
                    return it->second;
                }
                auto zone = detail::find_zone_at(*server, fqdn, opts);
                if (zone) {
                    zone_cache.emplace(fqdn, *zone);
                }
                return zone;
            });
        if (!batches) {
            return batches.failure();
        }
        // Clean-up tries every zone even after a failure so nothing is left
        // behind needlessly; the first error is reported.
        std::optional<core::Error> first_error;
        for (const auto& batch : *batches) {
            auto status = send_update(*server, batch, add, opts);
            if (!status) {
                if (add) {
                    return status;
                }
                spdlog::warn("{}: {}", describe(), status.error().describe());
                if (!first_error) {
                    first_error = status.error();
                }
            }
        }
        if (first_error) {
            return core::fail(*first_error);
        }
        return {};
    }

    core::Status send_update(const ServerAddress& server, const ZoneBatch& batch, bool add,
                             const detail::ExchangeOptions& opts) const {
        detail::RrListPtr updates(ldns_rr_list_new());
        for (const auto& record : batch.records) {
            detail::RrPtr rr(ldns_rr_new());
            detail::RdfPtr owner = detail::make_dname(record.fqdn);
            detail::RdfPtr text(ldns_rdf_new_frm_str(LDNS_RDF_TYPE_STR, record.value.c_str()));
            if (!rr || !owner || !text) {
                return core::fail(core::ErrorKind::Dns, "cannot build TXT record " + record.fqdn);
            }
            ldns_rr_set_owner(rr.get(), owner.release());
            ldns_rr_set_type(rr.get(), LDNS_RR_TYPE_TXT);
            // RFC 2136 §2.5.1 adds to the RRset; §2.5.4 (class NONE, TTL 0)
            // deletes exactly this value and leaves other values alone.
            ldns_rr_set_class(rr.get(), add ? LDNS_RR_CLASS_IN : LDNS_RR_CLASS_NONE);
            ldns_rr_set_ttl(rr.get(), add ? m_config.ttl : 0);
            if (!ldns_rr_push_rdf(rr.get(), text.get())) {
                return core::fail(core::ErrorKind::Dns, "cannot build TXT record " + record.fqdn);
            }
            static_cast<void>(text.release());  // the record owns the text now
            ldns_rr_list_push_rr(updates.get(), rr.release());
        }
        detail::RdfPtr zone = detail::make_dname(batch.zone);
        detail::PktPtr request(
            ldns_update_pkt_new(zone.release(), LDNS_RR_CLASS_IN, nullptr, updates.get(), nullptr));
        if (!request) {
            return core::fail(core::ErrorKind::Dns, "cannot build the update for " + batch.zone);
        }
        ldns_pkt_set_random_id(request.get());
        const ldns_status signed_ok =
            ldns_pkt_tsig_sign(request.get(), m_key.name.c_str(), m_key.secret.c_str(), kTsigFudge,
                               m_key.algorithm.c_str(), nullptr);
        if (signed_ok != LDNS_STATUS_OK) {
            return core::fail(core::ErrorKind::Config,
                              "cannot sign the update with TSIG key '" + m_config.tsig_name +
                                  "': " + ldns_get_errorstr_by_id(signed_ok),
                              "check tsig_algorithm and that the secret is base64");
        }
        spdlog::debug("{}: {} {} TXT record(s) in zone {}", describe(), add ? "adding" : "deleting",
                      batch.records.size(), batch.zone);
        auto reply = detail::exchange(server, request.get(), opts, &m_key);
        if (!reply) {
            return reply.failure();
        }
        auto checked = detail::check_update_reply(*reply, batch, m_config.tsig_name);
        if (checked) {
            spdlog::info("{}: {} {} TXT record(s) in zone {}", describe(),
                         add ? "added" : "removed", batch.records.size(), batch.zone);
        }
        return checked;
    }

    Rfc2136Config m_config;
    ServerAddress m_server;
    detail::TsigKey m_key;
};

}  // namespace

core::Result<std::string> ldns_tsig_algorithm(std::string_view algorithm) {
    std::string a = core::lower(algorithm);
    if (!a.empty() && a.back() == '.') {
        a.pop_back();
    }
    if (a == "hmac-sha256" || a == "hmac-sha512" || a == "hmac-sha1") {
        return a + ".";
    }
    if (a == "hmac-md5" || a == "hmac-md5.sig-alg.reg.int") {
        return std::string("hmac-md5.sig-alg.reg.int.");
    }
    if (a == "hmac-sha224" || a == "hmac-sha384") {
        return core::fail(core::ErrorKind::Config,
                          "tsig_algorithm " + a + " is not supported by ldns 1.8",
                          "use hmac-sha256 or hmac-sha512 (tsig-keygen -a hmac-sha256 NAME)");
    }
    return core::fail(core::ErrorKind::Config,
                      "unknown tsig_algorithm '" + std::string(algorithm) + "'",
                      "use hmac-sha256, hmac-sha512 or hmac-sha1");
}

core::Result<std::unique_ptr<DnsProvider>> make_rfc2136_provider(Rfc2136Config config) {
    const std::string who = "rfc2136 provider" + (config.name.empty() ? "" : " " + config.name);
    auto server = parse_server(config.server);
    if (!server) {
        return core::fail(core::ErrorKind::Config, who + ": " + server.error().message);
    }
    if (config.tsig_name.empty()) {
        return core::fail(core::ErrorKind::Config, who + ": tsig_name is empty");
    }
    auto algorithm = ldns_tsig_algorithm(config.tsig_algorithm);
    if (!algorithm) {
        auto e = algorithm.error();
        e.message = who + ": " + e.message;
        return core::fail(e);
    }
    config.tsig_secret = core::trim(config.tsig_secret);
    if (!is_base64(config.tsig_secret)) {
        // Never echo the secret itself.
        return core::fail(
            core::ErrorKind::Config,
            who + ": the TSIG secret for key '" + config.tsig_name + "' is not base64",
            "the secret file must hold only the base64 secret "
            "(the \"secret\" value of tsig-keygen's output)");
    }
    if (config.timeout.count() <= 0) {
        config.timeout = core::Seconds(30);
    }
    detail::TsigKey key{normalize_fqdn(config.tsig_name), *algorithm, config.tsig_secret};
    return std::unique_ptr<DnsProvider>(
        std::make_unique<Rfc2136Provider>(std::move(config), std::move(*server), std::move(key)));
}

}  // namespace certfleet::acme::dns
