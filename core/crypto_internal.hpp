// Shared by the crypto*.cpp files and their unit tests (not part of the core API): RAII holders
// for OpenSSL objects and the error-queue handling every entry point uses.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "core/crypto.hpp"
#include "core/result.hpp"

namespace certfleet::core::detail {

// Deleter for any OpenSSL free function (some return int, so no fixed signature).
template <auto Free>
struct OsslFree {
    template <class T>
    void operator()(T* p) const {
        Free(p);
    }
};
template <class T, auto Free>
using OsslPtr = std::unique_ptr<T, OsslFree<Free>>;

// The stack "free" entry points are macros with old-style casts; these wrap them
// once so -Wold-style-cast stays enabled everywhere else.
void free_x509_stack_shallow(STACK_OF(X509) * stack);  // elements are owned elsewhere
void free_extension_stack(STACK_OF(X509_EXTENSION) * stack);

using BioPtr = OsslPtr<BIO, BIO_free_all>;
using BignumPtr = OsslPtr<BIGNUM, BN_clear_free>;  // may hold private components
using PkeyPtr = OsslPtr<EVP_PKEY, EVP_PKEY_free>;
using PkeyCtxPtr = OsslPtr<EVP_PKEY_CTX, EVP_PKEY_CTX_free>;
using MdCtxPtr = OsslPtr<EVP_MD_CTX, EVP_MD_CTX_free>;
using EcdsaSigPtr = OsslPtr<ECDSA_SIG, ECDSA_SIG_free>;
using X509Ptr = OsslPtr<X509, X509_free>;
using X509ReqPtr = OsslPtr<X509_REQ, X509_REQ_free>;
using X509ExtPtr = OsslPtr<X509_EXTENSION, X509_EXTENSION_free>;
using X509StorePtr = OsslPtr<X509_STORE, X509_STORE_free>;
using X509StoreCtxPtr = OsslPtr<X509_STORE_CTX, X509_STORE_CTX_free>;
using GeneralNamePtr = OsslPtr<GENERAL_NAME, GENERAL_NAME_free>;
using GeneralNamesPtr = OsslPtr<GENERAL_NAMES, GENERAL_NAMES_free>;
using Asn1StringPtr = OsslPtr<ASN1_STRING, ASN1_STRING_free>;
using X509StackPtr = OsslPtr<STACK_OF(X509), free_x509_stack_shallow>;
using ExtensionStackPtr = OsslPtr<STACK_OF(X509_EXTENSION), free_extension_stack>;

// Clears the thread's OpenSSL error queue on entry and exit, so a message never
// carries a stale error and nothing leaks into libcurl / libssh2, which share it.
class ErrorQueueScope {
public:
    ErrorQueueScope();
    ~ErrorQueueScope();
    ErrorQueueScope(const ErrorQueueScope&) = delete;
    ErrorQueueScope& operator=(const ErrorQueueScope&) = delete;
};

// Drains the error queue into "lib:func:reason; ..." (ERR_error_string_n never
// includes key material).
std::string openssl_errors();
// "<what>: <openssl errors>"
Failure openssl_failure(std::string_view what);

// The pem_password_cb for every PEM read: with none, OpenSSL would ask for
// the passphrase of an encrypted block (a Proc-Type: 4,ENCRYPTED header, even
// on a CERTIFICATE) on the terminal, and certfleet reads PEM from CAs and
// hosts unattended. -1, not 0, so OpenSSL does not even try an empty one.
int refuse_passphrase(char* buf, int size, int rwflag, void* user);

// Whether some block of `pem` is a DSA or DH private key too large to decode
// safely: OpenSSL computes its public half while decoding, unbounded
// (crypto_key_cost.cpp). Looks only at the algorithm and the size.
bool costly_to_decode(std::string_view pem);

// Read-only memory BIO over `data`; nullptr if it is too large or allocation fails.
BioPtr memory_bio(std::string_view data);
// Everything written to a memory BIO.
std::string bio_contents(BIO* bio);

inline const unsigned char* as_bytes(std::string_view s) {
    return reinterpret_cast<const unsigned char*>(s.data());
}

// CertificateInfo of a certificate already decoded (the audit's PEM scanner
// has the X509 in hand; decoding it again costs as much as the first time).
Result<CertificateInfo> describe_certificate(X509* cert);

// Adds every certificate of a PEM bundle (an operator's ca_bundle) to a TLS
// client's trust store; returns how many. A damaged or encrypted block fails
// the whole bundle (never a passphrase prompt, never a silently partial trust).
Result<int> add_trusted_certificates(X509_STORE* store, std::string_view pem);

}  // namespace certfleet::core::detail
