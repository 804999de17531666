// Cloudflare's API v4 (API token): see config.hpp for what the provider does.
#pragma once

#include <memory>

#include "acme/dns/config.hpp"
#include "acme/dns/provider.hpp"
#include "core/http.hpp"
#include "core/result.hpp"

namespace certfleet::acme::dns {

// Validates the settings without network traffic (errors are
// ErrorKind::Config). `http` is the client to use; null: a libcurl client
// bounded by config.timeout (a seam for tests).
core::Result<std::unique_ptr<DnsProvider>> make_cloudflare_provider(
    CloudflareConfig config, std::shared_ptr<core::HttpClient> http = nullptr);

}  // namespace certfleet::acme::dns
