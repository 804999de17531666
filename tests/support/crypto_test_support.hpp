// Helpers shared by the crypto unit tests: one generated key per type (RSA 4096
// generation is slow, so each is made once per run), and DER / PEM builders
// for hand-made keys.
#pragma once

#include <map>
#include <string>
#include <utility>

#include <catch2/catch.hpp>

#include "core/crypto.hpp"
#include "core/crypto_internal.hpp"

namespace certfleet::core::test {

constexpr KeyType kAllKeyTypes[] = {KeyType::EcdsaP256, KeyType::EcdsaP384, KeyType::Rsa2048,
                                    KeyType::Rsa3072, KeyType::Rsa4096};

inline const PrivateKey& cached_key(KeyType type) {
    static std::map<KeyType, PrivateKey> keys;
    auto it = keys.find(type);
    if (it == keys.end()) {
        auto key = PrivateKey::generate(type);
        REQUIRE(key.ok());
        it = keys.emplace(type, std::move(key).value()).first;
    }
    return it->second;
}

// DER TLV with a definite length (enough for hand-built keys).
inline std::string der(unsigned char tag, const std::string& body) {
    std::string len;
    for (std::size_t n = body.size(); n > 0; n >>= 8)
        len.insert(len.begin(), static_cast<char>(n & 0xff));
    if (body.size() < 0x80)
        len = std::string(1, static_cast<char>(body.size()));
    else
        len.insert(len.begin(), static_cast<char>(0x80 | len.size()));
    return std::string(1, static_cast<char>(tag)) + len + body;
}

// A PEM block of `label` around `body`, 64 base64 characters a line.
inline std::string pem_block(const std::string& label, const std::string& body) {
    const std::string b64 = base64_encode(body);
    std::string out = "-----BEGIN " + label + "-----\n";
    for (std::size_t i = 0; i < b64.size(); i += 64)
        out += b64.substr(i, 64) + "\n";
    return out + "-----END " + label + "-----\n";
}

}  // namespace certfleet::core::test
