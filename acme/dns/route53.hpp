// Amazon Route 53 (REST API 2013-04-01, XML, Signature Version 4): see
// config.hpp for what the provider does; its XML is route53_xml.hpp.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "acme/dns/config.hpp"
#include "acme/dns/provider.hpp"
#include "acme/dns/route53_xml.hpp"
#include "core/http.hpp"
#include "core/result.hpp"

namespace certfleet::acme::dns {

// Validates the settings without network traffic (errors are
// ErrorKind::Config). `http` is the client to use; null: a libcurl client
// (a seam for tests).
core::Result<std::unique_ptr<DnsProvider>> make_route53_provider(
    Route53Config config, std::shared_ptr<core::HttpClient> http = nullptr);

}  // namespace certfleet::acme::dns
