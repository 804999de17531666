#include "acme/jws.hpp"

namespace certfleet::acme {

using nlohmann::json;

namespace {
core::Result<json> sign_with(const core::PrivateKey& key, const json& protected_header,
                             const std::string& payload_b64) {
    std::string protected_b64 = core::base64url_encode(protected_header.dump());
    auto signature = key.sign(protected_b64 + "." + payload_b64);
    if (!signature)
        return signature.failure();
    return json{{"protected", protected_b64},
                {"payload", payload_b64},
                {"signature", core::base64url_encode(*signature)}};
}

json decoded_segment(const json& segment) {
    if (!segment.is_string())
        return segment;
    auto raw = core::base64url_decode(segment.get<std::string>());
    if (!raw)
        return "[not base64url]";
    if (raw->empty())
        return "";  // POST-as-GET
    auto parsed = json::parse(*raw, nullptr, false);
    if (!parsed.is_discarded())
        return parsed;
    // Appended step by step: GCC 12 at -O3 warns (-Wstringop-overflow, a
    // false positive) on the chained operator+ here.
    std::string summary = "[";
    summary += std::to_string(raw->size());
    summary += " bytes]";
    return summary;
}

bool is_jws(const json& j) {
    return j.is_object() && j.contains("protected") && j.contains("payload") &&
           j.contains("signature");
}

void redact_for_trace(json& j) {
    if (is_jws(j))
        j = json{{"protected", decoded_segment(j["protected"])},
                 {"payload", decoded_segment(j["payload"])}};
    if (j.is_object() && j.contains("kty"))
        for (const char* member : {"d", "p", "q", "dp", "dq", "qi", "oth", "k"})
            if (j.contains(member))
                j[member] = "[private, not shown]";
    if (j.is_structured())
        for (auto& child : j)
            redact_for_trace(child);
}
}  // namespace

std::string describe_jws(const json& jws) {
    json shown = jws;
    redact_for_trace(shown);
    return shown.dump();
}

core::Result<json> sign_jws(const core::PrivateKey& key, const std::string& url,
                            const std::string& nonce, const std::string& kid,
                            const std::optional<json>& payload) {
    json header{{"alg", key.jws_algorithm()}, {"nonce", nonce}, {"url", url}};
    if (kid.empty())
        header["jwk"] = key.public_jwk();
    else
        header["kid"] = kid;
    std::string payload_b64 = payload ? core::base64url_encode(payload->dump()) : std::string();
    return sign_with(key, header, payload_b64);
}

json sign_eab(const core::PrivateKey& account_key, const std::string& eab_kid,
              const std::string& mac_key, const std::string& new_account_url) {
    json header{{"alg", "HS256"}, {"kid", eab_kid}, {"url", new_account_url}};
    std::string protected_b64 = core::base64url_encode(header.dump());
    std::string payload_b64 = core::base64url_encode(account_key.public_jwk().dump());
    std::string mac = core::hmac_sha256(mac_key, protected_b64 + "." + payload_b64);
    return json{{"protected", protected_b64},
                {"payload", payload_b64},
                {"signature", core::base64url_encode(mac)}};
}

core::Result<json> sign_key_change_inner(const core::PrivateKey& new_key,
                                         const core::PrivateKey& old_key,
                                         const std::string& account_url,
                                         const std::string& key_change_url) {
    json header{
        {"alg", new_key.jws_algorithm()}, {"jwk", new_key.public_jwk()}, {"url", key_change_url}};
    json payload{{"account", account_url}, {"oldKey", old_key.public_jwk()}};
    return sign_with(new_key, header, core::base64url_encode(payload.dump()));
}

}  // namespace certfleet::acme
