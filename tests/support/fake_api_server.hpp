// A local HTTP/1.1 API server for the tests of DNS providers whose real
// service cannot be reached from the test machine (Cloudflare, Route 53,
// acme-dns). It parses each request (method, path, query, headers, body),
// hands it to the test's handler, sends the handler's answer and keeps the
// connection open as a real API does (curl reuses it). Every request is
// recorded, so a test can count calls and read what was sent.
//
// The handler is where a test implements the API subset and checks
// authentication exactly as the real service does (a bearer token, a SigV4
// signature recomputed from the known secret).
#pragma once

#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "support/hostile_peer.hpp"

namespace certfleet::test {

struct ApiRequest {
    std::string method;
    std::string target;  // as sent: "/client/v4/zones?name=example.org"
    std::string path;    // before '?'
    std::string query;   // after '?', still percent-encoded ("" when none)
    // Header names lowercased; values as sent with surrounding blanks trimmed.
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;

    std::string header(const std::string& lowercase_name) const {
        for (const auto& [name, value] : headers)
            if (name == lowercase_name)
                return value;
        return "";
    }
    // A query parameter's raw (percent-encoded) value, "" when absent.
    std::string param(const std::string& name) const {
        std::size_t at = 0;
        while (at <= query.size()) {
            const std::size_t end = std::min(query.find('&', at), query.size());
            const std::string pair = query.substr(at, end - at);
            const std::size_t eq = pair.find('=');
            if (pair.substr(0, eq) == name)
                return eq == std::string::npos ? "" : pair.substr(eq + 1);
            at = end + 1;
        }
        return "";
    }
};

struct ApiResponse {
    ApiResponse(int status_code = 200,
                std::string response_body = {},  // NOLINT: implicit on purpose
                std::vector<std::string> extra_headers = {}, std::string type = "application/json")
        : status(status_code),
          body(std::move(response_body)),
          headers(std::move(extra_headers)),
          content_type(std::move(type)) {}

    int status;
    std::string body;
    std::vector<std::string> headers;  // "Name: value"
    std::string content_type;
};

class FakeApiServer {
public:
    using Handler = std::function<ApiResponse(const ApiRequest&)>;

    explicit FakeApiServer(Handler handler)
        : m_handler(std::move(handler)),
          m_peer([this](hostile::Connection& c) { serve(c); }, 0, 256) {}

    std::string url(const std::string& path = "") const {
        return "http://127.0.0.1:" + std::to_string(m_peer.port()) + path;
    }
    std::string host() const { return "127.0.0.1:" + std::to_string(m_peer.port()); }

    std::vector<ApiRequest> requests() const {
        std::lock_guard lock(m_mutex);
        return m_requests;
    }
    std::size_t count(const std::string& method, const std::string& path_prefix = "") const {
        std::lock_guard lock(m_mutex);
        std::size_t n = 0;
        for (const auto& r : m_requests)
            if (r.method == method && r.path.starts_with(path_prefix))
                ++n;
        return n;
    }

private:
    void serve(hostile::Connection& c) {
        for (;;) {
            auto request = read_request(c);
            if (!request)
                return;
            ApiResponse response;
            {
                // One request at a time, as the handlers keep state (zones,
                // records) without locks of their own.
                std::lock_guard lock(m_handler_mutex);
                response = m_handler(*request);
            }
            {
                std::lock_guard lock(m_mutex);
                m_requests.push_back(*request);
            }
            if (!c.send(render(response)))
                return;
        }
    }

    static std::optional<ApiRequest> read_request(hostile::Connection& c) {
        const std::string head = c.read_until("\r\n\r\n", 64 * 1024);
        if (!head.ends_with("\r\n\r\n"))
            return std::nullopt;
        ApiRequest r;
        const std::size_t line_end = head.find("\r\n");
        const std::string line = head.substr(0, line_end);
        const std::size_t sp1 = line.find(' ');
        const std::size_t sp2 = line.find(' ', sp1 + 1);
        r.method = line.substr(0, sp1);
        r.target = line.substr(sp1 + 1, sp2 - sp1 - 1);
        const std::size_t q = r.target.find('?');
        r.path = r.target.substr(0, q);
        r.query = q == std::string::npos ? "" : r.target.substr(q + 1);
        std::size_t at = line_end + 2;
        while (at < head.size()) {
            const std::size_t end = head.find("\r\n", at);
            if (end == at || end == std::string::npos)
                break;
            const std::string field = head.substr(at, end - at);
            const std::size_t colon = field.find(':');
            if (colon != std::string::npos) {
                std::string name = field.substr(0, colon);
                for (char& ch : name)
                    ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
                std::string value = field.substr(colon + 1);
                value.erase(0, value.find_first_not_of(" \t"));
                value.erase(value.find_last_not_of(" \t") + 1);
                r.headers.emplace_back(std::move(name), std::move(value));
            }
            at = end + 2;
        }
        if (const std::string length = r.header("content-length"); !length.empty())
            r.body = c.read_exact(std::stoul(length));
        return r;
    }

    static std::string render(const ApiResponse& response) {
        std::string out = "HTTP/1.1 " + std::to_string(response.status) + " Status\r\n";
        out += "Content-Type: " + response.content_type + "\r\n";
        out += "Content-Length: " + std::to_string(response.body.size()) + "\r\n";
        for (const auto& h : response.headers)
            out += h + "\r\n";
        return out + "\r\n" + response.body;
    }

    Handler m_handler;
    mutable std::mutex m_mutex;
    std::mutex m_handler_mutex;
    std::vector<ApiRequest> m_requests;
    hostile::TcpPeer m_peer;  // last: its threads stop before the rest goes
};

}  // namespace certfleet::test
