// RFC 2136 dynamic updates signed with TSIG, sent to the zone's primary.
// Records of one zone go in (and out) as one update message.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "acme/dns/config.hpp"
#include "acme/dns/provider.hpp"
#include "core/result.hpp"

namespace certfleet::acme::dns {

// Validates the settings (server address, algorithm, secret) without any
// network traffic; errors are ErrorKind::Config.
core::Result<std::unique_ptr<DnsProvider>> make_rfc2136_provider(Rfc2136Config config);

// "hmac-sha256" → "hmac-sha256." (the spelling ldns expects); Config error
// for algorithms ldns 1.8 cannot sign with (hmac-sha224, hmac-sha384).
core::Result<std::string> ldns_tsig_algorithm(std::string_view algorithm);

}  // namespace certfleet::acme::dns
