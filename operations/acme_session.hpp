// The connection to the CA for one certfleet invocation, opened on first use
// so that a run with nothing due sends no request at all.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "acme/client.hpp"
#include "core/http.hpp"
#include "inventory/model.hpp"

namespace certfleet::operations {

class AcmeSession {
public:
    AcmeSession(const inventory::Inventory& inventory, std::string accounts_root,
                const std::atomic<bool>* cancel);

    // Connects, registers or finds the account; cached after the first call.
    core::Result<acme::AcmeClient*> client();

    // The CA's ACME Renewal Information (RFC 9773) for one certificate. Only
    // fetches the directory (cached): polling ARI needs no account, so a run
    // that merely polls never registers or looks one up. Fails without any
    // further request once the CA proved not to offer renewalInfo this run.
    core::Result<acme::RenewalInfo> renewal_info(const std::string& cert_id);
    // After a connection: whether the directory lists renewalInfo; nullopt
    // when the directory has not been fetched (or could not be).
    std::optional<bool> offers_renewal_info();

private:
    // Caller holds m_mutex. Creates m_client and fetches the directory once.
    core::Status connect_locked();

    const inventory::Inventory& m_inventory;
    std::string m_accounts_root;
    const std::atomic<bool>* m_cancel;
    std::mutex m_mutex;
    std::unique_ptr<core::CurlHttpClient> m_http;
    std::unique_ptr<acme::AcmeClient> m_client;  // connected (directory fetched)
    bool m_account_ready = false;
    std::optional<core::Error> m_connect_failed;  // don't hammer a CA that already failed
    std::optional<core::Error> m_failed;          // account set-up failed this run
};

}  // namespace certfleet::operations
