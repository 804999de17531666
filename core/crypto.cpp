// Private keys: generation, PEM import / export, JWK, RFC 7638 thumbprints and
// JWS signatures. Certificates live in crypto_x509.cpp, encodings in
// crypto_encoding.cpp.
#include "core/crypto.hpp"

#include <climits>
#include <stdexcept>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/obj_mac.h>
#include <openssl/objects.h>
#include <openssl/params.h>
#include <openssl/pem.h>

#include "core/crypto_internal.hpp"

namespace certfleet::core {

namespace detail {

void free_x509_stack_shallow(STACK_OF(X509) * stack) {
    sk_X509_free(stack);
}
void free_extension_stack(STACK_OF(X509_EXTENSION) * stack) {
    sk_X509_EXTENSION_pop_free(stack, X509_EXTENSION_free);
}

ErrorQueueScope::ErrorQueueScope() {
    ERR_clear_error();
}
ErrorQueueScope::~ErrorQueueScope() {
    ERR_clear_error();
}

std::string openssl_errors() {
    std::string out;
    while (unsigned long code = ERR_get_error()) {
        char buf[256];
        ERR_error_string_n(code, buf, sizeof buf);
        if (!out.empty())
            out += "; ";
        out += buf;
    }
    return out.empty() ? std::string("no OpenSSL error reported") : out;
}

int refuse_passphrase(char*, int, int, void*) {
    return -1;
}

Failure openssl_failure(std::string_view what) {
    return fail(ErrorKind::Generic, std::string(what) + ": " + openssl_errors());
}

BioPtr memory_bio(std::string_view data) {
    if (data.size() > static_cast<size_t>(INT_MAX))
        return nullptr;
    return BioPtr(BIO_new_mem_buf(data.data(), static_cast<int>(data.size())));
}

std::string bio_contents(BIO* bio) {
    std::string out(BIO_ctrl_pending(bio), '\0');
    size_t read = 0;
    if (!out.empty() && BIO_read_ex(bio, out.data(), out.size(), &read) != 1)
        read = 0;
    out.resize(read);
    return out;
}

}  // namespace detail

using namespace detail;

namespace {

struct KeySpec {
    KeyType type;
    const char* name;
    const char* curve;  // nullptr for RSA
    size_t bits;        // RSA modulus / EC field size
};

constexpr KeySpec kKeySpecs[] = {
    {KeyType::EcdsaP256, "ecdsa-p256", "P-256", 256},
    {KeyType::EcdsaP384, "ecdsa-p384", "P-384", 384},
    {KeyType::Rsa2048, "rsa-2048", nullptr, 2048},
    {KeyType::Rsa3072, "rsa-3072", nullptr, 3072},
    {KeyType::Rsa4096, "rsa-4096", nullptr, 4096},
};

const KeySpec& spec_of(KeyType type) {
    for (const auto& s : kKeySpecs)
        if (s.type == type)
            return s;
    throw std::logic_error("unknown KeyType");
}

bool is_ec(KeyType type) {
    return spec_of(type).curve != nullptr;
}
size_t coordinate_bytes(KeyType type) {
    return (spec_of(type).bits + 7) / 8;
}

// Works out which KeyType a loaded key is, refusing anything we cannot use as an
// ACME account key or certificate key.
Result<KeyType> classify(const EVP_PKEY* key) {
    if (EVP_PKEY_is_a(key, "EC")) {
        char group[80] = {};
        size_t len = 0;
        if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group,
                                           &len) != 1)
            return fail(ErrorKind::Generic,
                        "EC key without a named curve (explicit parameters are not supported)");
        int nid = OBJ_sn2nid(group);
        if (nid == NID_undef)
            nid = EC_curve_nist2nid(group);
        if (nid == NID_X9_62_prime256v1)
            return KeyType::EcdsaP256;
        if (nid == NID_secp384r1)
            return KeyType::EcdsaP384;
        return fail(ErrorKind::Generic,
                    std::string("unsupported EC curve ") + group + " (supported: P-256, P-384)");
    }
    if (EVP_PKEY_is_a(key, "RSA")) {
        const int bits = EVP_PKEY_get_bits(key);
        if (bits == 2048)
            return KeyType::Rsa2048;
        if (bits == 3072)
            return KeyType::Rsa3072;
        if (bits == 4096)
            return KeyType::Rsa4096;
        return fail(ErrorKind::Generic, "unsupported RSA key size " + std::to_string(bits) +
                                            " bits (supported: 2048, 3072, 4096)");
    }
    const char* name = EVP_PKEY_get0_type_name(key);
    return fail(ErrorKind::Generic, std::string("unsupported key algorithm ") +
                                        (name ? name : "(unknown)") +
                                        " (supported: ECDSA P-256/P-384, RSA)");
}

// A public-only EVP_PKEY would pass classify() but could not sign or be saved.
bool has_private_part(const EVP_PKEY* key, KeyType type) {
    BIGNUM* raw = nullptr;
    const char* param = is_ec(type) ? OSSL_PKEY_PARAM_PRIV_KEY : OSSL_PKEY_PARAM_RSA_D;
    const bool ok = EVP_PKEY_get_bn_param(key, param, &raw) == 1;
    BignumPtr holder(raw);
    return ok;
}

std::string bn_bytes(const BIGNUM* bn, size_t width) {
    std::string out(width, '\0');
    if (BN_bn2binpad(bn, reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(width)) < 0)
        throw std::runtime_error("BN_bn2binpad: " + openssl_errors());
    return out;
}

std::string bn_bytes_minimal(const BIGNUM* bn) {
    return bn_bytes(bn, static_cast<size_t>(BN_num_bytes(bn)));
}

// The key is valid by construction, so a failure here is a broken invariant.
BignumPtr public_bn(const EVP_PKEY* key, const char* param) {
    BIGNUM* raw = nullptr;
    if (EVP_PKEY_get_bn_param(key, param, &raw) != 1)
        throw std::runtime_error(std::string("reading public key parameter ") + param + ": " +
                                 openssl_errors());
    return BignumPtr(raw);
}

}  // namespace

std::optional<KeyType> parse_key_type(std::string_view name) {
    for (const auto& s : kKeySpecs)
        if (name == s.name)
            return s.type;
    return std::nullopt;
}

std::string key_type_name(KeyType type) {
    return spec_of(type).name;
}

void PrivateKey::Deleter::operator()(EVP_PKEY* k) const {
    EVP_PKEY_free(k);
}

PrivateKey::PrivateKey(EVP_PKEY* key, KeyType type) : m_key(key, Deleter{}), m_type(type) {}

Result<PrivateKey> PrivateKey::from_evp(EVP_PKEY* key) {
    PkeyPtr owned(key);
    if (!owned)
        return fail(ErrorKind::Generic, "no key given");
    auto type = classify(owned.get());
    if (!type)
        return type.failure();
    if (!has_private_part(owned.get(), *type))
        return fail(ErrorKind::Generic, "key has no private part");
    return PrivateKey(owned.release(), *type);
}

Result<PrivateKey> PrivateKey::generate(KeyType type) {
    ErrorQueueScope errors;
    const KeySpec& spec = spec_of(type);
    PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, spec.curve ? "EC" : "RSA", nullptr));
    if (!ctx || EVP_PKEY_keygen_init(ctx.get()) != 1)
        return openssl_failure("preparing " + key_type_name(type) + " key generation");

    OSSL_PARAM params[3];
    size_t bits = spec.bits;
    unsigned int exponent = 65537;
    std::string curve = spec.curve ? spec.curve : "";
    if (spec.curve) {
        params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, curve.data(), 0);
        params[1] = OSSL_PARAM_construct_end();
    } else {
        params[0] = OSSL_PARAM_construct_size_t(OSSL_PKEY_PARAM_RSA_BITS, &bits);
        params[1] = OSSL_PARAM_construct_uint(OSSL_PKEY_PARAM_RSA_E, &exponent);
        params[2] = OSSL_PARAM_construct_end();
    }
    EVP_PKEY* raw = nullptr;
    if (EVP_PKEY_CTX_set_params(ctx.get(), params) != 1 || EVP_PKEY_generate(ctx.get(), &raw) != 1)
        return openssl_failure("generating " + key_type_name(type) + " key");
    return PrivateKey(raw, type);
}

Result<PrivateKey> PrivateKey::from_pem(std::string_view pem) {
    ErrorQueueScope errors;
    // Key files come back from hosts: one must not stall a deployment.
    if (costly_to_decode(pem))
        return fail(ErrorKind::Generic,
                    "reading private key PEM: a DSA / DH key too large to "
                    "read safely (certfleet uses ECDSA and RSA keys)");
    BioPtr bio = memory_bio(pem);
    if (!bio)
        return openssl_failure("reading private key PEM");
    EVP_PKEY* raw = PEM_read_bio_PrivateKey(bio.get(), nullptr, refuse_passphrase, nullptr);
    if (!raw)
        return openssl_failure(
            "reading private key PEM (expected an unencrypted PKCS#8, EC or RSA private key)");
    return from_evp(raw);
}

std::string PrivateKey::to_pem() const {
    ErrorQueueScope errors;
    // Secure-heap BIO, so the buffer holding the secret is wiped when freed.
    BioPtr bio(BIO_new(BIO_s_secmem()));
    if (!bio ||
        PEM_write_bio_PrivateKey(bio.get(), raw(), nullptr, nullptr, 0, nullptr, nullptr) != 1)
        throw std::runtime_error("writing private key PEM: " + openssl_errors());
    return bio_contents(bio.get());
}

nlohmann::json PrivateKey::public_jwk() const {
    ErrorQueueScope errors;
    nlohmann::json jwk;
    if (is_ec(m_type)) {
        const size_t width = coordinate_bytes(m_type);
        jwk["crv"] = spec_of(m_type).curve;
        jwk["kty"] = "EC";
        jwk["x"] =
            base64url_encode(bn_bytes(public_bn(raw(), OSSL_PKEY_PARAM_EC_PUB_X).get(), width));
        jwk["y"] =
            base64url_encode(bn_bytes(public_bn(raw(), OSSL_PKEY_PARAM_EC_PUB_Y).get(), width));
    } else {
        jwk["e"] =
            base64url_encode(bn_bytes_minimal(public_bn(raw(), OSSL_PKEY_PARAM_RSA_E).get()));
        jwk["kty"] = "RSA";
        jwk["n"] =
            base64url_encode(bn_bytes_minimal(public_bn(raw(), OSSL_PKEY_PARAM_RSA_N).get()));
    }
    return jwk;
}

std::string jwk_thumbprint(const nlohmann::json& public_jwk) {
    // RFC 7638 §3.2: the required members of each key type, nothing else.
    static const std::pair<const char*, std::vector<const char*>> kRequired[] = {
        {"EC", {"crv", "kty", "x", "y"}},
        {"RSA", {"e", "kty", "n"}},
        {"OKP", {"crv", "kty", "x"}},
        {"oct", {"k", "kty"}},
    };
    if (!public_jwk.is_object() || !public_jwk.contains("kty") || !public_jwk["kty"].is_string())
        throw std::invalid_argument("JWK without a \"kty\" member");
    const std::string kty = public_jwk["kty"].get<std::string>();
    for (const auto& [type, members] : kRequired) {
        if (kty != type)
            continue;
        // nlohmann::json objects keep keys sorted and dump() emits no whitespace,
        // which is exactly the canonical form the RFC asks for.
        nlohmann::json canonical = nlohmann::json::object();
        for (const char* member : members) {
            if (!public_jwk.contains(member) || !public_jwk[member].is_string())
                throw std::invalid_argument("JWK of type " + kty + " without \"" + member + "\"");
            canonical[member] = public_jwk[member];
        }
        return base64url_encode(sha256(canonical.dump()));
    }
    throw std::invalid_argument("JWK of unsupported type " + kty);
}

std::string PrivateKey::jwk_thumbprint() const {
    return core::jwk_thumbprint(public_jwk());
}

std::string PrivateKey::jws_algorithm() const {
    switch (m_type) {
        case KeyType::EcdsaP256:
            return "ES256";
        case KeyType::EcdsaP384:
            return "ES384";
        case KeyType::Rsa2048:
        case KeyType::Rsa3072:
        case KeyType::Rsa4096:
            return "RS256";
    }
    throw std::logic_error("unknown KeyType");
}

Result<std::string> PrivateKey::sign(std::string_view signing_input) const {
    ErrorQueueScope errors;
    // RFC 7518 §3.4 pairs each curve with its own hash; RS256 is always SHA-256.
    const EVP_MD* md = m_type == KeyType::EcdsaP384 ? EVP_sha384() : EVP_sha256();
    MdCtxPtr ctx(EVP_MD_CTX_new());
    if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, md, nullptr, raw()) != 1)
        return openssl_failure("preparing " + jws_algorithm() + " signature");
    size_t len = 0;
    if (EVP_DigestSign(ctx.get(), nullptr, &len, as_bytes(signing_input), signing_input.size()) !=
        1)
        return openssl_failure("sizing " + jws_algorithm() + " signature");
    std::string der(len, '\0');
    if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(der.data()), &len,
                       as_bytes(signing_input), signing_input.size()) != 1)
        return openssl_failure("computing " + jws_algorithm() + " signature");
    der.resize(len);
    if (!is_ec(m_type))
        return der;  // PKCS#1 v1.5 is already the JWS form

    // OpenSSL emits a DER ECDSA-Sig-Value; JWS wants R || S, each padded to the
    // curve size.
    const unsigned char* p = as_bytes(der);
    EcdsaSigPtr sig(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size())));
    if (!sig)
        return openssl_failure("decoding ECDSA signature");
    const BIGNUM* r = nullptr;
    const BIGNUM* s = nullptr;
    ECDSA_SIG_get0(sig.get(), &r, &s);
    const size_t width = coordinate_bytes(m_type);
    return bn_bytes(r, width) + bn_bytes(s, width);
}

}  // namespace certfleet::core
