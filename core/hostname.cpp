#include "core/hostname.hpp"

#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "core/crypto_internal.hpp"

namespace certfleet::core {

Result<bool> certificate_covers(std::string_view cert_pem, std::string_view host_name) {
    detail::ErrorQueueScope scope;
    auto bio = detail::memory_bio(cert_pem);
    if (!bio)
        return fail(ErrorKind::Generic, "certificate too large");
    detail::X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, detail::refuse_passphrase, nullptr));
    if (!cert)
        return detail::openssl_failure("cannot parse certificate");
    // Partial wildcards ("w*.example.org") are never issued by ACME CAs; refuse them.
    int rc = X509_check_host(cert.get(), host_name.data(), host_name.size(),
                             X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS, nullptr);
    if (rc < 0)
        return detail::openssl_failure("cannot check host name");
    return rc == 1;
}

}  // namespace certfleet::core
