// Encrypted PEM blocks (a Proc-Type: 4,ENCRYPTED header, even on a
// CERTIFICATE, or a PKCS#8 ENCRYPTED PRIVATE KEY) come from CAs and hosts
// that certfleet reads unattended: every entry point must refuse them without
// asking for a passphrase. OpenSSL asks through its default UI method when a
// read passes no callback; the test swaps in one that answers and counts, so
// a read that would have prompted on a terminal shows up as a prompt here.
#include <ctime>

#include <catch2/catch.hpp>
#include <openssl/pem.h>
#include <openssl/ui.h>

#include "core/hostname.hpp"
#include "support/crypto_test_support.hpp"

using namespace certfleet::core;
using namespace certfleet::core::detail;
using certfleet::core::test::cached_key;

namespace {

constexpr const char* kPassphrase = "secret";

// OpenSSL's default UI method for the lifetime of the object: it answers
// every prompt with kPassphrase and counts them.
class PromptCounter {
public:
    PromptCounter() : m_method(UI_create_method("certfleet test: counted prompts")) {
        REQUIRE(m_method);
        UI_method_set_reader(m_method, &PromptCounter::answer);
        UI_set_default_method(m_method);
        s_prompts = 0;
    }
    ~PromptCounter() {
        UI_set_default_method(UI_OpenSSL());
        UI_destroy_method(m_method);
    }
    PromptCounter(const PromptCounter&) = delete;
    PromptCounter& operator=(const PromptCounter&) = delete;

    static int prompts() { return s_prompts; }

private:
    static int answer(UI* ui, UI_STRING* prompt) {
        if (UI_get_string_type(prompt) == UIT_PROMPT || UI_get_string_type(prompt) == UIT_VERIFY) {
            ++s_prompts;
            return UI_set_result(ui, prompt, kPassphrase) == 0 ? 1 : -1;
        }
        return 1;
    }

    UI_METHOD* m_method;
    static inline int s_prompts = 0;
};

int i2d_certificate(const void* cert, unsigned char** out) {
    return i2d_X509(static_cast<const X509*>(cert), out);
}

// A self-signed certificate for `key` covering www.example.test, as PEM
// encrypted with kPassphrase (RFC 1421 headers, which OpenSSL still reads),
// or plain.
std::string encrypted_certificate_pem(const PrivateKey& key, bool encrypted = true) {
    X509Ptr cert(X509_new());
    REQUIRE(cert);
    REQUIRE(X509_set_version(cert.get(), X509_VERSION_3) == 1);
    REQUIRE(ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 7) == 1);
    const std::time_t now = std::time(nullptr);
    REQUIRE(ASN1_TIME_set(X509_getm_notBefore(cert.get()), now - 3600));
    REQUIRE(ASN1_TIME_set(X509_getm_notAfter(cert.get()), now + 86400));
    X509_NAME* name = X509_get_subject_name(cert.get());
    REQUIRE(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, as_bytes("www.example.test"), -1,
                                       -1, 0) == 1);
    REQUIRE(X509_set_issuer_name(cert.get(), name) == 1);
    REQUIRE(X509_set_pubkey(cert.get(), key.raw()) == 1);
    REQUIRE(X509_sign(cert.get(), key.raw(), EVP_sha256()) > 0);
    BioPtr bio(BIO_new(BIO_s_mem()));
    REQUIRE(PEM_ASN1_write_bio(i2d_certificate, PEM_STRING_X509, bio.get(), cert.get(),
                               encrypted ? EVP_aes_128_cbc() : nullptr,
                               encrypted ? as_bytes(kPassphrase) : nullptr, encrypted ? 6 : 0,
                               nullptr, nullptr) == 1);
    return bio_contents(bio.get());
}

std::string encrypted_key_pem(const PrivateKey& key, bool pkcs8) {
    BioPtr bio(BIO_new(BIO_s_mem()));
    const int written =
        pkcs8 ? PEM_write_bio_PKCS8PrivateKey(bio.get(), key.raw(), EVP_aes_128_cbc(), kPassphrase,
                                              6, nullptr, nullptr)
              : PEM_write_bio_PrivateKey_traditional(bio.get(), key.raw(), EVP_aes_128_cbc(),
                                                     as_bytes(kPassphrase), 6, nullptr, nullptr);
    REQUIRE(written == 1);
    return bio_contents(bio.get());
}

}  // namespace

TEST_CASE("an encrypted certificate is refused without asking for a passphrase", "[crypto]") {
    const PrivateKey& key = cached_key(KeyType::EcdsaP256);
    const std::string pem = encrypted_certificate_pem(key);
    REQUIRE_THAT(pem, Catch::Contains("Proc-Type: 4,ENCRYPTED"));
    PromptCounter counter;

    CHECK_FALSE(parse_certificate_pem(pem).ok());
    CHECK_FALSE(certificate_der(pem).ok());
    CHECK_FALSE(ari_cert_id(pem).ok());
    CHECK_FALSE(key_matches_certificate(key, pem).ok());
    CHECK_FALSE(verify_chain(pem, pem).ok());
    CHECK_FALSE(certificate_covers(pem, "www.example.test").ok());
    CHECK(PromptCounter::prompts() == 0);
}

TEST_CASE("an encrypted private key is refused without asking for a passphrase", "[crypto]") {
    const PrivateKey& key = cached_key(KeyType::EcdsaP256);
    const std::string traditional = encrypted_key_pem(key, false);
    const std::string pkcs8 = encrypted_key_pem(key, true);
    REQUIRE_THAT(traditional, Catch::Contains("Proc-Type: 4,ENCRYPTED"));
    REQUIRE_THAT(pkcs8, Catch::Contains("ENCRYPTED PRIVATE KEY"));
    PromptCounter counter;

    CHECK_FALSE(PrivateKey::from_pem(traditional).ok());
    CHECK_FALSE(PrivateKey::from_pem(pkcs8).ok());
    CHECK(PromptCounter::prompts() == 0);
}

TEST_CASE("a ca_bundle with an encrypted certificate is refused without a prompt", "[crypto]") {
    const PrivateKey& key = cached_key(KeyType::EcdsaP256);
    const std::string plain = encrypted_certificate_pem(key, false);
    const std::string encrypted = encrypted_certificate_pem(key);
    X509StorePtr store(X509_STORE_new());
    REQUIRE(store);
    PromptCounter counter;

    auto added = add_trusted_certificates(store.get(), plain + plain);
    REQUIRE(added.ok());
    CHECK(*added == 2);
    CHECK_FALSE(add_trusted_certificates(store.get(), plain + encrypted).ok());
    CHECK_FALSE(add_trusted_certificates(store.get(), "not a bundle").ok());
    CHECK(PromptCounter::prompts() == 0);
}
