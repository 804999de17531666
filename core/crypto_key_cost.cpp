// Private keys whose decoding alone could take unbounded time. OpenSSL
// derives a DSA or DH key's missing public half (g^x mod p) while decoding
// it, bounding neither p nor x: a crafted 20 KB block costs a minute, a
// 1 MiB one far longer. Real DSA / DH keys are much smaller than the bound,
// and certfleet itself only uses ECDSA and RSA keys.
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/pem.h>

#include "core/crypto_internal.hpp"

namespace certfleet::core::detail {

namespace {

constexpr long kMaxDsaDhKeyDer = 2048;

// Looks only at the ASN.1: which algorithm (PKCS#8's, or the traditional
// label's) and how big.
bool costly_block(std::string_view label, const unsigned char* der, long len) {
    if (len <= kMaxDsaDhKeyDer)
        return false;
    int nid = label.starts_with("DSA ") ? NID_dsa : NID_undef;
    const unsigned char* p = der;
    if (PKCS8_PRIV_KEY_INFO* info = d2i_PKCS8_PRIV_KEY_INFO(nullptr, &p, len)) {
        const ASN1_OBJECT* algorithm = nullptr;
        if (PKCS8_pkey_get0(&algorithm, nullptr, nullptr, nullptr, info) == 1)
            nid = OBJ_obj2nid(algorithm);
        PKCS8_PRIV_KEY_INFO_free(info);  // clears the key octets
    }
    return nid == NID_dsa || nid == NID_dhKeyAgreement || nid == NID_dhpublicnumber;
}

}  // namespace

bool costly_to_decode(std::string_view pem) {
    BioPtr bio = memory_bio(pem);
    bool costly = false;
    while (bio && !costly) {
        char* name = nullptr;
        char* header = nullptr;
        unsigned char* der = nullptr;
        long len = 0;
        if (PEM_read_bio_ex(bio.get(), &name, &header, &der, &len,
                            PEM_FLAG_SECURE | PEM_FLAG_EAY_COMPATIBLE) != 1)
            break;  // no more blocks (or a damaged one, which OpenSSL refuses by itself)
        costly = costly_block(name, der, len);
        // PEM_FLAG_SECURE puts all three on the secure heap (when there is one).
        OPENSSL_secure_free(name);
        OPENSSL_secure_free(header);
        OPENSSL_secure_clear_free(der, static_cast<std::size_t>(len));  // the key itself
    }
    ERR_clear_error();
    return costly;
}

}  // namespace certfleet::core::detail
