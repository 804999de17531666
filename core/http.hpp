// A small HTTP client over libcurl. One interface so tests can swap in a fake
// CA; the libcurl implementation keeps a pool of easy handles so concurrent
// issuances reuse TLS connections without serializing on one handle.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "core/result.hpp"
#include "core/time.hpp"

namespace certfleet::core {

struct HttpRequest {
    std::string method = "GET";  // GET, HEAD, POST, PATCH, PUT, DELETE
    std::string url;
    std::vector<std::string> headers;  // "Name: value"
    std::string body;
    // The URL itself is a credential (a chat webhook's token, ?key=): errors
    // and logs then name redact_url(url), and libcurl's text is scrubbed.
    bool secret_url = false;
};

// "https://user:pw@hooks.slack.com/services/T0/B0/token?x#y" ->
// "https://hooks.slack.com/services/…": no userinfo, query or fragment, and
// of the path only its first segment (chat webhooks keep their secret in it).
std::string redact_url(const std::string& url);

struct HttpResponse {
    int status = 0;
    std::vector<std::pair<std::string, std::string>> headers;  // names lowercased
    std::string body;

    // First header with this (lowercase) name, or "".
    std::string header(std::string_view name) const;
    std::vector<std::string> all_headers(std::string_view name) const;
    // Retry-After as seconds from now (delta-seconds or HTTP-date), if present.
    std::optional<long> retry_after(TimePoint now) const;
};

struct HttpOptions {
    std::string ca_bundle;  // extra trust added to the system store (empty: none)
    Seconds connect_timeout{10};
    Seconds total_timeout{60};  // the whole request, whatever the pace
    // Slower than stall_bytes_per_second for stall_timeout: the peer stalled
    // (accepted and went quiet, or drips bytes) and the request fails.
    Seconds stall_timeout{30};
    long stall_bytes_per_second = 1;
    size_t max_body_bytes = 4 * 1024 * 1024;  // a CA never needs more; a bigger body is hostile
    std::string user_agent = "certfleet/0.1";
};

class HttpClient {
public:
    virtual ~HttpClient() = default;
    // Transport errors (DNS, refused, TLS, timeout) are failures; any HTTP
    // status, including 4xx/5xx, is a response.
    virtual Result<HttpResponse> send(const HttpRequest& request) = 0;
};

// Makes a libcurl easy handle (CURL*) trust the PEM certificates in `pem` on
// top of the system store (CURLOPT_CAINFO would replace the store instead).
// `pem` must outlive the handle's transfers. Shared by the HTTP and SMTP clients.
void set_extra_trust(void* curl, const std::string& pem);

class CurlHttpClient final : public HttpClient {
public:
    explicit CurlHttpClient(HttpOptions options);
    ~CurlHttpClient() override;
    CurlHttpClient(const CurlHttpClient&) = delete;
    CurlHttpClient& operator=(const CurlHttpClient&) = delete;

    Result<HttpResponse> send(const HttpRequest& request) override;

    // Must be called once before any thread uses libcurl (from main()).
    static void global_init();

private:
    void* acquire_handle();
    void release_handle(void* handle);

    HttpOptions m_options;
    std::string m_extra_ca_pem;  // loaded once; added to each TLS context
    std::mutex m_mutex;
    std::vector<void*> m_idle;  // CURL* handles kept for connection reuse
};

}  // namespace certfleet::core
