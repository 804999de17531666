#include "acme/http_answers.hpp"

#include <algorithm>

#include "core/process.hpp"

namespace certfleet::acme::detail {

std::optional<core::Error> redirect_error(const core::HttpRequest& request,
                                          const core::HttpResponse& response,
                                          const std::string& what) {
    if (response.status < 300 || response.status > 399)
        return std::nullopt;
    const std::string location = response.header("location");
    return core::make_error(
        core::ErrorKind::Protocol,
        what + ": the CA redirected " + request.method + " " + request.url + " to " +
            (location.empty() ? "nowhere" : core::summarize_output(location, 200)) + " (HTTP " +
            std::to_string(response.status) + "); certfleet does not follow redirects",
        "set acme.directory to the URL the CA documents; if it moved, to where it points now");
}

core::Error not_json_error(const core::HttpResponse& response, const std::string& what) {
    std::string type = response.header("content-type");
    if (type.empty())
        type = "no Content-Type";
    const std::string start = core::summarize_output(response.body, 80);
    return core::make_error(core::ErrorKind::Protocol,
                            what + ": the CA's answer is not JSON (HTTP " +
                                std::to_string(response.status) + ", " +
                                core::summarize_output(type, 80) + ")" +
                                (start.empty() ? ": it is empty" : ": " + start),
                            "check acme.directory points at an ACME server");
}

bool worth_retrying(const core::Error& error) {
    return error.kind == core::ErrorKind::Network || error.kind == core::ErrorKind::Timeout;
}

namespace {

bool printable_ascii(std::string_view text) {
    return std::all_of(text.begin(), text.end(), [](char c) { return c > 0x20 && c < 0x7F; });
}

// "127.0.0.1", "127.1.2.3" (dotted quad in 127/8) or "[::1]".
bool loopback_ip(std::string_view host) {
    if (host == "[::1]")
        return true;
    if (!host.starts_with("127."))
        return false;
    int parts = 0;
    for (std::size_t start = 0; start <= host.size(); ++parts) {
        const std::size_t dot = std::min(host.find('.', start), host.size());
        const auto part = host.substr(start, dot - start);
        if (part.empty() || part.size() > 3 ||
            !std::all_of(part.begin(), part.end(), [](char c) { return c >= '0' && c <= '9'; }) ||
            std::stoi(std::string(part)) > 255)
            return false;
        start = dot + 1;
    }
    return parts == 4;
}

// The host of "http://HOST[:port][/path]".
std::string_view http_host(std::string_view url) {
    auto rest = url.substr(std::string_view("http://").size());
    rest = rest.substr(0, rest.find_first_of("/?#"));
    if (rest.starts_with("["))
        return rest.substr(0, rest.find(']') + 1);
    return rest.substr(0, rest.find(':'));
}

}  // namespace

core::Status check_ca_url(const std::string& url, const std::string& what) {
    if (!printable_ascii(url) || url.empty())
        return core::fail(core::ErrorKind::Protocol,
                          what + ": the CA gave a URL with spaces, control or non-ASCII bytes",
                          "the CA is misbehaving or something between it and certfleet "
                          "rewrites its answers; check acme.directory");
    if (url.starts_with("https://"))
        return {};
    if (url.starts_with("http://") && loopback_ip(http_host(url)))
        return {};
    return core::fail(
        core::ErrorKind::Protocol,
        what + ": the CA gave a URL that is not https: " + core::summarize_output(url, 200),
        "an ACME CA must be reached over https (plain http only to a loopback "
        "IP); check acme.directory");
}

bool valid_nonce(std::string_view nonce) {
    return !nonce.empty() && std::all_of(nonce.begin(), nonce.end(), [](char c) {
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
               c == '-' || c == '_';
    });
}

}  // namespace certfleet::acme::detail
