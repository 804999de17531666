#include "acme/dns/aws_sigv4.hpp"

#include <algorithm>
#include <cctype>
#include <map>
#include <utility>
#include <vector>

#include "core/crypto.hpp"

namespace certfleet::acme::dns::sigv4 {
namespace {

constexpr std::string_view kAlgorithm = "AWS4-HMAC-SHA256";

// The parts of a URL that take part in the signature.
struct UrlParts {
    std::string host;   // as the Host header carries it: default port left out
    std::string path;   // "/" when the URL has none
    std::string query;  // without '?'
};

std::string lowercase(std::string_view text) {
    std::string out(text);
    for (char& c : out)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

UrlParts split_url(std::string_view url) {
    const auto scheme_end = url.find("://");
    const std::string scheme =
        scheme_end == std::string_view::npos ? std::string() : lowercase(url.substr(0, scheme_end));
    std::string_view rest = scheme_end == std::string_view::npos ? url : url.substr(scheme_end + 3);
    rest = rest.substr(0, rest.find('#'));
    const auto target_start = rest.find_first_of("/?");
    std::string_view authority = rest.substr(0, target_start);
    if (const auto at = authority.rfind('@'); at != std::string_view::npos)
        authority = authority.substr(at + 1);
    UrlParts parts;
    parts.host = lowercase(authority);
    if ((scheme == "https" && parts.host.ends_with(":443")) ||
        (scheme == "http" && parts.host.ends_with(":80")))
        parts.host.erase(parts.host.rfind(':'));
    const std::string_view target =
        target_start == std::string_view::npos ? std::string_view{} : rest.substr(target_start);
    const auto question = target.find('?');
    parts.path = std::string(target.substr(0, question));
    if (parts.path.empty())
        parts.path = "/";
    if (question != std::string_view::npos)
        parts.query = std::string(target.substr(question + 1));
    return parts;
}

int hex_value(char c) {
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

// %XX sequences decoded; a '%' not followed by two hex digits is kept as is.
std::string percent_decode(std::string_view text) {
    std::string out;
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '%' && i + 2 < text.size() && hex_value(text[i + 1]) >= 0 &&
            hex_value(text[i + 2]) >= 0) {
            out += static_cast<char>(hex_value(text[i + 1]) * 16 + hex_value(text[i + 2]));
            i += 2;
        } else {
            out += text[i];
        }
    }
    return out;
}

// "Value  with   blanks " → "Value with blanks"
std::string canonical_header_value(std::string_view value) {
    std::string out;
    bool blank = false;
    for (char c : value) {
        if (c == ' ' || c == '\t') {
            blank = true;
            continue;
        }
        if (blank && !out.empty())
            out += ' ';
        blank = false;
        out += c;
    }
    return out;
}

bool has_header(const core::HttpRequest& request, std::string_view lowercase_name) {
    return std::any_of(request.headers.begin(), request.headers.end(), [&](const auto& h) {
        return lowercase(std::string_view(h).substr(0, h.find(':'))) == lowercase_name;
    });
}

void remove_header(core::HttpRequest& request, std::string_view lowercase_name) {
    std::erase_if(request.headers, [&](const std::string& h) {
        return lowercase(std::string_view(h).substr(0, h.find(':'))) == lowercase_name;
    });
}

}  // namespace

std::string amz_date(core::TimePoint time) {
    return core::format_compact_utc(time);
}

std::string uri_encode(std::string_view text) {
    static constexpr char kHex[] = "0123456789ABCDEF";
    std::string out;
    for (char c : text) {
        const auto byte = static_cast<unsigned char>(c);
        if (std::isalnum(byte) || c == '-' || c == '_' || c == '.' || c == '~') {
            out += c;
        } else {
            out += '%';
            out += kHex[byte >> 4];
            out += kHex[byte & 15];
        }
    }
    return out;
}

std::string canonical_query(std::string_view query) {
    std::vector<std::pair<std::string, std::string>> pairs;
    while (!query.empty()) {
        const auto end = query.find('&');
        const std::string_view pair = query.substr(0, end);
        query = end == std::string_view::npos ? std::string_view{} : query.substr(end + 1);
        if (pair.empty())
            continue;
        const auto eq = pair.find('=');
        pairs.emplace_back(
            uri_encode(percent_decode(pair.substr(0, eq))),
            eq == std::string_view::npos ? "" : uri_encode(percent_decode(pair.substr(eq + 1))));
    }
    std::sort(pairs.begin(), pairs.end());
    std::string out;
    for (const auto& [name, value] : pairs)
        out += (out.empty() ? "" : "&") + name + "=" + value;
    return out;
}

CanonicalRequest canonical_request(const core::HttpRequest& request) {
    const UrlParts url = split_url(request.url);
    std::map<std::string, std::vector<std::string>> headers;  // sorted by name
    for (const auto& line : request.headers) {
        const auto colon = line.find(':');
        const std::string name =
            lowercase(canonical_header_value(std::string_view(line).substr(0, colon)));
        if (colon == std::string::npos || name == "authorization")
            continue;  // the signature cannot sign itself
        headers[name].push_back(canonical_header_value(std::string_view(line).substr(colon + 1)));
    }
    std::string header_block;
    CanonicalRequest out;
    for (const auto& [name, values] : headers) {
        header_block += name + ":";
        for (std::size_t i = 0; i < values.size(); ++i)
            header_block += (i ? "," : "") + values[i];
        header_block += "\n";
        out.signed_headers += (out.signed_headers.empty() ? "" : ";") + name;
    }
    out.text = request.method + "\n" + url.path + "\n" + canonical_query(url.query) + "\n" +
               header_block + "\n" + out.signed_headers + "\n" +
               core::hex_encode(core::sha256(request.body));
    return out;
}

std::string credential_scope(std::string_view amz_date, std::string_view region,
                             std::string_view service) {
    return std::string(amz_date.substr(0, 8)) + "/" + std::string(region) + "/" +
           std::string(service) + "/aws4_request";
}

std::string string_to_sign(std::string_view amz_date, std::string_view scope,
                           std::string_view canonical_request_text) {
    return std::string(kAlgorithm) + "\n" + std::string(amz_date) + "\n" + std::string(scope) +
           "\n" + core::hex_encode(core::sha256(canonical_request_text));
}

std::string signing_key(std::string_view secret_access_key, std::string_view date,
                        std::string_view region, std::string_view service) {
    const std::string date_key = core::hmac_sha256("AWS4" + std::string(secret_access_key), date);
    const std::string region_key = core::hmac_sha256(date_key, region);
    const std::string service_key = core::hmac_sha256(region_key, service);
    return core::hmac_sha256(service_key, "aws4_request");
}

void sign_request(core::HttpRequest& request, const AwsCredentials& credentials,
                  std::string_view region, std::string_view service, std::string_view amz_date) {
    // A request signed before (a retry) gets a fresh date and signature.
    for (std::string_view name : {"authorization", "x-amz-date", "x-amz-security-token"})
        remove_header(request, name);
    if (!has_header(request, "host"))
        request.headers.push_back("Host: " + split_url(request.url).host);
    request.headers.push_back("X-Amz-Date: " + std::string(amz_date));
    if (!credentials.session_token.empty())
        request.headers.push_back("X-Amz-Security-Token: " + credentials.session_token);
    const CanonicalRequest canonical = canonical_request(request);
    const std::string scope = credential_scope(amz_date, region, service);
    const std::string signature = core::hex_encode(core::hmac_sha256(
        signing_key(credentials.secret_access_key, amz_date.substr(0, 8), region, service),
        string_to_sign(amz_date, scope, canonical.text)));
    request.headers.push_back(
        "Authorization: " + std::string(kAlgorithm) + " Credential=" + credentials.access_key_id +
        "/" + scope + ", SignedHeaders=" + canonical.signed_headers + ", Signature=" + signature);
}

}  // namespace certfleet::acme::dns::sigv4
