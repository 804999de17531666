#include "acme/account.hpp"

#include <sys/stat.h>

#include <spdlog/spdlog.h>

#include "core/exposure.hpp"
#include "core/fs.hpp"

namespace certfleet::acme {

std::string account_dir(const std::string& accounts_root, const std::string& directory_url) {
    std::string host = directory_url;
    if (auto p = host.find("://"); p != std::string::npos)
        host = host.substr(p + 3);
    host = host.substr(0, host.find('/'));
    for (char& c : host)
        if (c == ':')
            c = '_';
    std::string digest = core::hex_encode(core::sha256(directory_url)).substr(0, 8);
    return accounts_root + "/" + host + "-" + digest;
}

core::Result<core::PrivateKey> load_or_create_account_key(const std::string& dir,
                                                          core::KeyType type) {
    const std::string path = dir + "/key.pem";
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0) {
        // Whoever can read it can act as this account (revoke, order).
        if (auto exposed = core::exposed_secret_file(path, st.st_mode); !exposed.empty())
            core::security_warning("the ACME account key " + exposed);
        auto pem = core::read_file(path, 64 * 1024);
        if (!pem)
            return pem.failure();
        auto key = core::PrivateKey::from_pem(*pem);
        if (!key)
            return core::fail(
                core::ErrorKind::Config,
                "the ACME account key " + path + " cannot be read: " + key.error().message,
                "restore it from backup, or move it away to register a new account");
        return key;
    }
    if (auto s = core::make_dirs(dir, 0700); !s)
        return s.failure();
    auto key = core::PrivateKey::generate(type);
    if (!key)
        return key;
    if (auto s = core::write_file_atomic(path, key->to_pem(), 0600); !s)
        return s.failure();
    spdlog::info("created ACME account key {}", path);
    return key;
}

core::Status ensure_account(AcmeClient& client, const std::string& dir, core::KeyType key_type,
                            const NewAccountOptions& options) {
    auto key = load_or_create_account_key(dir, key_type);
    if (!key)
        return key.failure();
    NewAccountOptions opts = options;
    opts.only_return_existing = !options.accept_terms;
    auto url = client.register_account(*key, opts);
    if (!url) {
        core::Error e = url.error();
        if (e.acme_type.ends_with(":accountDoesNotExist"))
            e.hint =
                "no account exists for this key; set \"accept_terms\": true in acme to register "
                "one";
        return core::fail(std::move(e));
    }
    nlohmann::json record{{"url", *url}, {"contact", options.contact}};
    return core::write_file_atomic(dir + "/account.json", record.dump(2) + "\n", 0600);
}

}  // namespace certfleet::acme
