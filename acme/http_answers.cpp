#include "acme/http_answers.hpp"

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

}  // namespace certfleet::acme::detail
