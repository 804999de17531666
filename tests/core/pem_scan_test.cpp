// The PEM scanner against files as they are found on hosts: chains, combined
// cert+key files, keys of every kind (encrypted ones without a prompt),
// Windows line endings and damaged blocks.
#include "core/pem_scan.hpp"

#include <chrono>

#include <catch2/catch.hpp>
#include <openssl/err.h>
#include <openssl/pem.h>

#include "support/crypto_test_support.hpp"

using namespace certfleet::core;
using namespace certfleet::core::detail;
using certfleet::core::test::cached_key;
using certfleet::core::test::der;
using certfleet::core::test::pem_block;

namespace {

std::string to_pem(X509* cert) {
    BioPtr bio(BIO_new(BIO_s_mem()));
    REQUIRE(PEM_write_bio_X509(bio.get(), cert) == 1);
    return bio_contents(bio.get());
}

// A certificate over `key`'s public half, signed by `signer` (self-signed when null).
X509Ptr make_cert(EVP_PKEY* key, const std::string& cn, bool ca, X509* issuer = nullptr,
                  EVP_PKEY* signer = nullptr) {
    X509Ptr cert(X509_new());
    X509* x = cert.get();
    REQUIRE(X509_set_version(x, X509_VERSION_3) == 1);
    REQUIRE(ASN1_INTEGER_set(X509_get_serialNumber(x), 4242) == 1);
    REQUIRE(X509_gmtime_adj(X509_getm_notBefore(x), -3600));
    REQUIRE(X509_gmtime_adj(X509_getm_notAfter(x), 90L * 86400));
    REQUIRE(X509_set_pubkey(x, key) == 1);
    X509_NAME* name = X509_get_subject_name(x);
    REQUIRE(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, as_bytes(cn), -1, -1, 0) == 1);
    REQUIRE(X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name) == 1);
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, issuer ? issuer : x, x, nullptr, nullptr, 0);
    X509ExtPtr bc(X509V3_EXT_conf_nid(nullptr, &ctx, NID_basic_constraints,
                                      ca ? "critical,CA:TRUE" : "critical,CA:FALSE"));
    REQUIRE(bc);
    REQUIRE(X509_add_ext(x, bc.get(), -1) == 1);
    REQUIRE(X509_sign(x, signer ? signer : key, EVP_sha256()) > 0);
    return cert;
}

std::string key_pem(EVP_PKEY* key, bool traditional = false, const EVP_CIPHER* cipher = nullptr) {
    BioPtr bio(BIO_new(BIO_s_mem()));
    static char pass[] = "correct horse";
    auto* kstr = reinterpret_cast<unsigned char*>(pass);
    const int klen = cipher ? static_cast<int>(sizeof pass - 1) : 0;
    if (traditional)
        REQUIRE(PEM_write_bio_PrivateKey_traditional(
                    bio.get(), key, cipher, cipher ? kstr : nullptr, klen, nullptr, nullptr) == 1);
    else
        REQUIRE(PEM_write_bio_PKCS8PrivateKey(bio.get(), key, cipher, cipher ? pass : nullptr, klen,
                                              nullptr, nullptr) == 1);
    return bio_contents(bio.get());
}

PkeyPtr ed25519_key() {
    PkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
    REQUIRE(key);
    return key;
}

std::string crlf(const std::string& s) {
    std::string out;
    for (char c : s)
        out += c == '\n' ? std::string("\r\n") : std::string(1, c);
    return out;
}

struct Chain {
    std::string leaf_pem, intermediate_pem;
};

Chain make_chain() {
    EVP_PKEY* ca_key = cached_key(KeyType::EcdsaP384).raw();
    EVP_PKEY* leaf_key = cached_key(KeyType::EcdsaP256).raw();
    X509Ptr ca = make_cert(ca_key, "Scan Test Intermediate", true);
    X509Ptr leaf = make_cert(leaf_key, "leaf.example.test", false, ca.get(), ca_key);
    return Chain{.leaf_pem = to_pem(leaf.get()), .intermediate_pem = to_pem(ca.get())};
}

}  // namespace

TEST_CASE("chain file: leaf then intermediate", "[pem_scan]") {
    const Chain chain = make_chain();
    const PemScan scan = scan_pem(chain.leaf_pem + chain.intermediate_pem);
    CHECK(scan.problems.empty());
    CHECK(scan.keys.empty());
    REQUIRE(scan.certificates.size() == 2);
    CHECK(scan.certificates[0].info.subject == "CN=leaf.example.test");
    CHECK_FALSE(scan.certificates[0].info.is_ca);
    CHECK(scan.certificates[1].info.is_ca);
    CHECK(scan.certificates[0].info.issuer == scan.certificates[1].info.subject);
    CHECK(scan.certificates[0].info.sha256_fingerprint ==
          parse_certificate_pem(chain.leaf_pem)->sha256_fingerprint);
    CHECK(scan.certificates[0].public_key_sha256.size() == 64);
    CHECK(scan.certificates[0].public_key_sha256 != scan.certificates[1].public_key_sha256);
    CHECK(scan.certificates[0].public_key_sha256 ==
          *certificate_public_key_sha256(chain.leaf_pem + chain.intermediate_pem));
    CHECK(ERR_peek_error() == 0);
}

TEST_CASE("combined cert+key file: fingerprints match, a foreign key does not", "[pem_scan]") {
    const Chain chain = make_chain();
    const PrivateKey& leaf_key = cached_key(KeyType::EcdsaP256);
    const std::string file = leaf_key.to_pem() + chain.leaf_pem + chain.intermediate_pem +
                             cached_key(KeyType::Rsa2048).to_pem();
    const PemScan scan = scan_pem(file);
    CHECK(scan.problems.empty());
    REQUIRE(scan.certificates.size() == 2);
    REQUIRE(scan.keys.size() == 2);
    CHECK(scan.keys[0].label == "PRIVATE KEY");
    CHECK_FALSE(scan.keys[0].encrypted);
    CHECK(scan.keys[0].public_key_sha256 == scan.certificates[0].public_key_sha256);
    CHECK(scan.keys[0].public_key_sha256 == *public_key_sha256(leaf_key));
    CHECK(scan.keys[1].public_key_sha256.size() == 64);
    CHECK(scan.keys[1].public_key_sha256 != scan.certificates[0].public_key_sha256);
    CHECK(scan.keys[1].public_key_sha256 != scan.certificates[1].public_key_sha256);
}

TEST_CASE("keys of any type OpenSSL knows, PKCS#8 and traditional", "[pem_scan]") {
    PkeyPtr ed = ed25519_key();
    X509Ptr ed_cert = make_cert(ed.get(), "ed.example.test", false, nullptr,
                                cached_key(KeyType::EcdsaP256).raw());
    EVP_PKEY* rsa = cached_key(KeyType::Rsa3072).raw();
    EVP_PKEY* ec = cached_key(KeyType::EcdsaP384).raw();
    const PemScan scan = scan_pem(key_pem(ed.get()) + key_pem(rsa, true) + key_pem(ec, true) +
                                  to_pem(ed_cert.get()));
    CHECK(scan.problems.empty());
    REQUIRE(scan.keys.size() == 3);
    CHECK(scan.keys[0].label == "PRIVATE KEY");
    CHECK(scan.keys[1].label == "RSA PRIVATE KEY");
    CHECK(scan.keys[2].label == "EC PRIVATE KEY");
    REQUIRE(scan.certificates.size() == 1);
    CHECK(scan.keys[0].public_key_sha256 == scan.certificates[0].public_key_sha256);
    CHECK(scan.keys[1].public_key_sha256 == *public_key_sha256(cached_key(KeyType::Rsa3072)));
    CHECK(scan.keys[2].public_key_sha256 == *public_key_sha256(cached_key(KeyType::EcdsaP384)));
}

TEST_CASE("encrypted and OpenSSH keys are listed without a fingerprint or a prompt", "[pem_scan]") {
    EVP_PKEY* key = cached_key(KeyType::EcdsaP256).raw();
    const std::string pkcs8 = key_pem(key, false, EVP_aes_256_cbc());
    REQUIRE(pkcs8.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----"));
    const std::string legacy = key_pem(key, true, EVP_aes_128_cbc());
    REQUIRE(legacy.find("Proc-Type: 4,ENCRYPTED") != std::string::npos);
    const std::string openssh =
        "-----BEGIN OPENSSH PRIVATE KEY-----\n"
        "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n"
        "-----END OPENSSH PRIVATE KEY-----\n";
    const PemScan scan = scan_pem(pkcs8 + legacy + openssh);
    CHECK(scan.problems.empty());
    REQUIRE(scan.keys.size() == 3);
    CHECK(scan.keys[0].encrypted);
    CHECK(scan.keys[0].label == "ENCRYPTED PRIVATE KEY");
    CHECK(scan.keys[1].encrypted);
    CHECK(scan.keys[1].label == "EC PRIVATE KEY");
    CHECK_FALSE(scan.keys[2].encrypted);
    CHECK(scan.keys[2].label == "OPENSSH PRIVATE KEY");
    for (const auto& k : scan.keys)
        CHECK(k.public_key_sha256.empty());

    // Encrypted content under a plain label reaches OpenSSL's passphrase
    // callback, which must refuse instead of prompting.
    std::string disguised = pkcs8;
    for (const char* marker : {"-----BEGIN ", "-----END "}) {
        const auto at = disguised.find(std::string(marker) + "ENCRYPTED ");
        disguised.erase(at + std::string(marker).size(), std::string("ENCRYPTED ").size());
    }
    const PemScan refused = scan_pem(disguised);
    REQUIRE(refused.keys.size() == 1);
    CHECK(refused.keys[0].public_key_sha256.empty());
    REQUIRE(refused.problems.size() == 1);
    CHECK(refused.problems[0] == "block 1 (PRIVATE KEY): not a readable private key");
    CHECK(ERR_peek_error() == 0);
}

TEST_CASE("CRLF files and other block types", "[pem_scan]") {
    const Chain chain = make_chain();
    const std::string file = crlf("# exported on Windows\n" + chain.leaf_pem +
                                  "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n"
                                  "-----END CERTIFICATE REQUEST-----\n" +
                                  cached_key(KeyType::EcdsaP256).to_pem());
    CHECK(looks_like_pem(file));
    const PemScan scan = scan_pem(file);
    CHECK(scan.problems.empty());
    REQUIRE(scan.certificates.size() == 1);
    REQUIRE(scan.keys.size() == 1);
    CHECK(scan.keys[0].public_key_sha256 == scan.certificates[0].public_key_sha256);
}

TEST_CASE("damaged blocks are problems, the others are still read", "[pem_scan]") {
    const Chain chain = make_chain();
    const std::string key = cached_key(KeyType::EcdsaP256).to_pem();
    const std::string truncated = chain.leaf_pem.substr(0, chain.leaf_pem.size() / 2);
    std::string corrupt = chain.intermediate_pem;
    corrupt[40] = corrupt[40] == 'A' ? 'B' : 'A';
    const std::string file = "garbage\x01\x02 between blocks\n" + truncated +  // no END line
                             "junk\n" + corrupt + std::string("\0\0\0\n", 4) +
                             "-----BEGIN RSA PRIVATE KEY-----\nnot base64 at all\n"
                             "-----END RSA PRIVATE KEY-----\n" +
                             key.substr(0, key.size() - 10) + "\n" +  // END line cut short
                             chain.leaf_pem;
    const PemScan scan = scan_pem(file);
    REQUIRE(scan.certificates.size() == 1);
    CHECK(scan.certificates[0].info.subject == "CN=leaf.example.test");
    REQUIRE(scan.keys.size() == 2);
    CHECK(scan.keys[0].public_key_sha256.empty());
    CHECK(scan.keys[1].public_key_sha256.empty());
    CHECK(scan.problems == std::vector<std::string>{
                               "block 1 (CERTIFICATE): no END line",
                               "block 2 (CERTIFICATE): not a valid X.509 certificate",
                               "block 3 (RSA PRIVATE KEY): not a readable private key",
                               "block 4 (PRIVATE KEY): no END line",
                           });
    // Problems name blocks, never their content.
    for (const auto& p : scan.problems)
        CHECK(p.find(key.substr(40, 20)) == std::string::npos);
    CHECK(ERR_peek_error() == 0);
}

TEST_CASE("bounded: block count, size, no PEM at all", "[pem_scan]") {
    const Chain chain = make_chain();
    std::string many;
    for (int i = 0; i < 10; ++i)
        many += chain.leaf_pem;
    const PemScan capped = scan_pem(many, 4);
    CHECK(capped.certificates.size() == 4);
    CHECK(capped.problems ==
          std::vector<std::string>{"more than 4 PEM blocks: the rest were not examined"});

    CHECK_FALSE(looks_like_pem("just text -----BEGIN CERTIFICATE----- inline\n"));
    CHECK(scan_pem("").certificates.empty());
    CHECK(scan_pem("no pem here").problems.empty());

    // 10 MB: one huge base64 block and a flood of short lines, each read once.
    const auto start = std::chrono::steady_clock::now();
    const std::string huge = "-----BEGIN CERTIFICATE-----\n" + std::string(10 << 20, 'A') +
                             "\n-----END CERTIFICATE-----\n";
    CHECK(scan_pem(huge).problems.size() == 1);
    std::string lines;
    while (lines.size() < (10U << 20))
        lines += "-----BEGIN X-----\n-----END Y-----\n\n";
    CHECK(scan_pem(lines).problems.size() == 1);  // only "more than 64 PEM blocks"
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(10));
}

TEST_CASE("DSA keys that would make OpenSSL compute for minutes are not decoded", "[pem_scan]") {
    // PKCS#8 DSA without the public value, 8000-bit p and x: OpenSSL would
    // compute g^x mod p while decoding (a minute at 40000 bits).
    const std::string big = der(0x02, "\x7f" + std::string(999, '\xab'));
    const std::string dsa_oid = der(0x06, "\x2a\x86\x48\xce\x38\x04\x01");
    const std::string params = der(0x30, big + der(0x02, std::string(32, '\x11')) + big);
    const std::string info =
        der(0x30, der(0x02, std::string(1, '\0')) + der(0x30, dsa_oid + params) + der(0x04, big));
    const auto start = std::chrono::steady_clock::now();
    const PemScan scan =
        scan_pem(pem_block("PRIVATE KEY", info) + pem_block("DSA PRIVATE KEY", info));
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(1));
    REQUIRE(scan.keys.size() == 2);
    CHECK(scan.keys[0].public_key_sha256.empty());
    CHECK(scan.problems == std::vector<std::string>{
                               "block 1 (PRIVATE KEY): DSA / DH key too large to read safely",
                               "block 2 (DSA PRIVATE KEY): DSA / DH key too large to read safely",
                           });
}

TEST_CASE("TRUSTED CERTIFICATE blocks are certificates", "[pem_scan]") {
    const Chain chain = make_chain();
    X509Ptr cert = make_cert(cached_key(KeyType::EcdsaP384).raw(), "Trusted Root", true);
    REQUIRE(X509_add1_trust_object(cert.get(), OBJ_nid2obj(NID_server_auth)) == 1);
    BioPtr bio(BIO_new(BIO_s_mem()));
    REQUIRE(PEM_write_bio_X509_AUX(bio.get(), cert.get()) == 1);
    const std::string trusted = bio_contents(bio.get());
    REQUIRE(trusted.starts_with("-----BEGIN TRUSTED CERTIFICATE-----"));
    const PemScan scan = scan_pem(trusted);
    CHECK(scan.problems.empty());
    REQUIRE(scan.certificates.size() == 1);
    CHECK(scan.certificates[0].info.is_ca);
    CHECK(scan.certificates[0].info.sha256_fingerprint ==
          parse_certificate_pem(to_pem(cert.get()))->sha256_fingerprint);
}
