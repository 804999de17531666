// An independent SigV4 verifier for the tests' AWS stand-ins: the canonical
// request rebuilt from what arrived on the wire and the signature recomputed
// from the known secret with OpenSSL directly (not certfleet's signer).
// tests/acme/dns/aws_sigv4_test.cpp proves it against libcurl's own signer.
#pragma once

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <iomanip>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "support/fake_api_server.hpp"

namespace certfleet::test::sigv4_check {

namespace detail {

inline std::string hex(const unsigned char* data, std::size_t size) {
    std::ostringstream out;
    for (std::size_t i = 0; i < size; ++i)
        out << std::hex << std::setw(2) << std::setfill('0') << static_cast<int>(data[i]);
    return out.str();
}

inline std::string sha256_hex(const std::string& data) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int size = 0;
    // No Catch assertions in here: the stand-ins verify on their server threads.
    if (EVP_Digest(data.data(), data.size(), digest, &size, EVP_sha256(), nullptr) != 1)
        return "(digest failed)";
    return hex(digest, size);
}

inline std::string hmac(const std::string& key, const std::string& data) {
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int size = 0;
    if (!HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
              reinterpret_cast<const unsigned char*>(data.data()), data.size(), mac, &size))
        return "(hmac failed)";
    return std::string(reinterpret_cast<const char*>(mac), size);
}

// Query names and values as AWS wants them: decoded, then every byte but
// A-Z a-z 0-9 - _ . ~ as %XX.
inline std::string requote(const std::string& text) {
    std::string decoded;
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '%' && i + 2 < text.size() && std::isxdigit(text[i + 1]) &&
            std::isxdigit(text[i + 2])) {
            decoded += static_cast<char>(std::stoi(text.substr(i + 1, 2), nullptr, 16));
            i += 2;
        } else {
            decoded += text[i];
        }
    }
    std::string out;
    for (unsigned char c : decoded) {
        if (std::isalnum(c) ||
            std::string_view("-_.~").find(static_cast<char>(c)) != std::string_view::npos) {
            out += static_cast<char>(c);
        } else {
            char buf[4];
            std::snprintf(buf, sizeof buf, "%%%02X", c);
            out += buf;
        }
    }
    return out;
}

inline std::string sorted_query(const std::string& query) {
    std::vector<std::string> pairs;
    std::stringstream in(query);
    for (std::string pair; std::getline(in, pair, '&');) {
        if (pair.empty())
            continue;
        const auto eq = pair.find('=');
        pairs.push_back(requote(pair.substr(0, eq)) + "=" +
                        (eq == std::string::npos ? "" : requote(pair.substr(eq + 1))));
    }
    std::sort(pairs.begin(), pairs.end());
    std::string out;
    for (const auto& p : pairs)
        out += (out.empty() ? "" : "&") + p;
    return out;
}

inline std::string collapse_blanks(const std::string& value) {
    std::istringstream in(value);
    std::string out;
    for (std::string word; in >> word;)
        out += (out.empty() ? "" : " ") + word;
    return out;
}

// "Credential=a/b, SignedHeaders=c, Signature=d" → {Credential: a/b, …}
inline std::map<std::string, std::string> authorization_fields(const std::string& header) {
    std::map<std::string, std::string> fields;
    std::stringstream in(header.substr(header.find(' ') + 1));
    for (std::string part; std::getline(in, part, ',');) {
        part = collapse_blanks(part);
        const auto eq = part.find('=');
        if (eq != std::string::npos)
            fields[part.substr(0, eq)] = part.substr(eq + 1);
    }
    return fields;
}

inline bool date_is_recent(const std::string& amz_date) {
    std::tm tm{};
    std::istringstream in(amz_date);
    in >> std::get_time(&tm, "%Y%m%dT%H%M%SZ");
    if (in.fail())
        return false;
    const auto sent = std::chrono::system_clock::from_time_t(timegm(&tm));
    const auto skew = std::chrono::system_clock::now() - sent;
    return skew < std::chrono::minutes(5) && skew > -std::chrono::minutes(5);
}

}  // namespace detail

// Why AWS would refuse the request's signature, or "" when it would take it.
inline std::string signature_problem(const ApiRequest& request, const std::string& access_key_id,
                                     const std::string& secret, const std::string& region,
                                     const std::string& service, bool check_clock) {
    using namespace detail;
    const std::string authorization = request.header("authorization");
    if (!authorization.starts_with("AWS4-HMAC-SHA256 "))
        return "no AWS4-HMAC-SHA256 Authorization header";
    auto fields = authorization_fields(authorization);
    const std::string date = request.header("x-amz-date");
    if (date.size() != 16 || (check_clock && !date_is_recent(date)))
        return "x-amz-date missing or not within 5 minutes: " + date;
    const std::string scope = date.substr(0, 8) + "/" + region + "/" + service + "/aws4_request";
    if (fields["Credential"] != access_key_id + "/" + scope)
        return "credential " + fields["Credential"] + " is not " + access_key_id + "/" + scope;
    const std::string signed_headers = fields["SignedHeaders"];
    std::vector<std::string> names;
    std::stringstream list(signed_headers);
    for (std::string name; std::getline(list, name, ';');)
        names.push_back(name);
    for (const char* needed : {"host", "x-amz-date"})
        if (std::find(names.begin(), names.end(), needed) == names.end())
            return std::string(needed) + " is not signed";
    if (!request.header("x-amz-security-token").empty() &&
        std::find(names.begin(), names.end(), "x-amz-security-token") == names.end())
        return "x-amz-security-token is not signed";
    std::string canonical =
        request.method + "\n" + request.path + "\n" + sorted_query(request.query) + "\n";
    for (const auto& name : names) {
        std::string joined;
        for (const auto& [n, v] : request.headers)
            if (n == name)
                joined += (joined.empty() ? "" : ",") + collapse_blanks(v);
        canonical += name + ":" + joined + "\n";
    }
    canonical += "\n" + signed_headers + "\n" + sha256_hex(request.body);
    const std::string to_sign =
        "AWS4-HMAC-SHA256\n" + date + "\n" + scope + "\n" + sha256_hex(canonical);
    const std::string key =
        hmac(hmac(hmac(hmac("AWS4" + secret, date.substr(0, 8)), region), service), "aws4_request");
    const std::string mac = hmac(key, to_sign);
    if (fields["Signature"] != hex(reinterpret_cast<const unsigned char*>(mac.data()), mac.size()))
        return "the signature does not match; canonical request:\n" + canonical;
    return "";
}

}  // namespace certfleet::test::sigv4_check
