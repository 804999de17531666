// CSRs, certificate parsing, key matching and chain verification against a tiny
// CA built here with OpenSSL.
#include <chrono>
#include <ctime>

#include <catch2/catch.hpp>
#include <openssl/pem.h>

#include "support/crypto_test_support.hpp"

using namespace certfleet::core;
using namespace certfleet::core::detail;
using certfleet::core::test::cached_key;
using certfleet::core::test::kAllKeyTypes;

namespace {

struct IssuedCert {
    X509Ptr cert;
    std::string pem;
    std::time_t not_before;
    std::time_t not_after;
};

void add_extension(X509* cert, X509* issuer, int nid, const char* value) {
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
    X509ExtPtr ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value));
    REQUIRE(ext);
    REQUIRE(X509_add_ext(cert, ext.get(), -1) == 1);
}

// A v3 certificate for `key`, signed by `issuer_key` (self-signed when `issuer` is null).
IssuedCert issue(const PrivateKey& key, const std::string& cn, const char* san, bool ca,
                 X509* issuer, const PrivateKey& issuer_key, uint64_t serial) {
    IssuedCert out;
    out.cert.reset(X509_new());
    X509* cert = out.cert.get();
    REQUIRE(X509_set_version(cert, X509_VERSION_3) == 1);
    REQUIRE(ASN1_INTEGER_set_uint64(X509_get_serialNumber(cert), serial) == 1);
    out.not_before = std::time(nullptr) - 3600;
    out.not_after = out.not_before + 90 * 86400;
    REQUIRE(ASN1_TIME_set(X509_getm_notBefore(cert), out.not_before));
    REQUIRE(ASN1_TIME_set(X509_getm_notAfter(cert), out.not_after));
    X509_NAME* name = X509_get_subject_name(cert);
    REQUIRE(X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8, as_bytes("certfleet"), -1, -1,
                                       0) == 1);
    REQUIRE(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, as_bytes(cn), -1, -1, 0) == 1);
    REQUIRE(X509_set_issuer_name(cert, issuer ? X509_get_subject_name(issuer) : name) == 1);
    REQUIRE(X509_set_pubkey(cert, key.raw()) == 1);
    add_extension(cert, issuer ? issuer : cert, NID_basic_constraints,
                  ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
    if (san)
        add_extension(cert, issuer ? issuer : cert, NID_subject_alt_name, san);
    REQUIRE(X509_sign(cert, issuer_key.raw(), EVP_sha256()) > 0);
    BioPtr bio(BIO_new(BIO_s_mem()));
    REQUIRE(PEM_write_bio_X509(bio.get(), cert) == 1);
    out.pem = bio_contents(bio.get());
    return out;
}

IssuedCert make_ca(const PrivateKey& key, const std::string& cn) {
    return issue(key, cn, nullptr, true, nullptr, key, 1);
}

std::vector<std::string> csr_dns_names(X509_REQ* req, bool* critical) {
    std::vector<std::string> out;
    ExtensionStackPtr exts(X509_REQ_get_extensions(req));
    REQUIRE(exts);
    for (int i = 0; i < sk_X509_EXTENSION_num(exts.get()); ++i) {
        X509_EXTENSION* ext = sk_X509_EXTENSION_value(exts.get(), i);
        if (OBJ_obj2nid(X509_EXTENSION_get_object(ext)) != NID_subject_alt_name)
            continue;
        *critical = X509_EXTENSION_get_critical(ext) == 1;
        GeneralNamesPtr names(static_cast<GENERAL_NAMES*>(X509V3_EXT_d2i(ext)));
        REQUIRE(names);
        for (int j = 0; j < sk_GENERAL_NAME_num(names.get()); ++j) {
            const GENERAL_NAME* gn = sk_GENERAL_NAME_value(names.get(), j);
            REQUIRE(gn->type == GEN_DNS);
            const ASN1_STRING* s = gn->d.dNSName;
            out.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                             static_cast<size_t>(ASN1_STRING_length(s)));
        }
    }
    return out;
}

X509ReqPtr parse_csr(const std::string& der) {
    const unsigned char* p = as_bytes(der);
    X509ReqPtr req(d2i_X509_REQ(nullptr, &p, static_cast<long>(der.size())));
    REQUIRE(req);
    CHECK(p == as_bytes(der) + der.size());
    return req;
}

}  // namespace

TEST_CASE("CSRs for every key type", "[crypto]") {
    const std::vector<std::string> domains = {"example.test", "*.example.test", "www.example.test"};
    for (KeyType type : kAllKeyTypes) {
        INFO(key_type_name(type));
        const PrivateKey& key = cached_key(type);
        auto der = make_csr_der(key, domains);
        REQUIRE(der.ok());
        X509ReqPtr req = parse_csr(*der);
        CHECK(X509_REQ_get_version(req.get()) == 0);
        EVP_PKEY* pub = X509_REQ_get0_pubkey(req.get());
        REQUIRE(pub);
        CHECK(X509_REQ_verify(req.get(), pub) == 1);
        CHECK(EVP_PKEY_eq(pub, key.raw()) == 1);
        CHECK(EVP_PKEY_is_a(pub, key.jws_algorithm().starts_with("ES") ? "EC" : "RSA"));
        const int bits = type == KeyType::EcdsaP256   ? 256
                         : type == KeyType::EcdsaP384 ? 384
                         : type == KeyType::Rsa2048   ? 2048
                         : type == KeyType::Rsa3072   ? 3072
                                                      : 4096;
        CHECK(EVP_PKEY_get_bits(pub) == bits);
        const X509_ALGOR* sig_alg = nullptr;
        X509_REQ_get0_signature(req.get(), nullptr, &sig_alg);
        const ASN1_OBJECT* sig_oid = nullptr;
        X509_ALGOR_get0(&sig_oid, nullptr, nullptr, sig_alg);
        CHECK(OBJ_obj2nid(sig_oid) ==
              (bits < 1024 ? NID_ecdsa_with_SHA256 : NID_sha256WithRSAEncryption));
        char cn[128] = {};
        CHECK(X509_NAME_get_text_by_NID(X509_REQ_get_subject_name(req.get()), NID_commonName, cn,
                                        sizeof cn) > 0);
        CHECK(std::string(cn) == "example.test");
        bool critical = true;
        CHECK(csr_dns_names(req.get(), &critical) == domains);
        CHECK_FALSE(critical);
    }
}

TEST_CASE("CSR with a first name too long for the CN", "[crypto]") {
    const std::string long_name = std::string(60, 'a') + ".example.test";  // 73 bytes
    auto der = make_csr_der(cached_key(KeyType::EcdsaP256), {long_name, "b.example.test"});
    REQUIRE(der.ok());
    X509ReqPtr req = parse_csr(*der);
    CHECK(X509_NAME_entry_count(X509_REQ_get_subject_name(req.get())) == 0);
    bool critical = false;
    CHECK(csr_dns_names(req.get(), &critical) ==
          std::vector<std::string>{long_name, "b.example.test"});
    CHECK(critical);  // RFC 5280: empty subject means a critical SAN

    CHECK_FALSE(make_csr_der(cached_key(KeyType::EcdsaP256), {}).ok());
    CHECK_FALSE(make_csr_der(cached_key(KeyType::EcdsaP256), {"a.test", ""}).ok());
}

TEST_CASE("certificate parsing, key match and chain verification", "[crypto]") {
    const PrivateKey& ca_key = cached_key(KeyType::EcdsaP384);
    const PrivateKey& leaf_key = cached_key(KeyType::EcdsaP256);
    const IssuedCert ca = make_ca(ca_key, "certfleet test CA");
    const IssuedCert leaf =
        issue(leaf_key, "leaf.example.test", "DNS:leaf.example.test,DNS:*.leaf.example.test", false,
              ca.cert.get(), ca_key, 0x0102030405060708ULL);

    auto info = parse_certificate_pem(leaf.pem);
    REQUIRE(info.ok());
    CHECK(info->serial_hex == "0102030405060708");  // as `openssl x509 -serial` prints it
    CHECK(info->not_before == TimePoint(Seconds(leaf.not_before)));
    CHECK(info->not_after == TimePoint(Seconds(leaf.not_after)));
    CHECK(info->dns_names == std::vector<std::string>{"leaf.example.test", "*.leaf.example.test"});
    CHECK(info->subject == "CN=leaf.example.test,O=certfleet");
    CHECK(info->issuer == "CN=certfleet test CA,O=certfleet");
    CHECK_FALSE(info->is_ca);
    CHECK(info->sha256_fingerprint.size() == 64);
    CHECK(info->sha256_fingerprint == hex_encode(sha256(certificate_der(leaf.pem).value())));

    auto ca_info = parse_certificate_pem(ca.pem);
    REQUIRE(ca_info.ok());
    CHECK(ca_info->is_ca);
    CHECK(ca_info->serial_hex == "01");
    CHECK(ca_info->dns_names.empty());

    auto der = certificate_der(leaf.pem);
    REQUIRE(der.ok());
    auto from_der = parse_certificate_der(*der);
    REQUIRE(from_der.ok());
    CHECK(from_der->sha256_fingerprint == info->sha256_fingerprint);
    CHECK(from_der->not_after == info->not_after);
    CHECK_FALSE(parse_certificate_der(*der + "x").ok());
    CHECK_FALSE(parse_certificate_der("garbage").ok());
    CHECK_FALSE(parse_certificate_pem("no pem here").ok());

    CHECK(key_matches_certificate(leaf_key, leaf.pem).value());
    CHECK_FALSE(key_matches_certificate(ca_key, leaf.pem).value());
    CHECK_FALSE(key_matches_certificate(cached_key(KeyType::Rsa2048), leaf.pem).value());

    // A bundle with a non-certificate block in between and CRLF line ends.
    std::string crlf_ca;
    for (char c : ca.pem)
        crlf_ca += c == '\n' ? std::string("\r\n") : std::string(1, c);
    const std::string bundle =
        leaf.pem + "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE " + "KEY-----\n" + crlf_ca;
    const auto blocks = split_pem_certificates(bundle);
    REQUIRE(blocks.size() == 2);
    CHECK(blocks[0] == leaf.pem);
    CHECK(blocks[1] == ca.pem);
    CHECK(split_pem_certificates("").empty());
    CHECK(split_pem_certificates("-----BEGIN CERTIFICATE-----\nAAAA").empty());

    CHECK(verify_chain(leaf.pem, ca.pem).ok());
    CHECK(verify_chain(leaf.pem + ca.pem, ca.pem).ok());

    const IssuedCert other_root = make_ca(cached_key(KeyType::Rsa2048), "unrelated root");
    auto bad = verify_chain(leaf.pem, other_root.pem);
    REQUIRE_FALSE(bad.ok());
    CHECK_THAT(bad.error().message, Catch::Contains("unable to get local issuer certificate"));
    CHECK_THAT(bad.error().message, Catch::Contains("CN=leaf.example.test"));
    CHECK_FALSE(verify_chain("", ca.pem).ok());
    CHECK_FALSE(verify_chain(leaf.pem, "").ok());
}

TEST_CASE("serials are spelled as openssl x509 -serial prints them", "[crypto]") {
    CHECK(canonical_serial("4a1f3c9e27b") == "04A1F3C9E27B");  // certfleet's older spelling
    CHECK(canonical_serial("04:a1:f3:c9:e2:7b") == "04A1F3C9E27B");
    CHECK(canonical_serial("04A1F3C9E27B") == "04A1F3C9E27B");
    CHECK(canonical_serial("000001") == "01");
    CHECK(canonical_serial("0") == "00");
    CHECK(canonical_serial("-1f") == "-1F");
    CHECK(canonical_serial("").empty());
}
