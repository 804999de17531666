// Shared by the ARI unit tests: a certificate with a chosen Authority Key
// Identifier and serial, and a scripted fake CA with a renewalInfo endpoint.
#pragma once

#include <cstdint>
#include <ctime>
#include <deque>
#include <functional>
#include <memory>

#include <catch2/catch.hpp>
#include <openssl/pem.h>

#include "acme/client.hpp"
#include "support/crypto_test_support.hpp"

namespace certfleet::test::ari {

using namespace certfleet::core::detail;
using nlohmann::json;

inline constexpr long kDay = 86400;

inline core::TimePoint at(const char* text) {
    return *core::parse_rfc3339(text);
}

// RFC 9773 §4.1's example: keyIdentifier and serial 0x87654321.
inline const std::string kRfcKeyId = {'\x69', '\x88', '\x5B', '\x6B', '\x87', '\x46', '\x40',
                                      '\x41', '\xE1', '\xB3', '\x7B', '\x84', '\x7B', '\xA0',
                                      '\xAE', '\x2C', '\xDE', '\x01', '\xC8', '\xD4'};
inline const std::string kRfcCertId = "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE";

// A self-signed leaf for `key` with the given serial and, unless empty, an
// Authority Key Identifier holding `key_id`.
inline std::string make_cert(const core::PrivateKey& key, uint64_t serial,
                             const std::string& key_id, const std::string& domain = "example.org") {
    X509Ptr cert(X509_new());
    REQUIRE(cert);
    REQUIRE(X509_set_version(cert.get(), X509_VERSION_3) == 1);
    REQUIRE(ASN1_INTEGER_set_uint64(X509_get_serialNumber(cert.get()), serial) == 1);
    const std::time_t now = std::time(nullptr);
    REQUIRE(ASN1_TIME_set(X509_getm_notBefore(cert.get()), now - 3600));
    REQUIRE(ASN1_TIME_set(X509_getm_notAfter(cert.get()), now + 90 * kDay));
    X509_NAME* name = X509_get_subject_name(cert.get());
    REQUIRE(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, as_bytes(domain), -1, -1, 0) ==
            1);
    REQUIRE(X509_set_issuer_name(cert.get(), name) == 1);
    REQUIRE(X509_set_pubkey(cert.get(), key.raw()) == 1);
    // The name in a SAN, as every CA issues it (the client checks it).
    const std::string san = "DNS:" + domain;
    OsslPtr<X509_EXTENSION, X509_EXTENSION_free> alt(
        X509V3_EXT_conf_nid(nullptr, nullptr, NID_subject_alt_name, san.c_str()));
    REQUIRE(alt);
    REQUIRE(X509_add_ext(cert.get(), alt.get(), -1) == 1);
    if (!key_id.empty()) {
        OsslPtr<AUTHORITY_KEYID, AUTHORITY_KEYID_free> akid(AUTHORITY_KEYID_new());
        REQUIRE(akid);
        akid->keyid = ASN1_OCTET_STRING_new();
        REQUIRE(akid->keyid);
        REQUIRE(ASN1_OCTET_STRING_set(akid->keyid, as_bytes(key_id),
                                      static_cast<int>(key_id.size())) == 1);
        REQUIRE(X509_add1_ext_i2d(cert.get(), NID_authority_key_identifier, akid.get(), 0,
                                  X509V3_ADD_DEFAULT) == 1);
    }
    REQUIRE(X509_sign(cert.get(), key.raw(), EVP_sha256()) > 0);
    BioPtr bio(BIO_new(BIO_s_mem()));
    REQUIRE(PEM_write_bio_X509(bio.get(), cert.get()) == 1);
    return bio_contents(bio.get());
}

inline core::HttpResponse reply(int status, std::string body = "{}",
                                std::vector<std::pair<std::string, std::string>> headers = {}) {
    core::HttpResponse r;
    r.status = status;
    r.body = std::move(body);
    r.headers = std::move(headers);
    return r;
}

// A CA with a renewalInfo endpoint: GET of the directory is answered here,
// GETs below https://ca/ari/ and POSTs come from scripts; HEAD gives nonces.
class FakeAriCa : public core::HttpClient {
public:
    using Step = std::function<core::HttpResponse(const core::HttpRequest&)>;
    std::deque<Step> ari_script, post_script;
    std::vector<core::HttpRequest> requests;  // everything but the directory
    int nonce_counter = 0;
    json directory = {{"newNonce", "https://ca/nonce"},
                      {"newAccount", "https://ca/acct"},
                      {"newOrder", "https://ca/order"},
                      {"revokeCert", "https://ca/revoke"},
                      {"renewalInfo", "https://ca/ari"}};

    core::Result<core::HttpResponse> send(const core::HttpRequest& req) override {
        if (req.method == "GET" && req.url == "https://ca/dir")
            return reply(200, directory.dump());
        requests.push_back(req);
        if (req.method == "HEAD")
            return with_nonce(reply(200, ""));
        auto& script = req.method == "GET" ? ari_script : post_script;
        REQUIRE_FALSE(script.empty());
        auto next = script.front();
        script.pop_front();
        return req.method == "GET" ? next(req) : with_nonce(next(req));
    }
    core::HttpResponse with_nonce(core::HttpResponse r) {
        r.headers.emplace_back("replay-nonce", "n" + std::to_string(++nonce_counter));
        return r;
    }
    void ari(int status, std::string body,
             std::vector<std::pair<std::string, std::string>> headers = {}) {
        ari_script.push_back(
            [=](const core::HttpRequest&) { return reply(status, body, headers); });
    }
    void post(int status, json body, std::vector<std::pair<std::string, std::string>> headers = {},
              std::string raw = {}) {
        post_script.push_back([=](const core::HttpRequest&) {
            return reply(status, raw.empty() ? body.dump() : raw, headers);
        });
    }
    std::vector<json> order_payloads() const {
        std::vector<json> out;
        for (const auto& r : requests)
            if (r.method == "POST" && r.url == "https://ca/order")
                out.push_back(json::parse(
                    *core::base64url_decode(json::parse(r.body)["payload"].get<std::string>())));
        return out;
    }
};

inline acme::ClientOptions fast_options() {
    acme::ClientOptions o;
    o.first_backoff = std::chrono::milliseconds(1);
    o.first_poll = std::chrono::milliseconds(1);
    o.longest_poll = std::chrono::milliseconds(5);
    return o;
}

}  // namespace certfleet::test::ari
