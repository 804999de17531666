// OpenSSL 3 RAII and the few primitives certfleet needs: keys, CSRs, X.509
// parsing, JWK / JWS pieces, digests. Nothing certfleet-specific lives here.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/result.hpp"
#include "core/time.hpp"

typedef struct evp_pkey_st EVP_PKEY;

namespace certfleet::core {

enum class KeyType { EcdsaP256, EcdsaP384, Rsa2048, Rsa3072, Rsa4096 };

// "ecdsa-p256" "ecdsa-p384" "rsa-2048" "rsa-3072" "rsa-4096"
std::optional<KeyType> parse_key_type(std::string_view name);
std::string key_type_name(KeyType type);

// A private key. The PEM it produces is secret: never log it.
class PrivateKey {
public:
    static Result<PrivateKey> generate(KeyType type);
    // PKCS#8 or traditional ("EC PRIVATE KEY", "RSA PRIVATE KEY"); the first key
    // block wins. Encrypted keys, other curves and sizes are refused.
    static Result<PrivateKey> from_pem(std::string_view pem);
    // Wraps a key built elsewhere (e.g. EVP_PKEY_fromdata in tests). Takes
    // ownership of `key` whether or not it succeeds.
    static Result<PrivateKey> from_evp(EVP_PKEY* key);

    KeyType type() const { return m_type; }
    std::string to_pem() const;          // PKCS#8 PEM, unencrypted
    nlohmann::json public_jwk() const;   // RFC 7517, members in canonical order
    std::string jwk_thumbprint() const;  // RFC 7638, base64url(SHA-256)
    std::string jws_algorithm() const;   // "ES256" | "ES384" | "RS256"
    // JWS signature over `signing_input` (ECDSA as raw R||S per RFC 7518 §3.4).
    Result<std::string> sign(std::string_view signing_input) const;
    EVP_PKEY* raw() const { return m_key.get(); }

private:
    struct Deleter {
        void operator()(EVP_PKEY* k) const;
    };
    PrivateKey(EVP_PKEY* key, KeyType type);  // takes ownership
    std::shared_ptr<EVP_PKEY> m_key;
    KeyType m_type;
};

// RFC 7638 thumbprint (base64url of SHA-256) of a public JWK: only the members
// required for its "kty" (EC, RSA, OKP, oct) take part, so "alg", "kid", etc. are
// ignored. Throws std::invalid_argument when "kty" or a required member is missing.
std::string jwk_thumbprint(const nlohmann::json& public_jwk);

// DER PKCS#10 request with every domain as a dNSName SAN and the first as CN
// (when it fits the 64-byte limit).
Result<std::string> make_csr_der(const PrivateKey& key, const std::vector<std::string>& domains);

struct CertificateInfo {
    std::string serial_hex;  // as `openssl x509 -serial` prints it: see canonical_serial
    TimePoint not_before;
    TimePoint not_after;
    std::vector<std::string> dns_names;  // SAN dNSNames
    std::string subject;                 // one-line RFC 2253
    std::string issuer;
    bool is_ca = false;              // basicConstraints CA:TRUE
    std::string sha256_fingerprint;  // lowercase hex of the DER
};

// The first certificate of a PEM bundle.
Result<CertificateInfo> parse_certificate_pem(std::string_view pem);
Result<CertificateInfo> parse_certificate_der(std::string_view der);
// Every "-----BEGIN CERTIFICATE-----" block, in order, each ending in "\n".
std::vector<std::string> split_pem_certificates(std::string_view pem);
// True when the key's public half is the certificate's public key.
Result<bool> key_matches_certificate(const PrivateKey& key, std::string_view cert_pem);
// Verifies leaf (first of chain_pem) up through the rest of chain_pem to a root in roots_pem.
Status verify_chain(std::string_view chain_pem, std::string_view roots_pem);
// DER of the first certificate in a PEM bundle (for revocation).
Result<std::string> certificate_der(std::string_view pem);

// The ACME Renewal Information certificate identifier (RFC 9773 §4.1) of the
// first certificate in `cert_pem`: base64url(Authority Key Identifier
// keyIdentifier) "." base64url(serial number's DER content octets). Fails
// when the certificate carries no keyIdentifier (the CA could not look it up).
Result<std::string> ari_cert_id(std::string_view cert_pem);
// The same from its parts: the keyIdentifier octets and the content octets of
// the DER INTEGER serial (with its leading 0x00 when the high bit is set).
std::string ari_cert_id(std::string_view key_identifier, std::string_view serial_der_content);

// RFC 4648. Decoders reject whitespace, foreign characters, misplaced padding and
// non-zero trailing bits. base64url: no padding on output, optional on input;
// base64: padded on output, padding required on input.
std::string base64url_encode(std::string_view data);
Result<std::string> base64url_decode(std::string_view text);
std::string base64_encode(std::string_view data);
Result<std::string> base64_decode(std::string_view text);
std::string sha256(std::string_view data);  // raw 32 bytes
std::string hex_encode(std::string_view data);

// A serial number as `openssl x509 -serial` and CT logs print it: upper-case
// hex, two digits per byte (so a leading zero is kept: "0A1B"), no colons, a
// "-" before a negative one. Accepts certfleet's older spelling (lower case,
// leading zeros stripped) and colon-separated bytes, so stores and ledgers
// written by earlier versions compare equal.
std::string canonical_serial(std::string_view serial);
std::string hmac_sha256(std::string_view key, std::string_view data);  // raw
std::string random_hex(std::size_t bytes);  // CSPRNG; 2*bytes lowercase hex digits

}  // namespace certfleet::core
