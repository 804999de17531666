// base64 / base64url, hex, SHA-256, HMAC-SHA-256 and random tokens.
#include <array>
#include <cctype>
#include <climits>
#include <stdexcept>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "core/crypto.hpp"
#include "core/crypto_internal.hpp"

namespace certfleet::core {

using namespace detail;

namespace {

constexpr std::string_view kBase64Alphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr std::string_view kBase64UrlAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

std::string encode(std::string_view data, std::string_view alphabet, bool pad) {
    std::string out;
    out.reserve((data.size() + 2) / 3 * 4);
    size_t i = 0;
    for (; i + 3 <= data.size(); i += 3) {
        const unsigned v = static_cast<unsigned char>(data[i]) << 16 |
                           static_cast<unsigned char>(data[i + 1]) << 8 |
                           static_cast<unsigned char>(data[i + 2]);
        out += alphabet[v >> 18 & 63];
        out += alphabet[v >> 12 & 63];
        out += alphabet[v >> 6 & 63];
        out += alphabet[v & 63];
    }
    const size_t rest = data.size() - i;
    if (rest == 0)
        return out;
    unsigned v = static_cast<unsigned>(static_cast<unsigned char>(data[i])) << 16;
    if (rest == 2)
        v |= static_cast<unsigned>(static_cast<unsigned char>(data[i + 1])) << 8;
    out += alphabet[v >> 18 & 63];
    out += alphabet[v >> 12 & 63];
    if (rest == 2)
        out += alphabet[v >> 6 & 63];
    if (pad)
        out.append(3 - rest, '=');
    return out;
}

// Strict RFC 4648 decoding: one alphabet, padding only at the end, and the
// unused bits of the last character zero, so every value has one encoding.
Result<std::string> decode(std::string_view text, std::string_view alphabet, bool padding_required,
                           std::string_view what) {
    auto invalid = [&](const std::string& why) {
        return fail(ErrorKind::Generic, "invalid " + std::string(what) + ": " + why);
    };
    std::array<int, 256> value{};
    value.fill(-1);
    for (size_t i = 0; i < alphabet.size(); ++i)
        value[static_cast<unsigned char>(alphabet[i])] = static_cast<int>(i);

    const size_t first_pad = text.find('=');
    if (first_pad != std::string_view::npos) {
        const size_t pads = text.size() - first_pad;
        if (pads > 2 || text.find_first_not_of('=', first_pad) != std::string_view::npos ||
            text.size() % 4 != 0)
            return invalid("misplaced padding");
        text = text.substr(0, first_pad);
    } else if (padding_required && text.size() % 4 != 0) {
        return invalid("missing padding");
    }
    if (text.size() % 4 == 1)
        return invalid("truncated input");

    std::string out;
    out.reserve(text.size() / 4 * 3 + 2);
    unsigned buffer = 0;
    int bits = 0;
    for (char c : text) {
        const int v = value[static_cast<unsigned char>(c)];
        if (v < 0)
            return invalid("unexpected character");
        buffer = (buffer << 6 | static_cast<unsigned>(v)) & 0xffffu;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out += static_cast<char>(buffer >> bits & 0xffu);
        }
    }
    if ((buffer & ((1u << bits) - 1)) != 0)
        return invalid("non-zero trailing bits");
    return out;
}

}  // namespace

std::string base64url_encode(std::string_view data) {
    return encode(data, kBase64UrlAlphabet, false);
}

Result<std::string> base64url_decode(std::string_view text) {
    return decode(text, kBase64UrlAlphabet, false, "base64url");
}

std::string base64_encode(std::string_view data) {
    return encode(data, kBase64Alphabet, true);
}

Result<std::string> base64_decode(std::string_view text) {
    return decode(text, kBase64Alphabet, true, "base64");
}

std::string sha256(std::string_view data) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr) != 1) {
        ErrorQueueScope errors;
        throw std::runtime_error("SHA-256 failed");
    }
    return std::string(reinterpret_cast<const char*>(md), len);
}

std::string hex_encode(std::string_view data) {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string out;
    out.reserve(data.size() * 2);
    for (char c : data) {
        const auto b = static_cast<unsigned char>(c);
        out += kDigits[b >> 4];
        out += kDigits[b & 15];
    }
    return out;
}

std::string canonical_serial(std::string_view serial) {
    const bool negative = serial.starts_with('-');
    if (negative)
        serial.remove_prefix(1);
    std::string digits;
    for (char c : serial) {
        if (c != ':')
            digits += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
    if (digits.empty())
        return {};  // no serial: stays "none"
    const size_t first = digits.find_first_not_of('0');
    digits = first == std::string::npos ? "00" : digits.substr(first);
    if (digits.size() % 2 != 0)
        digits.insert(0, "0");  // whole bytes, as OpenSSL prints them
    return (negative ? "-" : "") + digits;
}

std::string hmac_sha256(std::string_view key, std::string_view data) {
    ErrorQueueScope errors;
    unsigned char mac[EVP_MAX_MD_SIZE];
    size_t len = 0;
    // A null key pointer means "no key" to OpenSSL; an empty key is still a key.
    static const unsigned char kEmpty = 0;
    const unsigned char* key_bytes = key.empty() ? &kEmpty : as_bytes(key);
    if (!EVP_Q_mac(nullptr, "HMAC", nullptr, "SHA256", nullptr, key_bytes, key.size(),
                   as_bytes(data), data.size(), mac, sizeof mac, &len))
        throw std::runtime_error("HMAC-SHA256: " + openssl_errors());
    return std::string(reinterpret_cast<const char*>(mac), len);
}

std::string random_hex(std::size_t bytes) {
    std::string raw(bytes, '\0');
    if (bytes > static_cast<size_t>(INT_MAX) ||
        RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()), static_cast<int>(bytes)) != 1) {
        ErrorQueueScope errors;
        // No usable CSPRNG is a broken host, not a recoverable condition.
        throw std::runtime_error("random number generator failed");
    }
    return hex_encode(raw);
}

}  // namespace certfleet::core
