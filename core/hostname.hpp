// Does a certificate cover a host name? OpenSSL's own RFC 6125 matching
// (X509_check_host: SAN dNSNames, one-label wildcards), not a hand-written one.
#pragma once

#include <string_view>

#include "core/result.hpp"

namespace certfleet::core {

// True when the first certificate of `cert_pem` is valid for `host_name`.
Result<bool> certificate_covers(std::string_view cert_pem, std::string_view host_name);

}  // namespace certfleet::core
