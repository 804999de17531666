// Crash recovery. A run can die anywhere (SIGKILL, the OOM killer, a power
// cut) with no chance to clean up; what it leaves behind is repaired by the
// next run that holds the state lock, before it plans anything:
//   - DNS-01 TXT records it published and never removed. Every record is
//     remembered in the ledger before the DNS update is sent
//     (RememberingProvider) and forgotten once removed, so the next run knows
//     exactly which values are ours to delete — never anyone else's.
//   - An ACME order it created and never finished: its pending
//     authorizations are deactivated, as a failed issuance does with its own.
//     The order is not resumed: the next run often needs no certificate at
//     all (a forced renewal, or the version was stored before the kill), and
//     when it does, one new order through the one issuance path is simpler
//     than resuming an order whose key (bound at finalize) may be lost.
//   - A store version made current whose ledger row was never written (the
//     store and the ledger are two writes; the store is written first, so it
//     is the truth and the ledger catches up).
// Everything else is safe by construction: versions appear by rename only,
// `current` moves by rename only, hosts are converged by the next deploy.
#pragma once

#include <mutex>
#include <string>

#include "acme/dns/provider.hpp"
#include "operations/acme_session.hpp"
#include "operations/dns_wiring.hpp"
#include "operations/issue.hpp"

namespace certfleet::operations {

// Wraps a certificate's DNS provider for one issuance: remembers records in
// the ledger before present() sends them, forgets them after cleanup()
// removed them. A record that cannot be remembered is not published.
class RememberingProvider final : public acme::dns::DnsProvider {
public:
    RememberingProvider(acme::dns::DnsProvider& inner, state::Ledger& ledger,
                        std::mutex& ledger_mutex, std::string cert, std::string provider_name,
                        const core::Clock& clock);

    core::Status present(const std::vector<acme::dns::ChallengeRecord>& records) override;
    core::Status cleanup(const std::vector<acme::dns::ChallengeRecord>& records) override;
    core::Seconds timeout() const override { return m_inner.timeout(); }
    std::string describe() const override { return m_inner.describe(); }

private:
    std::vector<state::PublishedChallenge> entries(
        const std::vector<acme::dns::ChallengeRecord>& records) const;

    acme::dns::DnsProvider& m_inner;
    state::Ledger& m_ledger;
    std::mutex& m_ledger_mutex;  // the ledger's connection is shared by the issuing threads
    std::string m_cert;
    std::string m_provider;
    const core::Clock& m_clock;
};

// Remembers the order of one issuance in the ledger from the moment the CA
// created it until this object goes away (the issuance ended either way; a
// failed one deactivates its own pending authorizations).
class RememberedOrder {
public:
    RememberedOrder(state::Ledger& ledger, std::mutex& ledger_mutex, std::string cert,
                    const core::Clock& clock)
        : m_ledger(ledger), m_ledger_mutex(ledger_mutex), m_cert(std::move(cert)), m_clock(clock) {}
    ~RememberedOrder();
    RememberedOrder(const RememberedOrder&) = delete;
    RememberedOrder& operator=(const RememberedOrder&) = delete;

    void created(const std::string& order_url);

private:
    state::Ledger& m_ledger;
    std::mutex& m_ledger_mutex;
    std::string m_cert;
    const core::Clock& m_clock;
    std::string m_url;
};

// Removes the challenge records earlier runs left behind, cleans up their
// open orders (a failure of either is logged and retried by the next run) and
// records missing ledger rows of current store versions. Contacts DNS or the
// CA only when there is something to clean up. Call with the state lock
// held, never in a dry run.
void recover_interrupted_runs(Context& ctx, DnsWiring& dns, AcmeSession& session);

}  // namespace certfleet::operations
