// DNS providers publish and remove the TXT records of DNS-01 challenges.
// After lego's Provider: present / cleanup, a timeout, and a batch ability.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/result.hpp"
#include "core/time.hpp"

namespace certfleet::acme::dns {

// One challenge record. `fqdn` is where the TXT goes, absolute with a trailing
// dot, after CNAME following / challenge_alias ("_acme-challenge.example.org.").
struct ChallengeRecord {
    std::string fqdn;
    std::string value;   // base64url(SHA-256(key authorization))
    std::string domain;  // the identifier being validated ("*.example.org" → "example.org")
    std::string token;   // ACME challenge token (for exec "raw" mode)
    std::string key_authorization;  // token.thumbprint (for exec "raw" mode)
};

// What one read-only call to the provider's API showed.
struct AccessCheck {
    bool checked = true;                // false: this provider type has no read-only call
    std::vector<std::string> notes;     // "zone example.org. visible for _acme-challenge…"
    std::vector<std::string> problems;  // findings that would stop an issuance
};

class DnsProvider {
public:
    virtual ~DnsProvider() = default;
    // Adds every record. Providers that can batch send one update per zone.
    // Stops at the first failure; the caller then calls cleanup() for all.
    // Records sharing a name are added beside each other; nothing else at the
    // name is touched.
    virtual core::Status present(const std::vector<ChallengeRecord>& records) = 0;
    // Removes exactly these values (and nothing else). Must be safe to call for
    // records that were never added or already removed.
    virtual core::Status cleanup(const std::vector<ChallengeRecord>& records) = 0;
    // Time bound of one provider operation: a whole rfc2136 present/cleanup
    // (lookups and retries included), or one exec command run (present and
    // cleanup run the command once per record).
    virtual core::Seconds timeout() const = 0;
    virtual std::string describe() const = 0;  // for messages: "rfc2136 primary (127.0.0.1:5300)"
    // `validate --online`: one read-only call (list zones) proving that the
    // credentials work and can see the zone of each record (`value` unused;
    // `fqdn` is where the TXT would go, CNAMEs already followed). A failure
    // is a credential or API problem, its hint naming the least privilege
    // the provider needs; per-name problems go in AccessCheck::problems.
    virtual core::Result<AccessCheck> check_access(const std::vector<ChallengeRecord>& records) {
        (void)records;
        return AccessCheck{false, {}, {}};
    }
};

}  // namespace certfleet::acme::dns
