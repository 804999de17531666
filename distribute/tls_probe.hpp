// What a host really serves: one TLS handshake with SNI, the leaf certificate
// taken from it. No verification on purpose: we compare serials, and a host
// may serve an untrusted or expired certificate (that is what we look for).
#pragma once

#include <chrono>
#include <string>

#include "core/crypto.hpp"
#include "core/result.hpp"
#include "core/time.hpp"

namespace certfleet::distribute {

struct ServedCertificate {
    core::CertificateInfo info;
    std::string pem;  // the leaf only
};

// `timeout` bounds the TCP connect and the handshake together (a host name is
// resolved first, with the system resolver's own limits). An empty `server_name` or an IP literal
// sends no SNI. Errors read "TLS to 127.0.70.1:8443 (SNI media.example.test): connection refused".
core::Result<ServedCertificate> probe_tls(const std::string& address, int port,
                                          const std::string& server_name, core::Seconds timeout);
// The same with a finer deadline (verification polls with what time is left).
core::Result<ServedCertificate> probe_tls(const std::string& address, int port,
                                          const std::string& server_name,
                                          std::chrono::milliseconds timeout);

}  // namespace certfleet::distribute
