// JSON Web Signatures as RFC 8555 §6.2 uses them: flattened JSON
// serialization, "jwk" for account creation, "kid" afterwards.
#pragma once

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "core/crypto.hpp"

namespace certfleet::acme {

// `payload` nullopt means POST-as-GET (empty payload, RFC 8555 §6.3).
// `kid` empty means: identify by embedding the public JWK.
core::Result<nlohmann::json> sign_jws(const core::PrivateKey& key, const std::string& url,
                                      const std::string& nonce, const std::string& kid,
                                      const std::optional<nlohmann::json>& payload);

// External Account Binding (RFC 8555 §7.3.4): an HS256 JWS over the account's
// public JWK, keyed by the CA-issued MAC key (raw bytes, already decoded).
nlohmann::json sign_eab(const core::PrivateKey& account_key, const std::string& eab_kid,
                        const std::string& mac_key, const std::string& new_account_url);

// Key rollover inner JWS (RFC 8555 §7.3.5): signed by the NEW key, no nonce.
core::Result<nlohmann::json> sign_key_change_inner(const core::PrivateKey& new_key,
                                                   const core::PrivateKey& old_key,
                                                   const std::string& account_url,
                                                   const std::string& key_change_url);

// For -vv protocol traces: the JWS's protected header and payload decoded
// (nested JWSs — EAB, key change — too), signatures left out, and any
// private JWK member (d, p, q, dp, dq, qi, oth, k) replaced. None is ever
// sent, but a trace must not be where that assumption silently breaks.
std::string describe_jws(const nlohmann::json& jws);

}  // namespace certfleet::acme
