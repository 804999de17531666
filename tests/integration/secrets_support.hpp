// Support for secrets_test.cpp: a matcher that finds any 16-character piece of
// a secret in whatever encoding a log line, a JSON body or a database might
// carry it (as written, hex, base64 or base64url at any alignment, raw bytes),
// the evidence it is run over, and the file mode rules for state and hosts.
#pragma once

#include <algorithm>
#include <filesystem>
#include <functional>
#include <grp.h>
#include <set>
#include <string>
#include <string_view>
#include <sys/stat.h>
#include <unordered_map>
#include <utility>
#include <vector>

#include <catch2/catch.hpp>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "core/crypto.hpp"
#include "lab.hpp"

namespace certfleet::testing {

class SecretMatcher {
public:
    static constexpr size_t kWindow = 16;

    // Every 16-character piece of `text` exactly as written (a password, a
    // base64 secret as its file holds it), plus its bytes in every encoding.
    void add_text(const std::string& label, std::string_view text) {
        add_windows(label + " (as written)", text);
        add_bytes(label, text);
    }

    // Every 16-character piece of `bytes` as hex, raw, and as base64 or
    // base64url at each of the three alignments the bytes can have inside a
    // longer encoding (a PEM body, a JWK member, a DER blob in a JWS).
    void add_bytes(const std::string& label, std::string_view bytes) {
        add_windows(label + " (raw)", bytes);
        std::string hex = core::hex_encode(bytes);
        add_windows(label + " (hex)", hex);
        for (char& c : hex)
            c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        add_windows(label + " (HEX)", hex);
        for (size_t pad = 0; pad < 3; ++pad) {
            std::string b64 = core::base64_encode(std::string(pad, '\0') + std::string(bytes));
            // Only the characters whose six bits all come from `bytes`.
            size_t first = (8 * pad + 5) / 6, end = 8 * (pad + bytes.size()) / 6;
            if (end <= first)
                continue;
            std::string inner = b64.substr(first, end - first);
            add_windows(label + " (base64)", inner);
            for (char& c : inner)
                c = c == '+' ? '-' : c == '/' ? '_' : c;
            add_windows(label + " (base64url)", inner);
        }
    }

    // The private parts of a PEM private key: the EC scalar, RSA's d, p, q,
    // dp, dq, qi (the JWK members), an Ed25519 seed. Public parts (which
    // certificates and JWKs legitimately show) are deliberately not added.
    void add_private_key_pem(const std::string& label, const std::string& pem) {
        BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
        EVP_PKEY* key = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
        BIO_free(bio);
        INFO(label);
        REQUIRE(key != nullptr);
        int parts = 0;
        auto add_bn = [&](const char* name) {
            BIGNUM* bn = nullptr;
            if (EVP_PKEY_get_bn_param(key, name, &bn) != 1)
                return;
            std::string bytes(static_cast<size_t>(BN_num_bytes(bn)), '\0');
            BN_bn2bin(bn, reinterpret_cast<unsigned char*>(bytes.data()));
            BN_clear_free(bn);
            add_bytes(label + " " + name, bytes);
            ++parts;
        };
        for (const char* name :
             {OSSL_PKEY_PARAM_PRIV_KEY, OSSL_PKEY_PARAM_RSA_D, OSSL_PKEY_PARAM_RSA_FACTOR1,
              OSSL_PKEY_PARAM_RSA_FACTOR2, OSSL_PKEY_PARAM_RSA_EXPONENT1,
              OSSL_PKEY_PARAM_RSA_EXPONENT2, OSSL_PKEY_PARAM_RSA_COEFFICIENT1})
            add_bn(name);
        std::string raw(64, '\0');
        size_t raw_len = raw.size();
        if (parts == 0 && EVP_PKEY_get_raw_private_key(
                              key, reinterpret_cast<unsigned char*>(raw.data()), &raw_len) == 1) {
            add_bytes(label + " seed", raw.substr(0, raw_len));
            ++parts;
        }
        EVP_PKEY_free(key);
        REQUIRE(parts > 0);
    }

    // An unencrypted OpenSSH private key (the SSH identity): its Ed25519 seed.
    void add_openssh_ed25519_key(const std::string& label, const std::string& text) {
        const std::string begin = "-----BEGIN OPENSSH PRIVATE KEY-----";
        auto from = text.find(begin), to = text.find("-----END");
        REQUIRE((from != std::string::npos && to != std::string::npos));
        std::string body;
        for (char c : text.substr(from + begin.size(), to - from - begin.size()))
            if (!std::isspace(static_cast<unsigned char>(c)))
                body += c;
        auto blob = core::base64_decode(body);
        REQUIRE(blob.ok());
        size_t at = 15;  // "openssh-key-v1\0"
        auto u32 = [&] {
            REQUIRE(at + 4 <= blob->size());
            auto b = [&](size_t i) { return static_cast<uint32_t>(uint8_t((*blob)[at + i])); };
            uint32_t v = b(0) << 24 | b(1) << 16 | b(2) << 8 | b(3);
            at += 4;
            return v;
        };
        auto field = [&] {
            uint32_t n = u32();
            REQUIRE(at + n <= blob->size());
            std::string s = blob->substr(at, n);
            at += n;
            return s;
        };
        REQUIRE(field() == "none");  // cipher: unencrypted
        field(), field();            // kdf name, kdf options
        REQUIRE(u32() == 1);         // one key
        field();                     // its public key
        u32();                       // length of the private section
        u32(), u32();                // check words
        REQUIRE(field() == "ssh-ed25519");
        field();                             // public key again
        std::string seed_and_pub = field();  // 32-byte seed + 32-byte public key
        REQUIRE(seed_and_pub.size() == 64);
        add_bytes(label + " seed", seed_and_pub.substr(0, 32));
    }

    // One line per secret found in `haystack` (the first place for each form).
    std::vector<std::string> find(const std::string& source, std::string_view haystack) const {
        std::vector<std::string> hits;
        std::set<std::string> seen;
        for (size_t i = 0; i + kWindow <= haystack.size(); ++i) {
            auto it = m_windows.find(haystack.substr(i, kWindow));
            if (it == m_windows.end() || !seen.insert(it->second).second)
                continue;
            size_t from = i < 60 ? 0 : i - 60;
            hits.push_back(it->second + " in " + source + " at byte " + std::to_string(i) + ": …" +
                           std::string(haystack.substr(from, i - from + kWindow + 60)) + "…");
        }
        return hits;
    }

    size_t size() const { return m_windows.size(); }

private:
    struct Hash {
        using is_transparent = void;
        size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
    };

    void add_windows(const std::string& form, std::string_view s) {
        for (size_t i = 0; i + kWindow <= s.size(); ++i)
            m_windows.emplace(std::string(s.substr(i, kWindow)), form);
    }

    std::unordered_map<std::string, std::string, Hash, std::equal_to<>> m_windows;
};

// Everything certfleet said, stored or sent, labelled by where it came from.
struct Evidence {
    std::vector<std::pair<std::string, std::string>> items;

    void add(const std::string& source, std::string text) {
        items.emplace_back(source, std::move(text));
    }
    void add_file(const std::string& path) {
        if (std::filesystem::is_regular_file(path))
            add(path, read_file(path));
    }
    // Every regular file below `dir` (symlinks not followed) that `skip` does not exclude.
    void add_tree(const std::string& dir, const std::function<bool(const std::string&)>& skip) {
        namespace fs = std::filesystem;
        for (const auto& e : fs::recursive_directory_iterator(dir))
            if (e.is_regular_file() && !e.is_symlink() && !skip(e.path().string()))
                add_file(e.path().string());
    }
};

inline int mode_of(const std::string& path) {
    struct stat st {};
    REQUIRE(::lstat(path.c_str(), &st) == 0);
    return static_cast<int>(st.st_mode & 07777);
}

inline std::string octal(int mode) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "%04o", mode);
    return buf;
}

// The manager's state: the directory itself 0700; nothing in it reachable by
// others; keys, accounts, ledger and lock owner-only; no temporary leftovers.
inline std::vector<std::string> state_mode_problems(const std::string& state_dir) {
    namespace fs = std::filesystem;
    std::vector<std::string> problems;
    auto expect = [&](const std::string& path, bool ok, const std::string& rule) {
        if (!ok)
            problems.push_back(path + " has mode " + octal(mode_of(path)) + ": " + rule);
    };
    expect(state_dir, mode_of(state_dir) == 0700, "the state directory must be 0700");
    for (const auto& e : fs::recursive_directory_iterator(state_dir)) {
        const std::string path = e.path().string(), name = e.path().filename().string();
        if (e.is_symlink())
            continue;
        const int mode = mode_of(path);
        const bool in_accounts = path.starts_with(state_dir + "/accounts");
        expect(path, (mode & 07) == 0, "nothing in the state directory is for other users");
        expect(path, name.find(".tmp-") == std::string::npos,
               "a temporary file or directory was left behind");
        if (e.is_directory())
            expect(path, !in_accounts || mode == 0700, "account directories must be 0700");
        else if (in_accounts || name == "privkey.pem" || name.starts_with("ledger.sqlite") ||
                 name == "lock")
            expect(path, mode == 0600, "must be 0600");
    }
    return problems;
}

// On a host, the keys of `versions` (what this store deployed; other tests'
// deployments may sit beside them) have exactly key_mode and key_group, and
// nothing under `cert_dir` is accessible by every user.
inline std::vector<std::string> host_mode_problems(const std::string& cert_dir,
                                                   const std::vector<std::string>& versions,
                                                   int key_mode, const std::string& key_group) {
    namespace fs = std::filesystem;
    std::vector<std::string> problems;
    const group* g = ::getgrnam(key_group.c_str());
    REQUIRE(g != nullptr);
    const gid_t gid = g->gr_gid;
    size_t keys = 0;
    for (const auto& e : fs::recursive_directory_iterator(cert_dir)) {
        const std::string path = e.path().string();
        if (e.is_symlink())
            continue;
        struct stat st {};
        REQUIRE(::lstat(path.c_str(), &st) == 0);
        const int mode = static_cast<int>(st.st_mode & 07777);
        if (mode & 07)
            problems.push_back(path + " is accessible by every user (" + octal(mode) + ")");
        const std::string version = e.path().parent_path().filename().string();
        if (e.path().filename() != "privkey.pem" ||
            std::find(versions.begin(), versions.end(), version) == versions.end())
            continue;
        ++keys;
        if (mode != key_mode || st.st_gid != gid)
            problems.push_back(path + " has mode " + octal(mode) + " group " +
                               std::to_string(st.st_gid) + ", not key_mode " + octal(key_mode) +
                               " key_group " + key_group);
    }
    if (keys == 0)
        problems.push_back(cert_dir + ": no deployed key found");
    return problems;
}

}  // namespace certfleet::testing
