#include "acme/dns/factory.hpp"

#include "acme/dns/acme_dns.hpp"
#include "acme/dns/cloudflare.hpp"
#include "acme/dns/exec.hpp"
#include "acme/dns/lexicon.hpp"
#include "acme/dns/powerdns.hpp"
#include "acme/dns/rfc2136.hpp"
#include "acme/dns/route53.hpp"

namespace certfleet::acme::dns {

core::Result<std::unique_ptr<DnsProvider>> make_provider(const ProviderConfig& config) {
    if (const auto* rfc2136 = std::get_if<Rfc2136Config>(&config)) {
        return make_rfc2136_provider(*rfc2136);
    }
    if (const auto* lexicon = std::get_if<LexiconConfig>(&config)) {
        return make_lexicon_provider(*lexicon);
    }
    if (const auto* powerdns = std::get_if<PowerDnsConfig>(&config)) {
        return make_powerdns_provider(*powerdns);
    }
    if (const auto* cloudflare = std::get_if<CloudflareConfig>(&config)) {
        return make_cloudflare_provider(*cloudflare);
    }
    if (const auto* route53 = std::get_if<Route53Config>(&config)) {
        return make_route53_provider(*route53);
    }
    if (const auto* acme_dns = std::get_if<AcmeDnsConfig>(&config)) {
        return make_acme_dns_provider(*acme_dns);
    }
    return make_exec_provider(std::get<ExecConfig>(config));
}

}  // namespace certfleet::acme::dns
