// Obtaining one certificate: order → DNS-01 for every authorization at once →
// finalize → download. The DNS side comes in through `DnsSolver` so this file
// knows nothing of zones, TSIG or propagation details.
#pragma once

#include <atomic>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "acme/client.hpp"
#include "acme/dns/provider.hpp"

namespace certfleet::acme {

struct DnsSolver {
    dns::DnsProvider* provider = nullptr;
    // Where the TXT record for `domain` ("example.org", never "*.") goes:
    // "_acme-challenge.example.org." or a CNAME / challenge_alias target.
    std::function<core::Result<std::string>(const std::string& domain)> record_name;
    // Returns once every record is visible at every authoritative server.
    std::function<core::Status(const std::vector<dns::ChallengeRecord>&)> wait_propagation;
};

struct IssueRequest {
    std::string name;  // the certificate's inventory name, for messages
    std::vector<std::string> domains;
    core::KeyType key_type = core::KeyType::EcdsaP256;
    std::optional<core::PrivateKey> reuse_key;
    std::string profile;
    std::string replaces;  // ARI certificate identifier of the certificate being renewed
    DnsSolver solver;
    core::Seconds authorization_timeout{300};
    core::Seconds finalize_timeout{300};
    // Called as soon as the CA created the order, before any DNS change, so
    // the caller can remember it: a run killed midway leaves it pending.
    std::function<void(const std::string& order_url)> order_created;
};

struct IssuedCertificate {
    std::string cert_pem, chain_pem, fullchain_pem;
    std::string key_pem;  // secret
    std::string order_url;
    core::CertificateInfo info;
};

// Progress notes for the terminal ("waiting for DNS", "validating"); may be empty.
using ProgressFn = std::function<void(const std::string& cert, const std::string& step)>;

core::Result<IssuedCertificate> issue_certificate(AcmeClient& client, const IssueRequest& request,
                                                  const std::atomic<bool>* cancel,
                                                  const ProgressFn& progress = {});

// Deactivates the still-pending authorizations of an order that a run
// killed midway abandoned, as a failed issuance does with its own. An order
// that is done, or that this account cannot see any more (expired, another
// CA or account), needs nothing; only a network or server fault fails (try
// again later).
core::Status abandon_order(AcmeClient& client, const std::string& order_url,
                           const std::string& cert);

// The RFC 9773 identifier to send as `replaces` when renewing the certificate
// in `current_cert_pem`: empty when the CA offers no renewalInfo (it would not
// know the field) or the certificate has no Authority Key Identifier.
std::string replaces_id(const AcmeClient& client, std::string_view current_cert_pem);

// True when a failed newOrder is the CA refusing `replaces` (RFC 9773 §5:
// alreadyReplaced, or a malformed/conflict problem about the field), so the
// order is worth one more try without it.
bool refused_replaces(const core::Error& e);

// The TXT value for a key authorization: base64url(SHA-256(token.thumbprint)).
std::string dns01_txt_value(const std::string& key_authorization);

}  // namespace certfleet::acme
