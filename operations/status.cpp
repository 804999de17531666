#include "operations/status.hpp"

#include <algorithm>
#include <map>

#include "core/enum_names.hpp"
#include "renewal/policy.hpp"
#include "state/store_index.hpp"

namespace certfleet::operations {

namespace {

std::vector<std::string> wanted_certificates(const inventory::Inventory& inv,
                                             const std::vector<std::string>& names) {
    std::vector<std::string> wanted;
    for (const auto& [name, _] : inv.certificates)
        if (names.empty() || std::find(names.begin(), names.end(), name) != names.end())
            wanted.push_back(name);
    return wanted;
}

template <typename Map>
std::optional<typename Map::mapped_type> find_in(const Map& map, const std::string& key) {
    auto it = map.find(key);
    return it == map.end() ? std::nullopt : std::optional(it->second);
}

CertificateStatus certificate_status(const inventory::Inventory& inv,
                                     const state::FleetIndex& index, const std::string& name,
                                     core::TimePoint now) {
    const auto& spec = inv.certificates.at(name);
    const auto& current = index.current.at(name);
    auto latest = find_in(index.latest_issuance, name);
    // The moment the last issue/run chose in the CA's ARI window, if the
    // ledger holds one for the current serial; status never asks the CA.
    auto decision = renewal::decide_renewal(spec, current, latest ? latest->profile : "",
                                            inv.policy, now, find_in(index.ari, name));
    CertificateStatus status{
        name, spec.domains, std::nullopt, CertificateState::Missing, decision.reason, {}, {}};
    if (auto f = index.failures.find(name); f != index.failures.end()) {
        status.failure = f->second;
        status.reason +=
            "; last attempt failed at " + core::format_rfc3339(f->second.last_failure_at) + " (" +
            std::to_string(f->second.consecutive_failures) +
            " in a row): " + f->second.last_message +
            " — `certfleet run` retries it; `certfleet renew " + name + " --force -v` retries now";
    }
    if (!current)
        return status;
    status.current =
        CurrentVersion{current->version,        current->info.serial_hex, current->info.not_before,
                       current->info.not_after, decision.renew_at,        std::nullopt};
    if (const auto* revoked =
            state::find_revocation(index.revocations, name, current->info.serial_hex)) {
        // Revoked outranks expiry and due: clients may refuse it today.
        status.current->revoked = *revoked;
        status.state = CertificateState::Revoked;
        status.reason =
            describe_revocation(*revoked) + "; replace it: `certfleet renew " + name + "`";
    } else if (now >= current->info.not_after) {
        status.state = CertificateState::Expired;
    } else {
        status.state = decision.due ? CertificateState::Due : CertificateState::Ok;
    }
    return status;
}

}  // namespace

constexpr core::EnumNames<CertificateState> kCertificateStateNames[] = {
    {CertificateState::Ok, "ok"},           {CertificateState::Due, "due"},
    {CertificateState::Expired, "expired"}, {CertificateState::Missing, "missing"},
    {CertificateState::Revoked, "revoked"},
};

std::string_view certificate_state_name(CertificateState state) {
    return core::enum_name(kCertificateStateNames, state, "missing");
}

std::optional<CertificateState> parse_certificate_state(std::string_view name) {
    return core::enum_from_name(kCertificateStateNames, name);
}

StatusReport collect_status(const inventory::Inventory& inv, const state::Store& store,
                            const state::Ledger& ledger, const StatusOptions& options) {
    std::map<std::string, std::vector<HostCertStatus>> host_status;
    if (options.probe_hosts)
        host_status = collect_host_status(inv, store, ledger, options.names, options.concurrency);
    auto wanted = wanted_certificates(inv, options.names);
    // One ledger read for the whole fleet; no PEM parsing for issued versions.
    auto index = state::index_fleet(store, ledger, wanted);
    StatusReport report;
    for (const auto& name : wanted) {
        auto status = certificate_status(inv, index, name, options.now);
        status.hosts = std::move(host_status[name]);
        report.certificates.push_back(std::move(status));
    }
    return report;
}

}  // namespace certfleet::operations
