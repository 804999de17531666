// Helpers shared by the crypto unit tests: one generated key per type (RSA 4096
// generation is slow, so each is made once per run).
#pragma once

#include <map>
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

}  // namespace certfleet::core::test
