// RFC 8555 client. It owns the wire protocol and its politeness rules:
// a nonce pool with bounded retry on badNonce (and only on badNonce or
// transient server faults), exponential backoff, Retry-After honoured, and a
// rate-limit answer surfaced with its retry time instead of retried.
#pragma once

#include <atomic>
#include <chrono>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "acme/types.hpp"
#include "core/crypto.hpp"
#include "core/http.hpp"

namespace certfleet::acme {

struct ClientOptions {
    int max_bad_nonce_retries = 12;                 // per request; pebble in the lab rejects ~15%
    int max_transient_retries = 3;                  // 5xx answers and network faults, per request
    std::chrono::milliseconds first_backoff{1000};  // doubled each transient retry
    core::Seconds longest_wait{60};  // a Retry-After beyond this fails instead of sleeping
    std::chrono::milliseconds first_poll{150};  // authorization / order polling
    std::chrono::milliseconds longest_poll{5000};
    const std::atomic<bool>* cancel = nullptr;
    const core::Clock* clock = nullptr;  // default: system clock
};

struct NewAccountOptions {
    std::vector<std::string> contact;
    bool accept_terms = false;
    bool only_return_existing = false;
    std::string eab_kid;
    std::string eab_mac_key;  // raw bytes (decoded from base64url)
};

// How often a certificate's renewalInfo is asked for (RFC 9773 §4.3). The CA
// says so with Retry-After; without it certfleet waits 6 hours (a few polls
// a day catch a window moved for an incident). §4.3 asks clients to set
// "reasonable limits": under a minute is treated as a minute (a CA bug must
// not turn into a request per run), over a day as a day (a window can move
// earlier during an incident, e.g. a mass revocation, and must be seen soon).
constexpr core::Seconds kAriDefaultPoll{6 * 3600};
constexpr core::Seconds kAriShortestPoll{60};
constexpr core::Seconds kAriLongestPoll{86400};

enum class RevocationReason {
    Unspecified = 0,
    KeyCompromise = 1,
    Superseded = 4,
    CessationOfOperation = 5
};

class AcmeClient {
public:
    AcmeClient(core::HttpClient& http, std::string directory_url, ClientOptions options = {});

    core::Status connect();  // fetches the directory
    const Directory& directory() const { return m_directory; }

    // Registers (or, for a key already known to the CA, finds) the account and
    // remembers it for later requests. Returns the account URL.
    core::Result<std::string> register_account(const core::PrivateKey& key,
                                               const NewAccountOptions& options);
    void use_account(const core::PrivateKey& key, std::string account_url);
    const std::string& account_url() const { return m_account_url; }
    // RFC 7638 thumbprint of the account key, for key authorizations.
    std::string account_thumbprint() const {
        return m_key ? m_key->jwk_thumbprint() : std::string();
    }

    // RFC 9773: GET <renewalInfo>/<cert_id> (unauthenticated, no nonce; needs
    // only connect()). Transient faults are retried like any request; a CA
    // without renewalInfo, a 4xx (404: the CA does not know the certificate)
    // or a malformed window is an error and the caller uses its own rule.
    // retry_after is the answer's Retry-After clamped as described above.
    core::Result<RenewalInfo> renewal_info(const std::string& cert_id);

    core::Result<Order> new_order(const std::vector<std::string>& domains,
                                  const std::string& profile, const std::string& replaces);
    core::Result<Order> get_order(const std::string& url);
    core::Result<Authorization> get_authorization(const std::string& url);
    core::Status answer_challenge(const Challenge& challenge);
    core::Status deactivate_authorization(const std::string& url);
    // Polls until the authorization leaves "pending" or the deadline passes.
    core::Result<Authorization> wait_authorization(const std::string& url,
                                                   std::chrono::steady_clock::time_point deadline);
    // Sends the CSR and polls until the order is "valid" (or fails).
    core::Result<Order> finalize(const Order& order, const std::string& csr_der,
                                 std::chrono::steady_clock::time_point deadline);
    core::Result<std::string> download_certificate(const std::string& url);
    core::Status revoke(const std::string& cert_der, RevocationReason reason);
    // Account key rollover; on success the client signs with the new key.
    core::Status change_key(const core::PrivateKey& new_key);

private:
    core::Result<core::HttpResponse> post(const std::string& url,
                                          const std::optional<nlohmann::json>& payload,
                                          const std::string& what, bool identify_by_jwk = false);
    core::Result<core::HttpResponse> send_with_retries(const core::HttpRequest& req,
                                                       const std::string& what);
    core::Result<std::string> take_nonce();
    void keep_nonce(const core::HttpResponse& response);
    core::Result<nlohmann::json> json_body(const core::HttpResponse& r, const std::string& what);
    struct JsonReply {
        core::HttpResponse response;
        nlohmann::json body;
    };
    // post() whose answer must be a JSON object (orders, authorizations, accounts).
    core::Result<JsonReply> post_for_json(const std::string& url,
                                          const std::optional<nlohmann::json>& payload,
                                          const std::string& what);
    bool sleep(std::chrono::milliseconds d) const;
    core::TimePoint now() const;
    std::chrono::milliseconds poll_delay(const core::HttpResponse& r, int attempt) const;

    core::HttpClient& m_http;
    std::string m_directory_url;
    ClientOptions m_options;
    Directory m_directory;
    std::optional<core::PrivateKey> m_key;
    std::string m_account_url;
    std::mutex m_nonce_mutex;
    std::vector<std::string> m_nonces;
};

}  // namespace certfleet::acme
