// The current version of every certificate for read-mostly commands (status,
// check, run's check stage) without parsing 10,000 PEM files: the `current`
// link names the version, and the ledger already holds what issuance learnt
// about it (serial, validity, domains, key type). Versions are immutable once
// renamed into place, so the ledger row stays true. Versions the ledger does
// not know (adopted, imported, a lost ledger) are read from the files.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "state/ledger.hpp"
#include "state/store.hpp"

namespace certfleet::state {

struct FleetIndex {
    // By certificate name. From the ledger, a StoredVersion has no PEM texts
    // and no subject / issuer / fingerprint: only what status and check use.
    std::map<std::string, std::optional<StoredVersion>> current;
    std::map<std::string, IssuanceRecord> latest_issuance;  // newest per certificate
    std::map<std::string, AriRecord> ari;
    std::multimap<std::string, Revocation> revocations;  // by certificate
    std::map<std::string, FailureState> failures;        // failed attempts since the last success
};

// The revocation of `cert`'s version with this serial (or version), if any.
const Revocation* find_revocation(const std::multimap<std::string, Revocation>& revocations,
                                  const std::string& cert, const std::string& serial_or_version);

FleetIndex index_fleet(const Store& store, const Ledger& ledger,
                       const std::vector<std::string>& certificates);

}  // namespace certfleet::state
