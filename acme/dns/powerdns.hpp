// The PowerDNS Authoritative HTTP API (/api/v1): TXT records of one zone go
// in, and out, as one PATCH carrying one RRset per name with every value the
// name must keep (the API replaces whole RRsets, so the values already there
// are read first and kept).
#pragma once

#include <memory>

#include "acme/dns/config.hpp"
#include "acme/dns/provider.hpp"
#include "core/http.hpp"
#include "core/result.hpp"

namespace certfleet::acme::dns {

// Validates the settings without network traffic (errors are
// ErrorKind::Config). `http` is the client to use; null: a libcurl client
// bounded by config.timeout (a seam for tests that fake the API).
core::Result<std::unique_ptr<DnsProvider>> make_powerdns_provider(
    PowerDnsConfig config, std::shared_ptr<core::HttpClient> http = nullptr);

}  // namespace certfleet::acme::dns
