#include "operations/fleet_status.hpp"

#include <algorithm>

#include "core/enum_names.hpp"
#include "core/parallel.hpp"
#include "distribute/tls_probe.hpp"
#include "fleet/hosts.hpp"
#include "state/store_index.hpp"

namespace certfleet::operations {

namespace {

constexpr core::EnumNames<HostState> kHostStateNames[] = {
    {HostState::Current, "current"}, {HostState::Stale, "stale"},
    {HostState::Missing, "missing"}, {HostState::Failed, "failed"},
    {HostState::Unknown, "unknown"}, {HostState::Revoked, "revoked"},
};

struct Item {
    const inventory::CertificateSpec* cert;
    std::string store_version, store_serial;
    HostCertStatus status;
};

using LastResults =
    std::map<std::pair<std::string, std::string>, state::EventKind>;  // (cert, host)

// Read once, before the worker threads: the ledger is a single SQLite connection.
LastResults last_results(const state::Ledger& ledger, const std::vector<std::string>& certs) {
    LastResults out;
    for (const auto& cert : certs)
        for (const auto& e : ledger.events(cert))
            if (!e.host.empty())
                out[{cert, e.host}] = e.kind;  // oldest first: last wins
    return out;
}

using Revocations = std::multimap<std::string, state::Revocation>;

void fill(Item& item, const inventory::Inventory& inv, distribute::Transport& transport,
          bool connected, const std::string& connect_error, const LastResults& last_results,
          const Revocations& revocations) {
    auto& s = item.status;
    const auto& host = inv.hosts.at(s.host);
    auto target = fleet::host_target(inv, host, *item.cert);
    if (connected) {
        auto state = distribute::inspect(transport, target.cert_root, item.cert->name);
        if (state) {
            s.deployed_version = state->current_version.value_or("");
            s.deployed_serial = state->current_serial.value_or("");
        } else {
            s.detail = state.error().message;
        }
    } else {
        s.detail = connect_error;
    }
    if (target.verify.enabled) {
        auto served = distribute::probe_tls(target.verify.address, target.verify.port,
                                            target.verify.server_name, core::Seconds(5));
        if (served)
            s.served_serial = served->info.serial_hex;
        else if (s.detail.empty())
            s.detail = served.error().message;
    }
    bool know_served = !s.served_serial.empty();
    bool know_deployed = connected;
    const std::string& seen = know_served ? s.served_serial : s.deployed_serial;
    const auto* revoked = state::find_revocation(revocations, item.cert->name, seen);
    if (!know_served && !know_deployed) {
        s.state = HostState::Unknown;
    } else if (revoked) {
        s.state = HostState::Revoked;
        s.detail = (know_served ? "serves" : "has deployed") + std::string(" serial ") + seen +
                   ", " + describe_revocation(*revoked) + "; replace it: `certfleet renew " +
                   item.cert->name + "`";
    } else if (!item.store_serial.empty() && seen == item.store_serial) {
        s.state = HostState::Current;
    } else {
        auto it = last_results.find({item.cert->name, s.host});
        const bool last_failed =
            it != last_results.end() &&
            (it->second == state::EventKind::Failed || it->second == state::EventKind::RolledBack);
        if (last_failed)
            s.state = HostState::Failed;
        else if (s.deployed_version.empty() &&
                 (!know_served || s.served_serial != s.deployed_serial))
            s.state = HostState::Missing;
        else
            s.state = HostState::Stale;
    }
}

void mark_unknown(Item& item, const std::string& why) {
    item.status.state = HostState::Unknown;
    item.status.detail = why;
}

}  // namespace

std::string describe_revocation(const state::Revocation& revocation) {
    return "revoked at " + core::format_rfc3339(revocation.at) + " (reason " + revocation.reason +
           ")";
}

std::string_view host_state_name(HostState state) {
    return core::enum_name(kHostStateNames, state, "unknown");
}

std::optional<HostState> parse_host_state(std::string_view name) {
    return core::enum_from_name(kHostStateNames, name);
}

std::map<std::string, std::vector<HostCertStatus>> collect_host_status(
    const inventory::Inventory& inv, const state::Store& store, const state::Ledger& ledger,
    const std::vector<std::string>& names, int concurrency) {
    // Group the (certificate, host) pairs by host so each host is connected once.
    std::map<std::string, std::vector<Item>> by_host;
    for (const auto& [name, cert] : inv.certificates) {
        if (!names.empty() && std::find(names.begin(), names.end(), name) == names.end())
            continue;
        auto current = store.current(name);
        for (const auto& host : inventory::deploy_hosts(inv, cert)) {
            Item item{&cert,
                      current ? current->version : "",
                      current ? current->info.serial_hex : "",
                      {}};
            item.status.host = host;
            by_host[host].push_back(std::move(item));
        }
    }
    std::vector<std::string> hosts, certs;
    for (const auto& [h, _] : by_host)
        hosts.push_back(h);
    for (const auto& [name, _] : inv.certificates)
        certs.push_back(name);
    const LastResults last = last_results(ledger, certs);
    Revocations revocations;
    for (auto& r : ledger.revocations())
        revocations.emplace(r.cert, std::move(r));
    core::parallel_for(
        hosts.size(), concurrency,
        [&](std::size_t i) {
            auto transport = fleet::make_transport(inv.hosts.at(hosts[i]));
            auto connected = transport->connect();
            std::string error = connected ? std::string() : connected.error().message;
            for (auto& item : by_host.find(hosts[i])->second)
                fill(item, inv, *transport, connected.ok(), error, last, revocations);
        },
        // What this host has and serves is not known: each of its rows says why.
        [&](std::size_t i, const std::string& what) {
            for (auto& item : by_host.find(hosts[i])->second)
                mark_unknown(item, "status of this host failed: " + what);
        });

    std::map<std::string, std::vector<HostCertStatus>> out;
    for (auto& [host, items] : by_host)
        for (auto& item : items)
            out[item.cert->name].push_back(std::move(item.status));
    return out;
}

}  // namespace certfleet::operations
