#include "operations/revoke.hpp"

#include <array>
#include <utility>

#include "core/enum_names.hpp"
#include "operations/acme_session.hpp"
#include "operations/fleet_status.hpp"

namespace certfleet::operations {

namespace {

constexpr core::EnumNames<acme::RevocationReason> kReasons[] = {
    {acme::RevocationReason::Unspecified, "unspecified"},
    {acme::RevocationReason::KeyCompromise, "keyCompromise"},
    {acme::RevocationReason::Superseded, "superseded"},
    {acme::RevocationReason::CessationOfOperation, "cessationOfOperation"},
};

core::Status revoke_at_ca(const state::StoredVersion& current, acme::RevocationReason reason,
                          const AcmeClientSource& client_source) {
    auto client = client_source();
    if (!client)
        return client.failure();
    auto der = core::certificate_der(current.cert_pem);
    if (!der)
        return der.failure();
    return (*client)->revoke(*der, reason);
}

// `issue` finds revocations by this event's version column.
core::Status record_revocation(state::Ledger& ledger, const RevokeRequest& request,
                               const state::StoredVersion& current) {
    const std::string reason(revocation_reason_name(request.reason));
    return ledger.record_event(
        {request.certificate, "", state::EventKind::Revoked, current.version,
         "serial " + current.info.serial_hex + " version " + current.version + " reason " + reason,
         core::SystemClock().now()});
}

// The CA revoked it but certfleet does not know: until it does, `issue`
// would not replace the certificate and hosts keep serving a revoked one.
core::Error not_recorded_error(const RevokeOutcome& outcome, const state::Ledger& ledger,
                               const core::Error& cause) {
    return core::make_error(
        cause.kind,
        "certificate '" + outcome.certificate + "' (serial " + outcome.serial +
            ") was revoked at the CA, but certfleet could not record the revocation in its "
            "ledger " +
            ledger.path() + ": " + cause.message,
        "do not revoke it again (the CA already did); fix the ledger (" + ledger.path() +
            "), then run `certfleet renew --force " + outcome.certificate +
            "`: without the record, issue and renew do not know it is revoked and would not "
            "replace it");
}

}  // namespace

const std::vector<std::string>& revocation_reason_names() {
    static const std::vector<std::string> names = [] {
        std::vector<std::string> out;
        for (const auto& [_, name] : kReasons)
            out.emplace_back(name);
        return out;
    }();
    return names;
}

std::optional<acme::RevocationReason> parse_revocation_reason(std::string_view name) {
    return core::enum_from_name(kReasons, name);
}

std::string_view revocation_reason_name(acme::RevocationReason reason) {
    return core::enum_name(kReasons, reason, "unspecified");
}

std::vector<std::string> hosts_serving(const inventory::Inventory& inv, const state::Store& store,
                                       const state::Ledger& ledger, const std::string& cert,
                                       const std::string& serial) {
    std::vector<std::string> out;
    if (serial.empty())
        return out;
    auto status = collect_host_status(inv, store, ledger, {cert}, 32);
    for (const auto& h : status[cert])
        if (h.served_serial == serial || (h.served_serial.empty() && h.deployed_serial == serial))
            out.push_back(h.host);
    return out;
}

RevokeOutcome revoke_current(const state::Store& store, state::Ledger& ledger,
                             const RevokeRequest& request, const AcmeClientSource& client) {
    RevokeOutcome outcome;
    outcome.certificate = request.certificate;
    auto current = store.current(request.certificate);
    if (!current)
        return outcome;  // NeverIssued
    outcome.serial = current->info.serial_hex;
    outcome.version = current->version;
    if (auto revoked = revoke_at_ca(*current, request.reason, client); !revoked) {
        outcome.result = RevokeResult::CaFailed;
        outcome.error = revoked.error();
        return outcome;
    }
    outcome.result = RevokeResult::Revoked;
    if (auto recorded = record_revocation(ledger, request, *current); !recorded) {
        outcome.result = RevokeResult::RevokedNotRecorded;
        outcome.error = not_recorded_error(outcome, ledger, recorded.error());
    }
    return outcome;
}

RevokeOutcome revoke_current(const inventory::Inventory& inv, const state::Store& store,
                             state::Ledger& ledger, const RevokeRequest& request,
                             const std::atomic<bool>* cancel) {
    AcmeSession session(inv, store.accounts_dir(), cancel);
    return revoke_current(store, ledger, request, [&session] { return session.client(); });
}

}  // namespace certfleet::operations
