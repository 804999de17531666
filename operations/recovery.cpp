#include "operations/recovery.hpp"

#include <map>
#include <set>

#include <spdlog/spdlog.h>

#include "acme/issuer.hpp"
#include "operations/ledger_errors.hpp"

namespace certfleet::operations {

namespace dns = acme::dns;

RememberingProvider::RememberingProvider(dns::DnsProvider& inner, state::Ledger& ledger,
                                         std::mutex& ledger_mutex, std::string cert,
                                         std::string provider_name, const core::Clock& clock)
    : m_inner(inner),
      m_ledger(ledger),
      m_ledger_mutex(ledger_mutex),
      m_cert(std::move(cert)),
      m_provider(std::move(provider_name)),
      m_clock(clock) {}

std::vector<state::PublishedChallenge> RememberingProvider::entries(
    const std::vector<dns::ChallengeRecord>& records) const {
    std::vector<state::PublishedChallenge> out;
    for (const auto& r : records)
        out.push_back({m_cert, m_provider, r.fqdn, r.value, r.domain, r.token, r.key_authorization,
                       m_clock.now()});
    return out;
}

core::Status RememberingProvider::present(const std::vector<dns::ChallengeRecord>& records) {
    {
        std::lock_guard lock(m_ledger_mutex);
        if (auto st = m_ledger.remember_challenges(entries(records)); !st)
            return core::fail(core::ErrorKind::Io,
                              "certificate '" + m_cert +
                                  "': cannot remember its challenge records before publishing "
                                  "them: " +
                                  st.error().message,
                              "check the state directory (space, permissions)");
    }
    return m_inner.present(records);
}

core::Status RememberingProvider::cleanup(const std::vector<dns::ChallengeRecord>& records) {
    auto removed = m_inner.cleanup(records);
    if (!removed) {
        // They stay in the ledger: say so, so the operator knows nothing is lost.
        core::Error error = removed.error();
        const std::string later =
            "the records stay remembered and the next run removes them once the DNS API answers";
        error.hint = error.hint.empty() ? later : error.hint + "; " + later;
        return core::fail(error);
    }
    std::lock_guard lock(m_ledger_mutex);
    if (auto st = m_ledger.forget_challenges(entries(records)); !st)
        log_unrecorded(m_ledger, m_cert, "that its challenge records are removed", st.error(),
                       "the next run removes them again (harmless)");
    return removed;
}

void RememberedOrder::created(const std::string& order_url) {
    std::lock_guard lock(m_ledger_mutex);
    m_url = order_url;
    if (auto st = m_ledger.remember_order({m_cert, order_url, m_clock.now()}); !st)
        log_unrecorded(m_ledger, m_cert, "the CA's order " + order_url, st.error(),
                       "if this run is killed, the next one cannot resume or clean up that order");
}

RememberedOrder::~RememberedOrder() {
    if (m_url.empty())
        return;
    std::lock_guard lock(m_ledger_mutex);
    if (auto st = m_ledger.forget_order(m_cert, m_url); !st)
        log_unrecorded(m_ledger, m_cert, "that the CA's order " + m_url + " is finished",
                       st.error(), "the next run looks at that order again (harmless)");
}

namespace {

void remove_left_records(Context& ctx, DnsWiring& wiring) {
    // One provider call per (certificate, provider): batched like the original update.
    std::map<std::pair<std::string, std::string>, std::vector<state::PublishedChallenge>> groups;
    for (auto& r : ctx.ledger.published_challenges())
        groups[{r.cert, r.provider}].push_back(std::move(r));
    for (const auto& [key, entries] : groups) {
        const auto& [cert, provider_name] = key;
        std::vector<dns::ChallengeRecord> records;
        std::string names;
        for (const auto& e : entries) {
            records.push_back({e.fqdn, e.value, e.domain, e.token, e.key_authorization});
            names += (names.empty() ? "" : ", ") + e.fqdn;
        }
        auto provider = wiring.provider_named(provider_name);
        if (!provider) {
            // Kept: the next run tries again once the provider is back.
            spdlog::error(
                "{}: an interrupted run left challenge records at {}; cannot remove them: {}", cert,
                names, provider.error().describe());
            continue;
        }
        spdlog::info("{}: removing {} challenge record(s) an interrupted run left at {}", cert,
                     records.size(), names);
        if (auto st = (*provider)->cleanup(records); !st) {
            spdlog::warn("{}: {} (the next run tries again)", cert, st.error().describe());
            continue;
        }
        if (auto st = ctx.ledger.forget_challenges(entries); !st)
            log_unrecorded(ctx.ledger, cert, "that the left challenge records are removed",
                           st.error(), "the next run removes them again (harmless)");
    }
}

void abandon_open_orders(Context& ctx, AcmeSession& session) {
    auto orders = ctx.ledger.open_orders();
    if (orders.empty())
        return;
    auto client = session.client();
    if (!client) {
        spdlog::warn(
            "cannot clean up {} order(s) an interrupted run left at the CA: {} (the next "
            "run tries again)",
            orders.size(), client.error().describe());
        return;
    }
    for (const auto& order : orders) {
        spdlog::info("{}: cleaning up order {} an interrupted run left at the CA", order.cert,
                     order.url);
        if (auto st = acme::abandon_order(**client, order.url, order.cert); !st) {
            spdlog::warn("{}: {} (the next run tries again)", order.cert, st.error().describe());
            continue;
        }
        if (auto st = ctx.ledger.forget_order(order.cert, order.url); !st)
            log_unrecorded(ctx.ledger, order.cert, "that the order " + order.url + " is cleaned up",
                           st.error(), "the next run looks at that order again (harmless)");
    }
}

// "20261121T103000Z-4f20a477" -> 2026-11-21T10:30:00Z (Store::add_version's
// name is the issuance time the lost row would have had).
std::optional<core::TimePoint> version_time(const std::string& version) {
    if (version.size() < 16 || version[8] != 'T' || version[15] != 'Z')
        return std::nullopt;
    const std::string& v = version;
    return core::parse_rfc3339(v.substr(0, 4) + "-" + v.substr(4, 2) + "-" + v.substr(6, 2) + "T" +
                               v.substr(9, 2) + ":" + v.substr(11, 2) + ":" + v.substr(13, 2) +
                               "Z");
}

void record_missing_issuances(Context& ctx) {
    // One query and a readlink per certificate: this runs on every run.
    std::set<std::pair<std::string, std::string>> recorded;
    std::map<std::string, std::string> latest;
    for (const auto& r : ctx.ledger.all_issuances()) {  // oldest first
        recorded.insert({r.cert, r.version});
        latest[r.cert] = r.version;
    }
    for (const auto& [name, spec] : ctx.inventory.certificates) {
        auto version = ctx.store.current_version(name);
        if (!version || recorded.count({name, *version}))
            continue;
        auto current = ctx.store.current(name);
        if (!current)
            continue;  // incomplete: not ours to vouch for (plan() treats it as missing)
        state::IssuanceRecord record;
        record.cert = name;
        record.version = current->version;
        record.serial = current->info.serial_hex;
        record.domains = current->info.dns_names;
        record.key_type = core::key_type_name(current->key_type);
        record.profile = spec.profile.empty() ? ctx.inventory.acme.profile : spec.profile;
        record.not_before = current->info.not_before;
        record.not_after = current->info.not_after;
        record.issued_at = version_time(current->version).value_or(ctx.clock.now());
        record.replaced_version = latest.count(name) ? latest[name] : std::string();
        if (auto st = ctx.ledger.record_issuance(record); !st) {
            // Repeated every run until it works: the store still has the version.
            spdlog::error(
                "{}: the ledger has no record of the current version {} and could not record "
                "it: {}; next step: make {} writable (each run tries again)",
                name, record.version, st.error().message, ctx.ledger.path());
            continue;
        }
        spdlog::warn(
            "{}: the ledger had no record of the current version {} (serial {}): a run "
            "interrupted after storing it, or a lost ledger; recorded it now",
            name, record.version, record.serial);
    }
}

}  // namespace

void recover_interrupted_runs(Context& ctx, DnsWiring& dns, AcmeSession& session) {
    remove_left_records(ctx, dns);
    abandon_open_orders(ctx, session);
    record_missing_issuances(ctx);
}

}  // namespace certfleet::operations
