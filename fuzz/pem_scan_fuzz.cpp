// libFuzzer: scan_pem (and the other entry points) on arbitrary bytes. Beyond
// "no crash, leak or timeout", the documented bounds and invariants must hold
// and OpenSSL's error queue must be left empty.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include <openssl/err.h>

#include "core/pem_scan.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace certfleet::core;
    const std::string_view bytes(reinterpret_cast<const char*>(data), size);
    const bool pem = looks_like_pem(bytes);
    const PemScan scan = scan_pem(bytes, 16);
    const std::size_t found = scan.certificates.size() + scan.keys.size();
    if (found > 16 || (!pem && found + scan.problems.size() > 0))
        __builtin_trap();
    for (const auto& key : scan.keys)
        if ((key.encrypted && !key.public_key_sha256.empty()) ||
            !(key.public_key_sha256.empty() || key.public_key_sha256.size() == 64) ||
            !key.label.ends_with("PRIVATE KEY"))
            __builtin_trap();
    for (const auto& cert : scan.certificates)
        if (cert.public_key_sha256.size() != 64 || cert.info.sha256_fingerprint.size() != 64)
            __builtin_trap();
    (void)certificate_public_key_sha256(bytes);
    if (ERR_peek_error() != 0)
        __builtin_trap();
    return 0;
}
