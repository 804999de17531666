// AWS Signature Version 4 for a core::HttpRequest: the canonical request,
// the string to sign, the derived signing key and the Authorization header
// (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv.html).
// Every header the request carries is signed, so none can be changed on the
// way without the signature failing. The pieces are public so tests can
// check each against AWS's published test suite.
#pragma once

#include <string>
#include <string_view>

#include "acme/dns/aws_credentials.hpp"
#include "core/http.hpp"
#include "core/time.hpp"

namespace certfleet::acme::dns::sigv4 {

// "20150830T123600Z": the X-Amz-Date form of a time.
std::string amz_date(core::TimePoint time);

// AWS's URI encoding: A-Z a-z 0-9 - _ . ~ are kept, every other byte
// becomes %XX (uppercase hex).
std::string uri_encode(std::string_view text);

// "b=2&a=1" → "a=1&b=2": every name and value decoded, re-encoded as above,
// sorted by name, then value.
std::string canonical_query(std::string_view query);

struct CanonicalRequest {
    std::string text;            // the six lines that get hashed
    std::string signed_headers;  // "host;x-amz-date"
};

// The canonical request over every header of `request` but Authorization (names lowercased,
// values trimmed with inner runs of blanks made one, repeated names joined
// with ','). The URI path is taken as sent, already encoded once.
CanonicalRequest canonical_request(const core::HttpRequest& request);

// "20150830/us-east-1/route53/aws4_request"
std::string credential_scope(std::string_view amz_date, std::string_view region,
                             std::string_view service);

// "AWS4-HMAC-SHA256\n<date>\n<scope>\n<hex sha256 of the canonical request>"
std::string string_to_sign(std::string_view amz_date, std::string_view scope,
                           std::string_view canonical_request_text);

// The raw key: HMAC chain of "AWS4"+secret over date, region, service,
// "aws4_request".
std::string signing_key(std::string_view secret_access_key, std::string_view date,
                        std::string_view region, std::string_view service);

// Adds Host (unless set), X-Amz-Date, X-Amz-Security-Token (with a session
// token) and the Authorization header. `amz_date` as amz_date() gives it.
void sign_request(core::HttpRequest& request, const AwsCredentials& credentials,
                  std::string_view region, std::string_view service, std::string_view amz_date);

}  // namespace certfleet::acme::dns::sigv4
