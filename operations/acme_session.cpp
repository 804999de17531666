#include "operations/acme_session.hpp"

#include "acme/account.hpp"
#include "inventory/load.hpp"

namespace certfleet::operations {

AcmeSession::AcmeSession(const inventory::Inventory& inventory, std::string accounts_root,
                         const std::atomic<bool>* cancel)
    : m_inventory(inventory), m_accounts_root(std::move(accounts_root)), m_cancel(cancel) {}

core::Status AcmeSession::connect_locked() {
    if (m_client)
        return {};
    if (m_connect_failed)
        return core::fail(*m_connect_failed);
    const auto& cfg = m_inventory.acme;
    core::HttpOptions http;
    http.ca_bundle = cfg.ca_bundle;
    m_http = std::make_unique<core::CurlHttpClient>(http);
    acme::ClientOptions options;
    options.cancel = m_cancel;
    auto client = std::make_unique<acme::AcmeClient>(*m_http, cfg.directory, options);
    if (auto s = client->connect(); !s) {
        m_connect_failed = s.error();
        return s;
    }
    m_client = std::move(client);
    return {};
}

core::Result<acme::RenewalInfo> AcmeSession::renewal_info(const std::string& cert_id) {
    acme::AcmeClient* client = nullptr;
    {
        std::lock_guard lock(m_mutex);
        if (auto s = connect_locked(); !s)
            return s.failure();
        client = m_client.get();
    }
    // renewal_info() only reads the directory and sends through the pooled,
    // thread-safe HTTP client: no lock needed while it waits on the network.
    return client->renewal_info(cert_id);
}

std::optional<bool> AcmeSession::offers_renewal_info() {
    std::lock_guard lock(m_mutex);
    if (!m_client)
        return std::nullopt;
    return !m_client->directory().renewal_info.empty();
}

core::Result<acme::AcmeClient*> AcmeSession::client() {
    std::lock_guard lock(m_mutex);
    if (m_account_ready)
        return m_client.get();
    if (m_failed)
        return core::fail(*m_failed);

    auto attempt = [&]() -> core::Status {
        if (auto s = connect_locked(); !s)
            return s;
        const auto& cfg = m_inventory.acme;
        acme::NewAccountOptions account;
        account.contact = cfg.contact;
        account.accept_terms = cfg.accept_terms;
        if (cfg.eab) {
            auto secret = inventory::read_secret(cfg.eab->hmac_key_file,
                                                 /*base_dir=*/"");  // resolved at load time
            if (!secret)
                return secret.failure();
            auto mac = core::base64url_decode(*secret);
            if (!mac)
                return core::fail(core::ErrorKind::Config,
                                  "acme.eab.hmac_key_file does not hold a base64url key",
                                  "paste the HMAC key exactly as the CA shows it");
            account.eab_kid = cfg.eab->kid;
            account.eab_mac_key = *mac;
        }
        std::string dir = acme::account_dir(m_accounts_root, cfg.directory);
        if (auto s = acme::ensure_account(*m_client, dir, cfg.account_key, account); !s)
            return s;
        m_account_ready = true;
        return {};
    };
    if (auto s = attempt(); !s) {
        m_failed = s.error();
        return s.failure();
    }
    return m_client.get();
}

}  // namespace certfleet::operations
