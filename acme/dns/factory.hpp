// Builds a DnsProvider from its tagged configuration.
#pragma once

#include <memory>

#include "acme/dns/config.hpp"
#include "acme/dns/provider.hpp"
#include "core/result.hpp"

namespace certfleet::acme::dns {

// Config errors (bad server address, unsupported algorithm, empty command)
// come back as ErrorKind::Config; nothing is sent over the network.
core::Result<std::unique_ptr<DnsProvider>> make_provider(const ProviderConfig& config);

}  // namespace certfleet::acme::dns
