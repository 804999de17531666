// Sending one mail over SMTP with libcurl. TLS is never optional: smtp://
// requires STARTTLS (credentials must not cross the network in clear),
// smtps:// is implicit TLS. Trust: the system store plus an optional extra CA
// bundle, as for HTTP.
#pragma once

#include <string>
#include <vector>

#include "core/result.hpp"
#include "core/time.hpp"

namespace certfleet::core {

struct SmtpOptions {
    std::string url;        // smtp://host[:port] (STARTTLS) or smtps://host[:port]
    std::string username;   // empty: no authentication
    std::string password;   // never logged, never part of an error message
    std::string ca_bundle;  // extra trust added to the system store (empty: none)
    Seconds connect_timeout{10};
    Seconds total_timeout{60};
};

struct MailEnvelope {
    std::string from;             // MAIL FROM
    std::vector<std::string> to;  // RCPT TO, one per address
    std::string message;          // complete RFC 5322 message with CRLF line ends
};

// Errors name the server (without credentials) and say what failed: the
// connection, STARTTLS, trust, authentication or a rejected recipient.
Status send_mail(const SmtpOptions& options, const MailEnvelope& mail);

}  // namespace certfleet::core
