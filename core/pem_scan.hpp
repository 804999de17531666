// Every certificate and private key in a PEM file of unknown content (a file
// found on a host during an audit): chains, bundles, combined cert+key files.
// Keys are matched to certificates by the SHA-256 of the SubjectPublicKeyInfo,
// which never reveals anything secret.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "core/crypto.hpp"
#include "core/result.hpp"

namespace certfleet::core {

struct PemCertificate {
    CertificateInfo info;           // info.is_ca: basicConstraints CA:TRUE
    std::string public_key_sha256;  // lowercase hex SHA-256 of the DER SubjectPublicKeyInfo
};

struct PemPrivateKey {
    std::string
        public_key_sha256;   // of its public half (same encoding as above); "" when unreadable
    bool encrypted = false;  // "ENCRYPTED PRIVATE KEY" or a Proc-Type: 4,ENCRYPTED header
    std::string label;       // the BEGIN label, e.g. "EC PRIVATE KEY", "OPENSSH PRIVATE KEY"
};

struct PemScan {
    std::vector<PemCertificate> certificates;  // in file order, CA certificates included
    std::vector<PemPrivateKey> keys;           // every private-key block, parseable or not
    // e.g. "block 3 (CERTIFICATE): not a valid X.509 certificate"; never contains key bytes
    std::vector<std::string> problems;
};

// True when `bytes` contains a "-----BEGIN " line (cheap pre-filter).
bool looks_like_pem(std::string_view bytes);

// Never throws, never prompts for a passphrase, bounded: at most `max_blocks`
// blocks are looked at. Encrypted and OpenSSH keys are listed with an empty
// fingerprint and are not problems.
PemScan scan_pem(std::string_view bytes, std::size_t max_blocks = 64);

// The same fingerprint for a certificate PEM's first certificate / a private
// key, for callers that have them.
Result<std::string> certificate_public_key_sha256(std::string_view cert_pem);
Result<std::string> public_key_sha256(const PrivateKey& key);

}  // namespace certfleet::core
