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
    {HostState::Pinned, "pinned"},
};

struct Item {
    const inventory::CertificateSpec* cert;
    std::string store_version, store_serial;
    HostCertStatus status;
};

// The newest event of every (certificate, host): one query, read before the
// worker threads (the ledger is a single SQLite connection).
using LastEvents = std::map<std::pair<std::string, std::string>, state::EventRecord>;
using Revocations = std::multimap<std::string, state::Revocation>;

// What the host has on disk, or why that is not known (then nullopt).
std::optional<distribute::HostCertState> read_host(Item& item, distribute::Transport& transport,
                                                   const std::string& cert_root, bool connected,
                                                   const std::string& connect_error) {
    auto& s = item.status;
    if (!connected) {
        s.detail = "could not read the host: " + connect_error;
        return std::nullopt;
    }
    auto state = distribute::inspect(transport, cert_root, item.cert->name);
    if (!state) {
        s.detail = "could not read the host: " + state.error().message;
        return std::nullopt;
    }
    s.deployed_version = state->current_version.value_or("");
    s.deployed_serial = state->current_serial.value_or("");
    return std::move(*state);
}

std::string pinned_text(const state::EventRecord& rollback) {
    return "pinned by a rollback at " + core::format_rfc3339(rollback.at) + ": " + rollback.detail +
           "; `certfleet rollback " + rollback.cert + " --host " + rollback.host +
           " --unpin` lifts it";
}

// The state, from what was looked at: never "current" without having read
// the host (a probe alone cannot tell that its files are still there).
void judge(Item& item, const std::optional<distribute::HostCertState>& on_disk,
           const std::string& cert_root, const state::EventRecord* last,
           const Revocations& revocations) {
    auto& s = item.status;
    const bool know_served = !s.served_serial.empty();
    const std::string& seen = know_served ? s.served_serial : s.deployed_serial;
    const std::string also_serves =
        know_served ? "; it serves serial " + s.served_serial + " (from memory until a reload)"
                    : "";
    if (const auto* revoked = state::find_revocation(revocations, item.cert->name, seen)) {
        s.state = HostState::Revoked;
        s.detail = (know_served ? "serves" : "has deployed") + std::string(" serial ") + seen +
                   ", " + describe_revocation(*revoked) + "; replace it: `certfleet renew " +
                   item.cert->name + "`";
    } else if (!on_disk) {
        s.state = HostState::Unknown;
        s.detail += also_serves;
    } else if (last && state::pins_host(last->kind)) {
        s.state = HostState::Pinned;
        s.detail = pinned_text(*last);
    } else if (s.deployed_serial.empty()) {
        s.state = HostState::Missing;
        s.detail = "no readable certificate at " + cert_root + "/" + item.cert->name +
                   "/fullchain.pem" + also_serves + "; `certfleet deploy " + item.cert->name +
                   " --host " + s.host + "` puts it back";
    } else if (!item.store_serial.empty() && seen == item.store_serial) {
        s.state = HostState::Current;
    } else if (last && (last->kind == state::EventKind::Failed ||
                        last->kind == state::EventKind::RolledBack)) {
        s.state = HostState::Failed;
        if (s.detail.empty())
            s.detail = "last deployment " + std::string(state::event_kind_name(last->kind)) +
                       " at " + core::format_rfc3339(last->at) + ": " + last->detail;
    } else {
        s.state = HostState::Stale;
    }
}

void fill(Item& item, const inventory::Inventory& inv, distribute::Transport& transport,
          bool connected, const std::string& connect_error, const LastEvents& last_events,
          const Revocations& revocations) {
    auto& s = item.status;
    const auto& host = inv.hosts.at(s.host);
    auto target = fleet::host_target(inv, host, *item.cert);
    auto on_disk = read_host(item, transport, target.cert_root, connected, connect_error);
    if (target.verify.enabled) {
        auto served = distribute::probe_tls(target.verify.address, target.verify.port,
                                            target.verify.server_name, core::Seconds(5));
        if (served)
            s.served_serial = served->info.serial_hex;
        else if (s.detail.empty())
            s.detail = "TLS check failed: " + served.error().message;
    }
    auto last = last_events.find({item.cert->name, s.host});
    judge(item, on_disk, target.cert_root, last == last_events.end() ? nullptr : &last->second,
          revocations);
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
    const LastEvents last = ledger.latest_host_events();
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
