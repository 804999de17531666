// libFuzzer: the certificate and key entry points of core/crypto*.cpp on
// arbitrary bytes, as they meet a CA's downloaded chain (split, parse the
// leaf, match the key, ARI id) and PEM files read back from hosts (key
// import, key match, host name coverage, revocation DER). scan_pem has its
// own target (pem_scan_fuzz). Beyond "no crash, leak, timeout or exception",
// documented invariants must hold, no entry point may ask for a passphrase
// (OpenSSL's default would prompt on the terminal: the fuzzer's UI method
// traps instead), and OpenSSL's error queue must be left empty.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <openssl/err.h>
#include <openssl/ui.h>

#include "core/crypto.hpp"
#include "core/hostname.hpp"

namespace {

using namespace certfleet::core;

void check_certificate(const Result<CertificateInfo>& info) {
    if (info && (info->sha256_fingerprint.size() != 64 || info->serial_hex.empty()))
        __builtin_trap();
}

// Decoders are strict, so whatever they accept must encode back to itself.
void check_base64(std::string_view text) {
    if (const auto raw = base64_decode(text); raw && base64_encode(*raw) != text)
        __builtin_trap();
    std::string_view unpadded = text;
    while (unpadded.ends_with('='))
        unpadded.remove_suffix(1);
    if (const auto raw = base64url_decode(text); raw && base64url_encode(*raw) != unpadded)
        __builtin_trap();
}

// A combined key + certificate file from a host.
void check_key_file(std::string_view bytes) {
    // OpenSSL 3 sets up its decoders for every key read (2.5 ms, 15 ms under
    // ASan): only inputs that could hold a key pay for it, or the target would
    // crawl at 60 runs/s.
    if (bytes.find("PRIVATE KEY") == std::string_view::npos)
        return;
    const auto key = PrivateKey::from_pem(bytes);
    if (!key)
        return;
    (void)key_matches_certificate(*key, bytes);
    if (key->jwk_thumbprint().size() != 43)
        __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    // PEM_def_callback asks through the default UI method; any use is a bug.
    UI_METHOD* trap = UI_create_method("certfleet fuzz: no passphrase prompts");
    UI_method_set_opener(trap, [](UI*) -> int { __builtin_trap(); });
    UI_method_set_reader(trap, [](UI*, UI_STRING*) -> int { __builtin_trap(); });
    UI_set_default_method(trap);
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view bytes(reinterpret_cast<const char*>(data), size);
    // A CA's chain, as the issuer takes it apart.
    const auto blocks = split_pem_certificates(bytes);
    for (const auto& block : blocks)
        if (!block.starts_with("-----BEGIN CERTIFICATE-----") ||
            !block.ends_with("-----END CERTIFICATE-----\n") ||
            block.find('\r') != std::string::npos)
            __builtin_trap();
    const auto leaf = parse_certificate_pem(bytes);
    check_certificate(leaf);
    if (!blocks.empty())
        check_certificate(parse_certificate_pem(blocks.front()));
    (void)ari_cert_id(bytes);
    (void)certificate_der(bytes);
    (void)certificate_covers(bytes, "www.example.test");
    (void)verify_chain(bytes, bytes);
    // A DER certificate, as a TLS probe gets it.
    check_certificate(parse_certificate_der(bytes));
    check_key_file(bytes);
    check_base64(bytes);
    if (ERR_peek_error() != 0)
        __builtin_trap();
    return 0;
}
