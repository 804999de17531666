// RFC 8555 resources, parsed from the CA's JSON into plain structs.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "acme/problem.hpp"
#include "core/time.hpp"

namespace certfleet::acme {

struct Directory {
    std::string new_nonce, new_account, new_order, revoke_cert, key_change;
    std::string renewal_info;  // RFC 9773 ARI; empty when not offered
    std::string terms_of_service;
    bool external_account_required = false;
    std::vector<std::string> profiles;  // names from meta.profiles
};

// A newAccount answer (RFC 8555 §7.1.2). Only its status matters to
// certfleet: the account URL comes from the Location header.
struct Account {
    std::string status;  // valid, deactivated, revoked; "" when missing or not a string
};

struct Identifier {
    std::string type = "dns";
    std::string value;
};

struct Challenge {
    std::string type, url, status, token;
    std::optional<Problem> error;
};

struct Authorization {
    std::string url;
    std::string status;  // pending, valid, invalid, deactivated, expired, revoked
    Identifier identifier;
    bool wildcard = false;
    std::vector<Challenge> challenges;

    const Challenge* challenge(std::string_view type) const;
    std::optional<Problem> first_error() const;
};

struct Order {
    std::string url;
    std::string status;  // pending, ready, processing, valid, invalid
    std::vector<Identifier> identifiers;
    std::vector<std::string> authorizations;
    std::string finalize, certificate;
    std::optional<Problem> error;
};

// A certificate's ACME Renewal Information (RFC 9773 §4.2).
struct RenewalInfo {
    core::TimePoint window_start{};  // suggestedWindow.start
    core::TimePoint window_end{};    // suggestedWindow.end, always after start
    std::string explanation_url;     // may be empty
    core::Seconds retry_after{0};    // when to ask again (set by AcmeClient::renewal_info)
};

// The parse functions validate shape: a CA answering garbage is a Protocol error.
core::Result<Directory> parse_directory(const nlohmann::json& j);
// Tolerant: any body, even no JSON object, gives an Account.
Account parse_account(const nlohmann::json& j);
core::Result<Order> parse_order(const nlohmann::json& j, std::string url);
core::Result<Authorization> parse_authorization(const nlohmann::json& j, std::string url);
// A suggestedWindow without both times, or one whose end is not after its
// start, is a Protocol error (RFC 9773 §4.3.3: treat as no answer).
core::Result<RenewalInfo> parse_renewal_info(const nlohmann::json& j);

}  // namespace certfleet::acme
