// The connection to the CA for one certfleet invocation, opened on first use
// so that a run with nothing due sends no request at all.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>

#include "acme/client.hpp"
#include "core/http.hpp"
#include "inventory/model.hpp"

namespace certfleet::app {

class AcmeSession {
public:
    AcmeSession(const inventory::Inventory& inventory, std::string accounts_root,
                const std::atomic<bool>* cancel);

    // Connects, registers or finds the account; cached after the first call.
    core::Result<acme::AcmeClient*> client();

private:
    const inventory::Inventory& m_inventory;
    std::string m_accounts_root;
    const std::atomic<bool>* m_cancel;
    std::mutex m_mutex;
    std::unique_ptr<core::CurlHttpClient> m_http;
    std::unique_ptr<acme::AcmeClient> m_client;
    std::optional<core::Error> m_failed;  // don't hammer a CA that already failed this run
};

}  // namespace certfleet::app
