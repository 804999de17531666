// `revoke`: revoke the store's current version of one certificate at the CA
// and record it in the ledger, so the next `issue` treats it as due.
#pragma once

#include <atomic>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "acme/client.hpp"
#include "inventory/model.hpp"
#include "state/ledger.hpp"
#include "state/store.hpp"

namespace certfleet::operations {

// The RFC 5280 reason names `revoke --reason` accepts, in the order shown.
const std::vector<std::string>& revocation_reason_names();
// nullopt for a name not in revocation_reason_names().
std::optional<acme::RevocationReason> parse_revocation_reason(std::string_view name);
std::string_view revocation_reason_name(acme::RevocationReason reason);

struct RevokeRequest {
    std::string certificate;
    acme::RevocationReason reason = acme::RevocationReason::Unspecified;
};

enum class RevokeResult {
    NeverIssued,         // the store holds no version: nothing was sent
    CaFailed,            // the CA could not be reached or refused: nothing changed
    Revoked,             // revoked at the CA and recorded in the ledger
    RevokedNotRecorded,  // revoked at the CA, but the ledger write failed
};

struct RevokeOutcome {
    RevokeResult result = RevokeResult::NeverIssued;
    std::string certificate;
    std::string serial;   // of the current version; empty when never issued
    std::string version;  // likewise
    // CaFailed: the CA's (or the connection's) error as it came.
    // RevokedNotRecorded: what to tell the operator, naming the certificate
    // and serial, with the next step as hint.
    std::optional<core::Error> error;

    bool revoked_at_ca() const {
        return result == RevokeResult::Revoked || result == RevokeResult::RevokedNotRecorded;
    }
};

// The hosts that serve (or, unprobed, have deployed) `serial` of `cert`, as
// `status` sees them (one connection per host, in parallel).
std::vector<std::string> hosts_serving(const inventory::Inventory& inv, const state::Store& store,
                                       const state::Ledger& ledger, const std::string& cert,
                                       const std::string& serial);

// Where the ACME client comes from: an AcmeSession (connected and with an
// account on first use), or a client over a fake CA in tests.
using AcmeClientSource = std::function<core::Result<acme::AcmeClient*>()>;

RevokeOutcome revoke_current(const state::Store& store, state::Ledger& ledger,
                             const RevokeRequest& request, const AcmeClientSource& client);

// The same with the inventory's CA and the store's accounts.
RevokeOutcome revoke_current(const inventory::Inventory& inv, const state::Store& store,
                             state::Ledger& ledger, const RevokeRequest& request,
                             const std::atomic<bool>* cancel);

}  // namespace certfleet::operations
