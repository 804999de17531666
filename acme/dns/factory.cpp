#include "acme/dns/factory.hpp"

#include "acme/dns/exec.hpp"
#include "acme/dns/lexicon.hpp"
#include "acme/dns/powerdns.hpp"
#include "acme/dns/rfc2136.hpp"

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
    return make_exec_provider(std::get<ExecConfig>(config));
}

}  // namespace certfleet::acme::dns
