// PEM files found on hosts: each block is cut out by its BEGIN / END lines
// here and handed to OpenSSL on its own, so one damaged block never hides the
// others and a key block is never mistaken for a certificate.
#include "core/pem_scan.hpp"

#include <climits>
#include <optional>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include "core/crypto_internal.hpp"

namespace certfleet::core {

using namespace detail;

namespace {

constexpr std::string_view kBegin = "-----BEGIN ";
constexpr std::string_view kEnd = "-----END ";
constexpr std::string_view kDashes = "-----";
// RFC 7468 labels are short words; anything longer is not a boundary line,
// and the cap keeps problem messages short.
constexpr std::size_t kMaxLabel = 64;

// The default callback would ask for a passphrase on the terminal; an audit
// must never stop to wait for one. -1 (not 0) so OpenSSL does not even try
// an empty passphrase.
int no_passphrase(char*, int, int, void*) {
    return -1;
}

struct Line {
    std::string_view text;  // without the line ending and trailing whitespace
    std::size_t next = 0;   // offset of the following line
};

Line line_at(std::string_view bytes, std::size_t pos) {
    const std::size_t nl = bytes.find('\n', pos);
    const std::size_t stop = nl == std::string_view::npos ? bytes.size() : nl;
    std::string_view text = bytes.substr(pos, stop - pos);
    // OpenSSL strips trailing whitespace (and so the '\r' of CRLF files) too.
    while (!text.empty() && static_cast<unsigned char>(text.back()) <= ' ')
        text.remove_suffix(1);
    return Line{text, nl == std::string_view::npos ? bytes.size() : nl + 1};
}

// The label of a "-----BEGIN X-----" / "-----END X-----" line.
std::optional<std::string_view> boundary_label(std::string_view line, std::string_view prefix) {
    if (line.size() < prefix.size() + kDashes.size() || !line.starts_with(prefix) ||
        !line.ends_with(kDashes))
        return std::nullopt;
    const std::string_view label =
        line.substr(prefix.size(), line.size() - prefix.size() - kDashes.size());
    if (label.empty() || label.size() > kMaxLabel)
        return std::nullopt;
    for (char c : label)
        if (c < 0x20 || c > 0x7e)
            return std::nullopt;
    return label;
}

enum class Kind { Certificate, TrustedCertificate, PrivateKey, Other };

Kind kind_of(std::string_view label) {
    if (label == "CERTIFICATE" || label == "X509 CERTIFICATE")
        return Kind::Certificate;
    if (label == "TRUSTED CERTIFICATE")
        return Kind::TrustedCertificate;
    if (label.ends_with("PRIVATE KEY"))
        return Kind::PrivateKey;
    return Kind::Other;
}

struct Block {
    std::size_t number = 0;  // 1-based, counting every BEGIN line
    std::string_view label;
    std::string_view text;  // from the BEGIN line through the END line
    bool complete = false;  // an END line with the same label was found
    bool end_mismatch = false;
    bool encrypted_header = false;  // RFC 1421 "Proc-Type: 4,ENCRYPTED"
};

std::string where(const Block& block) {
    return "block " + std::to_string(block.number) + " (" + std::string(block.label) + "): ";
}

Result<std::string> sha256_hex_of_der(const unsigned char* der, int len, std::string_view what) {
    if (len <= 0)
        return openssl_failure(what);
    return hex_encode(sha256(
        std::string_view(reinterpret_cast<const char*>(der), static_cast<std::size_t>(len))));
}

Result<std::string> cert_spki_sha256(X509* cert) {
    unsigned char* der = nullptr;
    const int len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert), &der);
    auto out = sha256_hex_of_der(der, len, "encoding certificate public key");
    OPENSSL_free(der);
    return out;
}

Result<std::string> key_spki_sha256(const EVP_PKEY* key) {
    unsigned char* der = nullptr;
    const int len = i2d_PUBKEY(key, &der);
    auto out = sha256_hex_of_der(der, len, "encoding public key");
    OPENSSL_free(der);
    return out;
}

void add_certificate(PemScan& scan, const Block& block, bool trusted) {
    if (!block.complete) {
        scan.problems.push_back(where(block) +
                                (block.end_mismatch ? "END label does not match" : "no END line"));
        return;
    }
    BioPtr bio = memory_bio(block.text);
    X509Ptr cert;
    if (bio)
        cert.reset(trusted ? PEM_read_bio_X509_AUX(bio.get(), nullptr, no_passphrase, nullptr)
                           : PEM_read_bio_X509(bio.get(), nullptr, no_passphrase, nullptr));
    ERR_clear_error();
    if (!cert) {
        scan.problems.push_back(where(block) + "not a valid X.509 certificate");
        return;
    }
    // The DER leaves out a TRUSTED CERTIFICATE's trust settings, so its
    // fingerprint is the certificate's own.
    auto info = detail::describe_certificate(cert.get());
    auto spki = cert_spki_sha256(cert.get());
    ERR_clear_error();
    if (!info || !spki) {
        scan.problems.push_back(where(block) + (info ? spki.error() : info.error()).message);
        return;
    }
    scan.certificates.push_back(
        PemCertificate{.info = std::move(*info), .public_key_sha256 = std::move(*spki)});
}

void add_private_key(PemScan& scan, const Block& block) {
    PemPrivateKey key;
    key.label = std::string(block.label);
    key.encrypted = block.label == "ENCRYPTED PRIVATE KEY" || block.encrypted_header;
    if (!block.complete) {
        scan.problems.push_back(where(block) +
                                (block.end_mismatch ? "END label does not match" : "no END line"));
    } else if (!key.encrypted && block.label != "OPENSSH PRIVATE KEY" &&
               costly_to_decode(block.text)) {
        scan.problems.push_back(where(block) + "DSA / DH key too large to read safely");
    } else if (!key.encrypted && block.label != "OPENSSH PRIVATE KEY") {
        // The BIO reads the caller's buffer in place, so no copy of the secret
        // is made here; OpenSSL decodes keys into memory it cleanses itself.
        BioPtr bio = memory_bio(block.text);
        PkeyPtr pkey;
        if (bio)
            pkey.reset(PEM_read_bio_PrivateKey(bio.get(), nullptr, no_passphrase, nullptr));
        if (pkey)
            if (auto spki = key_spki_sha256(pkey.get()))
                key.public_key_sha256 = std::move(*spki);
        ERR_clear_error();
        if (key.public_key_sha256.empty())
            scan.problems.push_back(where(block) + "not a readable private key");
    }
    scan.keys.push_back(std::move(key));
}

}  // namespace

bool looks_like_pem(std::string_view bytes) {
    for (std::size_t pos = bytes.find(kBegin); pos != std::string_view::npos;
         pos = bytes.find(kBegin, pos + 1))
        if (pos == 0 || bytes[pos - 1] == '\n')
            return true;
    return false;
}

PemScan scan_pem(std::string_view bytes, std::size_t max_blocks) {
    ErrorQueueScope errors;
    PemScan scan;
    std::size_t pos = 0;
    std::size_t blocks = 0;
    // Every line is looked at once: a block ends at its END line or where the
    // next BEGIN line starts, which is then read as the next block.
    while (pos < bytes.size()) {
        const Line begin = line_at(bytes, pos);
        const auto label = boundary_label(begin.text, kBegin);
        if (!label) {
            pos = begin.next;
            continue;
        }
        if (blocks == max_blocks) {
            scan.problems.push_back("more than " + std::to_string(max_blocks) +
                                    " PEM blocks: the rest were not examined");
            break;
        }
        Block block;
        block.number = ++blocks;
        block.label = *label;
        const std::size_t start = pos;
        pos = begin.next;
        while (pos < bytes.size()) {
            const Line line = line_at(bytes, pos);
            if (boundary_label(line.text, kBegin))
                break;
            pos = line.next;
            if (const auto end = boundary_label(line.text, kEnd)) {
                block.complete = *end == block.label;
                block.end_mismatch = !block.complete;
                break;
            }
            if (line.text.starts_with("Proc-Type:") &&
                line.text.find("ENCRYPTED") != std::string_view::npos)
                block.encrypted_header = true;
        }
        block.text = bytes.substr(start, pos - start);
        switch (kind_of(block.label)) {
            case Kind::Certificate:
                add_certificate(scan, block, false);
                break;
            case Kind::TrustedCertificate:
                add_certificate(scan, block, true);
                break;
            case Kind::PrivateKey:
                add_private_key(scan, block);
                break;
            case Kind::Other:
                break;  // CSRs, public keys, parameters, CRLs: not part of an audit
        }
    }
    return scan;
}

Result<std::string> certificate_public_key_sha256(std::string_view cert_pem) {
    ErrorQueueScope errors;
    BioPtr bio = memory_bio(cert_pem);
    if (!bio)
        return openssl_failure("reading certificate PEM");
    X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, no_passphrase, nullptr));
    if (!cert)
        return openssl_failure("reading certificate PEM");
    return cert_spki_sha256(cert.get());
}

Result<std::string> public_key_sha256(const PrivateKey& key) {
    ErrorQueueScope errors;
    return key_spki_sha256(key.raw());
}

}  // namespace certfleet::core
