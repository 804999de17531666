// PrivateKey::from_pem reads key files that come back from hosts (adoption,
// the deployed pair's check): a crafted DSA key must be refused at once, not
// decoded. OpenSSL computes g^x mod p while decoding one, unbounded (found
// next to fuzz/x509_fuzz.cpp: 32000-bit numbers take 10 s, 1 MiB far longer).
#include <chrono>
#include <string>

#include <catch2/catch.hpp>

#include "core/crypto.hpp"
#include "support/crypto_test_support.hpp"

using namespace certfleet::core;
using certfleet::core::test::der;
using certfleet::core::test::pem_block;

namespace {

// PKCS#8 DSA without the public value; p, g and x of `bytes` bytes each.
std::string dsa_key_info(std::size_t bytes) {
    const std::string big = der(0x02, "\x7f" + std::string(bytes - 1, '\xab'));
    const std::string dsa_oid = der(0x06, "\x2a\x86\x48\xce\x38\x04\x01");
    const std::string params = der(0x30, big + der(0x02, std::string(32, '\x11')) + big);
    return der(0x30,
               der(0x02, std::string(1, '\0')) + der(0x30, dsa_oid + params) + der(0x04, big));
}

}  // namespace

TEST_CASE("a DSA key too large to decode safely is refused at once", "[crypto]") {
    const std::string info = dsa_key_info(4000);
    const std::string leaf = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
    for (const std::string& pem :
         {pem_block("PRIVATE KEY", info), pem_block("DSA PRIVATE KEY", info),
          leaf + pem_block("PRIVATE KEY", info)}) {
        const auto start = std::chrono::steady_clock::now();
        const auto key = PrivateKey::from_pem(pem);
        CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(1));
        REQUIRE_FALSE(key);
        CHECK_THAT(key.error().message, Catch::Contains("DSA / DH key too large to read safely"));
    }
    // A small one is still decoded, and refused for its algorithm.
    const auto small = PrivateKey::from_pem(pem_block("PRIVATE KEY", dsa_key_info(128)));
    REQUIRE_FALSE(small);
    CHECK_THAT(small.error().message, !Catch::Contains("too large"));
}
