#include "core/http.hpp"

#include <algorithm>
#include <cctype>

#include <curl/curl.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <spdlog/spdlog.h>

#include "core/crypto_internal.hpp"
#include "core/fs.hpp"
#include "core/strings.hpp"

namespace certfleet::core {

namespace {

struct Transfer {
    HttpResponse* response;
    size_t max_body;
    bool too_large = false;
    // libcurl 7.88 takes a connection closed in the middle of the header
    // block for a complete response (status 200, no body): remember whether
    // the blank line that ends the headers came.
    bool headers_complete = false;
};

size_t on_body(char* data, size_t size, size_t count, void* user) {
    auto* t = static_cast<Transfer*>(user);
    size_t n = size * count;
    if (t->response->body.size() + n > t->max_body) {
        t->too_large = true;
        return 0;  // aborts the transfer
    }
    t->response->body.append(data, n);
    return n;
}

size_t on_header(char* data, size_t size, size_t count, void* user) {
    auto* t = static_cast<Transfer*>(user);
    size_t n = size * count;
    std::string_view line(data, n);
    if (line.starts_with("HTTP/")) {
        t->response->headers.clear();  // a new response (after 100-continue or redirect)
        t->headers_complete = false;
        return n;
    }
    if (line == "\r\n" || line == "\n") {
        t->headers_complete = true;
        return n;
    }
    auto colon = line.find(':');
    if (colon != std::string_view::npos) {
        if (t->response->headers.size() >= 200)
            return 0;  // hostile header flood
        t->response->headers.emplace_back(lower(std::string(line.substr(0, colon))),
                                          trim(line.substr(colon + 1)));
    }
    return n;
}

// Adds the operator's extra CA certificates to libcurl's TLS context, on top
// of the system store (CURLOPT_CAINFO would replace it instead).
CURLcode add_extra_trust(CURL*, void* ssl_ctx, void* user) {
    const auto* pem = static_cast<const std::string*>(user);
    X509_STORE* store = SSL_CTX_get_cert_store(static_cast<SSL_CTX*>(ssl_ctx));
    auto added = detail::add_trusted_certificates(store, *pem);
    if (!added) {
        spdlog::error("ca_bundle: {}", added.error().message);
        return CURLE_SSL_CACERT_BADFILE;
    }
    return CURLE_OK;
}

}  // namespace

void set_extra_trust(void* curl, const std::string& pem) {
    if (pem.empty())
        return;
    curl_easy_setopt(static_cast<CURL*>(curl), CURLOPT_SSL_CTX_FUNCTION, add_extra_trust);
    curl_easy_setopt(static_cast<CURL*>(curl), CURLOPT_SSL_CTX_DATA, &pem);
}

std::string HttpResponse::header(std::string_view name) const {
    for (const auto& [k, v] : headers)
        if (k == name)
            return v;
    return {};
}

std::vector<std::string> HttpResponse::all_headers(std::string_view name) const {
    std::vector<std::string> out;
    for (const auto& [k, v] : headers)
        if (k == name)
            out.push_back(v);
    return out;
}

std::optional<long> HttpResponse::retry_after(TimePoint now) const {
    std::string v = header("retry-after");
    if (v.empty())
        return std::nullopt;
    if (std::all_of(v.begin(), v.end(), [](unsigned char c) { return std::isdigit(c); })) {
        if (v.size() > 9)
            return std::nullopt;
        return std::stol(v);
    }
    time_t when = curl_getdate(v.c_str(), nullptr);
    if (when < 0)
        return std::nullopt;
    long delta = static_cast<long>(when - now.time_since_epoch().count());
    return std::max(0L, delta);
}

void CurlHttpClient::global_init() {
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

CurlHttpClient::CurlHttpClient(HttpOptions options) : m_options(std::move(options)) {
    // Unreadable (or not a regular file): no extra trust, so TLS to a
    // private CA fails and names acme.ca_bundle as the next step.
    if (!m_options.ca_bundle.empty())
        if (auto pem = read_file(m_options.ca_bundle, 4 * 1024 * 1024))
            m_extra_ca_pem = std::move(*pem);
}

CurlHttpClient::~CurlHttpClient() {
    for (void* h : m_idle)
        curl_easy_cleanup(static_cast<CURL*>(h));
}

void* CurlHttpClient::acquire_handle() {
    {
        std::lock_guard lock(m_mutex);
        if (!m_idle.empty()) {
            void* h = m_idle.back();
            m_idle.pop_back();
            return h;
        }
    }
    return curl_easy_init();
}

void CurlHttpClient::release_handle(void* handle) {
    std::lock_guard lock(m_mutex);
    m_idle.push_back(handle);
}

std::string redact_url(const std::string& url) {
    auto scheme_end = url.find("://");
    if (scheme_end == std::string::npos)
        return url.substr(0, url.find_first_of("?#"));
    size_t authority_start = scheme_end + 3;
    size_t authority_end = url.find_first_of("/?#", authority_start);
    std::string authority = url.substr(authority_start, authority_end == std::string::npos
                                                            ? std::string::npos
                                                            : authority_end - authority_start);
    if (auto at = authority.rfind('@'); at != std::string::npos)
        authority = authority.substr(at + 1);  // user:password
    std::string path;
    if (authority_end != std::string::npos && url[authority_end] == '/') {
        auto path_end = url.find_first_of("?#", authority_end);
        path = url.substr(authority_end, path_end == std::string::npos ? std::string::npos
                                                                       : path_end - authority_end);
        // Chat webhooks carry their secret in the path (Slack's
        // /services/T../B../<token>, Discord's /api/webhooks/<id>/<token>):
        // only the first segment is shown.
        if (auto second = path.find('/', 1);
            second != std::string::npos && second + 1 < path.size())
            path = path.substr(0, second) + "/…";
    }
    return url.substr(0, authority_start) + authority + path;
}

namespace {

// libcurl's error text may quote the URL, or parts of it.
std::string scrub_url(std::string text, const HttpRequest& request, const std::string& shown) {
    if (!request.secret_url)
        return text;
    for (auto at = text.find(request.url); at != std::string::npos;
         at = text.find(request.url, at + shown.size()))
        text.replace(at, request.url.size(), shown);
    const auto scheme = request.url.find("://");
    const auto path =
        request.url.find_first_of("/?#", scheme == std::string::npos ? 0 : scheme + 3);
    if (path != std::string::npos && request.url.size() - path > 1)
        for (auto at = text.find(request.url.substr(path)); at != std::string::npos;
             at = text.find(request.url.substr(path), at + std::string_view("/…").size()))
            text.replace(at, request.url.size() - path, "/…");
    return text;
}

}  // namespace

Result<HttpResponse> CurlHttpClient::send(const HttpRequest& request) {
    CURL* curl = static_cast<CURL*>(acquire_handle());
    if (!curl)
        return fail(ErrorKind::Generic, "libcurl could not allocate a handle");
    curl_easy_reset(curl);

    HttpResponse response;
    Transfer transfer{&response, m_options.max_body_bytes};
    char error_buffer[CURL_ERROR_SIZE] = {0};
    curl_slist* header_list = nullptr;
    for (const auto& h : request.headers)
        header_list = curl_slist_append(header_list, h.c_str());

    curl_easy_setopt(curl, CURLOPT_URL, request.url.c_str());
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error_buffer);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "https,http");
    curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);  // ACME never needs redirects
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT,
                     static_cast<long>(m_options.connect_timeout.count()));
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, static_cast<long>(m_options.total_timeout.count()));
    curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, m_options.stall_bytes_per_second);
    curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME,
                     static_cast<long>(m_options.stall_timeout.count()));
    curl_easy_setopt(curl, CURLOPT_USERAGENT, m_options.user_agent.c_str());
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, header_list);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &transfer);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, &transfer);
    set_extra_trust(curl, m_extra_ca_pem);
    if (request.method == "HEAD") {
        curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
    } else if (request.method != "GET") {
        // POST, and the verbs DNS APIs use (PATCH, PUT, DELETE) with their body.
        curl_easy_setopt(curl, CURLOPT_POST, 1L);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, request.body.data());
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, static_cast<long>(request.body.size()));
        if (request.method != "POST")
            curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, request.method.c_str());
    }

    CURLcode rc = curl_easy_perform(curl);
    long status = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(header_list);
    release_handle(curl);

    const std::string shown = request.secret_url ? redact_url(request.url) : request.url;
    if (transfer.too_large)
        return fail(ErrorKind::Protocol, request.method + " " + shown + ": response larger than " +
                                             std::to_string(m_options.max_body_bytes) +
                                             " bytes; refusing it");
    if (rc != CURLE_OK) {
        const std::string detail =
            scrub_url(error_buffer[0] ? error_buffer : curl_easy_strerror(rc), request, shown);
        ErrorKind kind = rc == CURLE_OPERATION_TIMEDOUT ? ErrorKind::Timeout : ErrorKind::Network;
        std::string hint;
        if (rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_SSL_CACERT_BADFILE)
            hint = "the server's TLS certificate is not trusted: set acme.ca_bundle to its CA";
        else if (rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST)
            hint = "check the URL and that the server is reachable from this machine";
        else if (rc == CURLE_OPERATION_TIMEDOUT)
            hint =
                "the server accepted the connection but stalled; check that it (or a proxy "
                "in front of it) is healthy; the next run tries again";
        return fail(kind, request.method + " " + shown + " failed: " + detail, hint);
    }
    if (!transfer.headers_complete)
        return fail(ErrorKind::Network, request.method + " " + shown +
                                            " failed: the server closed the connection in the "
                                            "middle of the response headers");
    response.status = static_cast<int>(status);
    spdlog::debug("{} {} -> {}", request.method, shown, response.status);
    return response;
}

}  // namespace certfleet::core
