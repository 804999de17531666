// PrivateKey::from_pem reads key files that come back from hosts (adoption,
// the deployed pair's check): a crafted DSA key must be refused at once, not
// decoded. OpenSSL computes g^x mod p while decoding one, unbounded (found
// next to fuzz/x509_fuzz.cpp: 32000-bit numbers take 10 s, 1 MiB far longer).
#include <chrono>
#include <string>

#include <catch2/catch.hpp>

#include "core/crypto.hpp"

using namespace certfleet::core;

namespace {

std::string der(unsigned char tag, const std::string& body) {
    std::string len;
    for (std::size_t n = body.size(); n > 0; n >>= 8)
        len.insert(len.begin(), static_cast<char>(n & 0xff));
    if (body.size() < 0x80)
        len = std::string(1, static_cast<char>(body.size()));
    else
        len.insert(len.begin(), static_cast<char>(0x80 | len.size()));
    return std::string(1, static_cast<char>(tag)) + len + body;
}

std::string pem_block(const std::string& label, const std::string& body) {
    const std::string b64 = base64_encode(body);
    std::string out = "-----BEGIN " + label + "-----\n";
    for (std::size_t i = 0; i < b64.size(); i += 64)
        out += b64.substr(i, 64) + "\n";
    return out + "-----END " + label + "-----\n";
}

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
