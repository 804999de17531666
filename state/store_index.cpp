#include "state/store_index.hpp"

namespace certfleet::state {

const Revocation* find_revocation(const std::multimap<std::string, Revocation>& revocations,
                                  const std::string& cert, const std::string& serial_or_version) {
    if (serial_or_version.empty())
        return nullptr;
    auto [from, to] = revocations.equal_range(cert);
    for (auto it = from; it != to; ++it)
        if (it->second.serial == serial_or_version || it->second.version == serial_or_version)
            return &it->second;
    return nullptr;
}

FleetIndex index_fleet(const Store& store, const Ledger& ledger,
                       const std::vector<std::string>& certificates) {
    FleetIndex index;
    std::map<std::pair<std::string, std::string>, const IssuanceRecord*> by_version;
    const auto issuances = ledger.all_issuances();  // oldest first
    for (const auto& r : issuances) {
        by_version[{r.cert, r.version}] = &r;
        index.latest_issuance[r.cert] = r;
    }
    index.ari = ledger.all_ari();
    for (auto& r : ledger.revocations())
        index.revocations.emplace(r.cert, r);
    index.failures = ledger.all_failure_states();
    for (const auto& name : certificates) {
        auto& slot = index.current[name];
        auto version = store.current_version(name);
        if (!version)
            continue;
        auto it = by_version.find({name, *version});
        auto key_type =
            it == by_version.end() ? std::nullopt : core::parse_key_type(it->second->key_type);
        if (!key_type) {
            slot = store.current(name);  // not from an issuance: read the files
            continue;
        }
        const IssuanceRecord& r = *it->second;
        StoredVersion v;
        v.name = name;
        v.version = *version;
        v.dir = store.certificate_dir(name) + "/versions/" + *version;
        v.info.serial_hex = r.serial;
        v.info.not_before = r.not_before;
        v.info.not_after = r.not_after;
        v.info.dns_names = r.domains;
        v.key_type = *key_type;
        slot = std::move(v);
    }
    return index;
}

}  // namespace certfleet::state
