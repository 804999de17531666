// Keys, JWK thumbprints, JWS signatures and encodings. Certificates and CSRs are
// in crypto_x509_test.cpp.
#include <stdexcept>

#include <catch2/catch.hpp>
#include <openssl/core_names.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>

#include "support/crypto_test_support.hpp"

using namespace certfleet::core;
using namespace certfleet::core::detail;
using certfleet::core::test::cached_key;
using certfleet::core::test::kAllKeyTypes;

namespace {

// RFC 7515 Appendix A.2 (the RSA key of RFC 7517 Appendix A.2).
const char* const kA2N =
    "ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d"
    "4QlL-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSHSXndS5z5rexM"
    "dbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvU"
    "K-DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ";
const std::pair<const char*, const char*> kA2Params[] = {
    {OSSL_PKEY_PARAM_RSA_N, kA2N},
    {OSSL_PKEY_PARAM_RSA_E, "AQAB"},
    {OSSL_PKEY_PARAM_RSA_D,
     "Eq5xpGnNCivDflJsRQBXHx1hdR1k6Ulwe2JZD50LpXyWPEAeP88vLNO97IjlA7_GQ5sLKMgvfTeXZx9SE-7YwVol2NXOo"
     "AJe46sui395IW_GO-pWJ1O0BkTGoVEn2bKVRUCgu-GjBVaYLU6f3l9kJfFNS3E0QbVdxzubSu3Mkqzjkn439X0M_V51gf"
     "pRLI9JYanrC4D4qAdGcopV_0ZHHzQlBjudU2QvXt4ehNYTCBr6XCLQUShb1juUO1ZdiYoFaFQT5Tw8bGUl_x_jTj3ccPD"
     "VZFD9pIuhLhBOneufuBiB4cS98l2SR_RQyGWSeWjnczT0QU91p1DhOVRuOopznQ"},
    {OSSL_PKEY_PARAM_RSA_FACTOR1,
     "4BzEEOtIpmVdVEZNCqS7baC4crd0pqnRH_5IB3jw3bcxGn6QLvnEtfdUdiYrqBdss1l58BQ3KhooKeQTa9AB0Hw_Py5PJ"
     "dTJNPY8cQn7ouZ2KKDcmnPGBY5t7yLc1QlQ5xHdwW1VhvKn-nXqhJTBgIPgtldC-KDV5z-y2XDwGUc"},
    {OSSL_PKEY_PARAM_RSA_FACTOR2,
     "uQPEfgmVtjL0Uyyx88GZFF1fOunH3-7cepKmtH4pxhtCoHqpWmT8YAmZxaewHgHAjLYsp1ZSe7zFYHj7C6ul7TjeLQeZD"
     "_YwD66t62wDmpe_HlB-TnBA-njbglfIsRLtXlnDzQkv5dTltRJ11BKBBypeeF6689rjcJIDEz9RWdc"},
    {OSSL_PKEY_PARAM_RSA_EXPONENT1,
     "BwKfV3Akq5_MFZDFZCnW-wzl-CCo83WoZvnLQwCTeDv8uzluRSnm71I3QCLdhrqE2e9YkxvuxdBfpT_PI7Yz-FOKnu1R6"
     "HsJeDCjn12Sk3vmAktV2zb34MCdy7cpdTh_YVr7tss2u6vneTwrA86rZtu5Mbr1C1XsmvkxHQAdYo0"},
    {OSSL_PKEY_PARAM_RSA_EXPONENT2,
     "h_96-mK1R_7glhsum81dZxjTnYynPbZpHziZjeeHcXYsXaaMwkOlODsWa7I9xXDoRwbKgB719rrmI2oKr6N3Do9U0ajaH"
     "F-NKJnwgjMd2w9cjz3_-kyNlxAr2v4IKhGNpmM5iIgOS1VZnOZ68m6_pbLBSp3nssTdlqvd0tIiTHU"},
    {OSSL_PKEY_PARAM_RSA_COEFFICIENT1,
     "IYd7DHOhrWvxkwPQsRM2tOgrjbcrfvtQJipd-DlcxyVuuM9sQLdgjVk2oy26F0EmpScGLq2MowX7fhd_QJQ3ydy5cY7YI"
     "Bi87w93IKLEdfnbJtoOPLUW0ITrJReOgo1cq9SbsxYawBgfp_gh6A5603k2-ZQwVK0JKSHuLFkuQ3U"},
};
const char* const kA2SigningInput =
    "eyJhbGciOiJSUzI1NiJ9."
    "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlf"
    "Q";
const char* const kA2Signature =
    "cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7AAuHIm4Bh-0Qc_lF5YKt_O8W2Fp5j"
    "ujGbds9uJdbF9CUAr7t1dnZcAcQjbKBYNX4BAynRFdiuB--f_nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb1L"
    "07Qe7K0GarZRmB_eSN9383LcOLn6_dO--xi12jzDwusC-eOkHWEsqtFZESc6BfI7noOPqvhJ1phCnvWh6IeYI2w9QOYEU"
    "ipUTI8np6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrBp0igcN_IoypGlUPQGe77Rw";

using ParamBldPtr = OsslPtr<OSSL_PARAM_BLD, OSSL_PARAM_BLD_free>;
using ParamsPtr = OsslPtr<OSSL_PARAM, OSSL_PARAM_free>;

// Builds an EVP_PKEY from base64url JWK parameters (EVP_PKEY_fromdata).
EVP_PKEY* rsa_from_jwk_params(const std::pair<const char*, const char*>* params, size_t count,
                              int selection) {
    ParamBldPtr bld(OSSL_PARAM_BLD_new());
    REQUIRE(bld);
    std::vector<BignumPtr> numbers;  // must outlive OSSL_PARAM_BLD_to_param
    for (size_t i = 0; i < count; ++i) {
        auto bytes = base64url_decode(params[i].second);
        REQUIRE(bytes.ok());
        numbers.emplace_back(BN_bin2bn(as_bytes(*bytes), static_cast<int>(bytes->size()), nullptr));
        REQUIRE(OSSL_PARAM_BLD_push_BN(bld.get(), params[i].first, numbers.back().get()) == 1);
    }
    ParamsPtr ossl_params(OSSL_PARAM_BLD_to_param(bld.get()));
    PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "RSA", nullptr));
    REQUIRE(ctx);
    REQUIRE(EVP_PKEY_fromdata_init(ctx.get()) == 1);
    EVP_PKEY* key = nullptr;
    REQUIRE(EVP_PKEY_fromdata(ctx.get(), &key, selection, ossl_params.get()) == 1);
    return key;
}

// JWS R||S back to DER, then OpenSSL's own verification.
bool verify_jws_signature(const PrivateKey& key, std::string_view input, const std::string& sig) {
    std::string der = sig;
    const EVP_MD* md = key.type() == KeyType::EcdsaP384 ? EVP_sha384() : EVP_sha256();
    if (key.jws_algorithm().starts_with("ES")) {
        const int half = static_cast<int>(sig.size() / 2);
        EcdsaSigPtr ecdsa(ECDSA_SIG_new());
        REQUIRE(ecdsa);
        BIGNUM* r = BN_bin2bn(as_bytes(sig), half, nullptr);
        BIGNUM* s = BN_bin2bn(as_bytes(sig) + half, half, nullptr);
        REQUIRE(ECDSA_SIG_set0(ecdsa.get(), r, s) == 1);
        unsigned char* out = nullptr;
        const int len = i2d_ECDSA_SIG(ecdsa.get(), &out);
        REQUIRE(len > 0);
        der.assign(reinterpret_cast<const char*>(out), static_cast<size_t>(len));
        OPENSSL_free(out);
    }
    MdCtxPtr ctx(EVP_MD_CTX_new());
    REQUIRE(EVP_DigestVerifyInit(ctx.get(), nullptr, md, nullptr, key.raw()) == 1);
    return EVP_DigestVerify(ctx.get(), as_bytes(der), der.size(), as_bytes(input), input.size()) ==
           1;
}

std::string pem_of(EVP_PKEY* key, bool traditional) {
    BioPtr bio(BIO_new(BIO_s_mem()));
    const int rc = traditional ? PEM_write_bio_PrivateKey_traditional(bio.get(), key, nullptr,
                                                                      nullptr, 0, nullptr, nullptr)
                               : PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0,
                                                          nullptr, nullptr);
    REQUIRE(rc == 1);
    return bio_contents(bio.get());
}

}  // namespace

TEST_CASE("key type names round-trip", "[crypto]") {
    for (KeyType t : kAllKeyTypes)
        CHECK(parse_key_type(key_type_name(t)) == t);
    CHECK(key_type_name(KeyType::EcdsaP256) == "ecdsa-p256");
    CHECK(key_type_name(KeyType::Rsa3072) == "rsa-3072");
    CHECK_FALSE(parse_key_type("rsa-1024"));
    CHECK_FALSE(parse_key_type("ECDSA-P256"));
}

TEST_CASE("RFC 7638 thumbprint of the §3.1 example JWK", "[crypto]") {
    const auto jwk = nlohmann::json::parse(R"({"kty":"RSA",
        "n":"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
        "e":"AQAB","alg":"RS256","kid":"2011-04-29"})");
    CHECK(jwk_thumbprint(jwk) == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
    CHECK_THROWS_AS(jwk_thumbprint(nlohmann::json{{"kty", "RSA"}, {"n", "AQAB"}}),
                    std::invalid_argument);
    CHECK_THROWS_AS(jwk_thumbprint(nlohmann::json{{"kty", "XYZ"}}), std::invalid_argument);
    CHECK_THROWS_AS(jwk_thumbprint(nlohmann::json::array()), std::invalid_argument);
}

TEST_CASE("generated keys: JWK shape, thumbprint, algorithm", "[crypto]") {
    for (KeyType type : kAllKeyTypes) {
        INFO(key_type_name(type));
        const PrivateKey& key = cached_key(type);
        CHECK(key.type() == type);
        const auto jwk = key.public_jwk();
        CHECK(key.jwk_thumbprint() == jwk_thumbprint(jwk));
        CHECK(key.jwk_thumbprint().size() == 43);
        if (type == KeyType::EcdsaP256 || type == KeyType::EcdsaP384) {
            const bool p256 = type == KeyType::EcdsaP256;
            CHECK(jwk.dump().starts_with(R"({"crv":")"));
            CHECK(jwk.size() == 4);
            CHECK(jwk["kty"] == "EC");
            CHECK(jwk["crv"] == (p256 ? "P-256" : "P-384"));
            CHECK(jwk["x"].get<std::string>().size() == (p256 ? 43u : 64u));
            CHECK(jwk["y"].get<std::string>().size() == (p256 ? 43u : 64u));
            CHECK(key.jws_algorithm() == (p256 ? "ES256" : "ES384"));
        } else {
            CHECK(jwk.size() == 3);
            CHECK(jwk["kty"] == "RSA");
            CHECK(jwk["e"] == "AQAB");
            const size_t bits = type == KeyType::Rsa2048   ? 2048
                                : type == KeyType::Rsa3072 ? 3072
                                                           : 4096;
            CHECK(base64url_decode(jwk["n"].get<std::string>())->size() == bits / 8);
            CHECK(key.jws_algorithm() == "RS256");
        }
    }
}

TEST_CASE("RFC 7515 A.2 RS256 signature is reproduced exactly", "[crypto]") {
    auto key = PrivateKey::from_evp(
        rsa_from_jwk_params(kA2Params, std::size(kA2Params), EVP_PKEY_KEYPAIR));
    REQUIRE(key.ok());
    CHECK(key->type() == KeyType::Rsa2048);
    CHECK(key->jws_algorithm() == "RS256");
    CHECK(key->public_jwk()["n"] == kA2N);
    auto sig = key->sign(kA2SigningInput);
    REQUIRE(sig.ok());
    CHECK(base64url_encode(*sig) == kA2Signature);

    // Only the public half: refused, since it could never sign.
    auto pub = PrivateKey::from_evp(rsa_from_jwk_params(kA2Params, 2, EVP_PKEY_PUBLIC_KEY));
    REQUIRE_FALSE(pub.ok());
    CHECK(pub.error().message.find("no private part") != std::string::npos);
    CHECK_FALSE(PrivateKey::from_evp(nullptr).ok());
}

TEST_CASE("signatures verify with OpenSSL and have JWS sizes", "[crypto]") {
    const std::string input = "eyJhbGciOiJFUzI1NiJ9.eyJub25jZSI6IngifQ";
    for (KeyType type : kAllKeyTypes) {
        INFO(key_type_name(type));
        const PrivateKey& key = cached_key(type);
        auto sig = key.sign(input);
        REQUIRE(sig.ok());
        if (type == KeyType::EcdsaP256)
            CHECK(sig->size() == 64);
        if (type == KeyType::EcdsaP384)
            CHECK(sig->size() == 96);
        if (type == KeyType::Rsa3072)
            CHECK(sig->size() == 384);
        CHECK(verify_jws_signature(key, input, *sig));
        CHECK_FALSE(verify_jws_signature(key, input + "x", *sig));
    }
}

TEST_CASE("PEM import and export", "[crypto]") {
    for (KeyType type : kAllKeyTypes) {
        INFO(key_type_name(type));
        const PrivateKey& key = cached_key(type);
        const std::string pem = key.to_pem();
        CHECK(pem.starts_with("-----BEGIN PRIVATE KEY-----\n"));
        auto back = PrivateKey::from_pem(pem);
        REQUIRE(back.ok());
        CHECK(back->type() == type);
        CHECK(back->public_jwk() == key.public_jwk());
    }
    SECTION("traditional EC and RSA PEM") {
        for (KeyType type : {KeyType::EcdsaP384, KeyType::Rsa2048}) {
            const std::string pem = pem_of(cached_key(type).raw(), true);
            CHECK(pem.starts_with(type == KeyType::Rsa2048 ? "-----BEGIN RSA PRIVATE KEY-----"
                                                           : "-----BEGIN EC PRIVATE KEY-----"));
            auto back = PrivateKey::from_pem(pem);
            REQUIRE(back.ok());
            CHECK(back->type() == type);
        }
    }
    SECTION("unsupported curves, sizes and algorithms are refused") {
        auto refused = [](EVP_PKEY* raw, const std::string& expected) {
            PkeyPtr key(raw);
            REQUIRE(key);
            auto result = PrivateKey::from_pem(pem_of(key.get(), false));
            REQUIRE_FALSE(result.ok());
            CHECK_THAT(result.error().message, Catch::Contains(expected));
        };
        refused(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-521"), "unsupported EC curve");
        refused(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{1024}),
                "unsupported RSA key size 1024");
        refused(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"), "unsupported key algorithm");
    }
    SECTION("encrypted and malformed PEM fail without prompting or echoing the key") {
        BioPtr bio(BIO_new(BIO_s_mem()));
        char password[] = "secret";
        REQUIRE(PEM_write_bio_PKCS8PrivateKey(bio.get(), cached_key(KeyType::EcdsaP256).raw(),
                                              EVP_aes_256_cbc(), password, 6, nullptr,
                                              nullptr) == 1);
        const std::string encrypted = bio_contents(bio.get());
        auto result = PrivateKey::from_pem(encrypted);
        REQUIRE_FALSE(result.ok());
        CHECK_THAT(result.error().message, Catch::Contains("error:"));
        const std::string body = encrypted.substr(encrypted.find('\n') + 1, 40);
        CHECK(result.error().describe().find(body) == std::string::npos);

        CHECK_FALSE(PrivateKey::from_pem("").ok());
        CHECK_FALSE(PrivateKey::from_pem("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE "
                                         "KEY-----\n")
                        .ok());
    }
}

TEST_CASE("base64 and base64url follow RFC 4648 strictly", "[crypto]") {
    // RFC 4648 §10 vectors.
    const std::pair<const char*, const char*> vectors[] = {
        {"", ""},
        {"f", "Zg=="},
        {"fo", "Zm8="},
        {"foo", "Zm9v"},
        {"foob", "Zm9vYg=="},
        {"fooba", "Zm9vYmE="},
        {"foobar", "Zm9vYmFy"},
    };
    for (const auto& [plain, encoded] : vectors) {
        CHECK(base64_encode(plain) == encoded);
        CHECK(base64_decode(encoded).value() == plain);
        std::string unpadded = encoded;
        unpadded.erase(unpadded.find_last_not_of('=') + 1);
        CHECK(base64url_encode(plain) == unpadded);
        CHECK(base64url_decode(unpadded).value() == plain);
        CHECK(base64url_decode(encoded).value() == plain);  // padding tolerated
    }
    CHECK(base64_encode("\xfb\xff") == "+/8=");
    CHECK(base64url_encode("\xfb\xff") == "-_8");

    std::string all;
    for (int i = 0; i < 256; ++i)
        all += static_cast<char>(i);
    for (size_t len = 0; len <= all.size(); len += 37) {
        const std::string data = all.substr(all.size() - len);
        CHECK(base64_decode(base64_encode(data)).value() == data);
        CHECK(base64url_decode(base64url_encode(data)).value() == data);
    }

    for (const char* bad :
         {"Zg", "Zg=", "Z===", "Zm9v\n", "Zh==", "Z", "-_8=", "Zm=v", "====", "Zm9v Zg=="})
        CHECK_FALSE(base64_decode(bad).ok());
    for (const char* bad : {"+/8", "Zh", "Z", "Zg=", "Zg===", "Zm9v=", "Zg==Zg==", "a.b"})
        CHECK_FALSE(base64url_decode(bad).ok());
}

TEST_CASE("digests, HMAC and random tokens", "[crypto]") {
    CHECK(hex_encode(sha256("abc")) ==
          "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    CHECK(hex_encode(std::string("\x00\x0f\xa0\xff", 4)) == "000fa0ff");
    // RFC 4231 test case 2.
    CHECK(hex_encode(hmac_sha256("Jefe", "what do ya want for nothing?")) ==
          "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    CHECK(hex_encode(hmac_sha256("", "")) ==
          "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
    const std::string a = random_hex(16);
    CHECK(a.size() == 32);
    CHECK(a.find_first_not_of("0123456789abcdef") == std::string::npos);
    CHECK(a != random_hex(16));
    CHECK(random_hex(0).empty());
}
