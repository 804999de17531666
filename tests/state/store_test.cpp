#include "state/store.hpp"

#include <filesystem>
#include <memory>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "core/fs.hpp"

using namespace certfleet;
using state::IssuedMaterial;
using state::Store;
namespace stdfs = std::filesystem;

namespace {

// Test material made with OpenSSL directly, independent of core/crypto.
struct KeyFree {
    void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using KeyPtr = std::unique_ptr<EVP_PKEY, KeyFree>;

KeyPtr make_key() {
    return KeyPtr(EVP_EC_gen("P-256"));
}

std::string bio_string(BIO* bio) {
    char* data = nullptr;
    long n = BIO_get_mem_data(bio, &data);
    std::string out(data, static_cast<size_t>(n));
    BIO_free(bio);
    return out;
}

std::string key_pem(EVP_PKEY* key) {
    BIO* bio = BIO_new(BIO_s_mem());
    PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
    return bio_string(bio);
}

std::string self_signed(EVP_PKEY* key, const std::string& domain, long serial) {
    X509* x = X509_new();
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
    X509_gmtime_adj(X509_getm_notBefore(x), 0);
    X509_gmtime_adj(X509_getm_notAfter(x), 90L * 86400);
    X509_set_pubkey(x, key);
    X509_NAME* name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>(domain.c_str()), -1, -1, 0);
    X509_set_issuer_name(x, name);
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, x, x, nullptr, nullptr, 0);
    std::string san = "DNS:" + domain;
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, NID_subject_alt_name, san.c_str());
    X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
    X509_sign(x, key, EVP_sha256());
    BIO* bio = BIO_new(BIO_s_mem());
    PEM_write_bio_X509(bio, x);
    X509_free(x);
    return bio_string(bio);
}

IssuedMaterial material(const std::string& domain, long serial) {
    KeyPtr key = make_key();
    KeyPtr ca = make_key();
    IssuedMaterial m;
    m.cert_pem = self_signed(key.get(), domain, serial);
    m.chain_pem = self_signed(ca.get(), "Test Intermediate", 1);
    m.fullchain_pem = m.cert_pem + m.chain_pem;
    m.key_pem = key_pem(key.get());
    return m;
}

struct TempState {
    std::string dir;
    TempState() {
        char tmpl[] = "/tmp/certfleet-store-XXXXXX";
        dir = std::string(::mkdtemp(tmpl)) + "/state";
    }
    ~TempState() { stdfs::remove_all(stdfs::path(dir).parent_path()); }
};

mode_t mode_of(const std::string& p) {
    struct stat st {};
    REQUIRE(::lstat(p.c_str(), &st) == 0);
    return st.st_mode & 07777;
}

core::TimePoint at(const char* text) {
    return *core::parse_rfc3339(text);
}

const char* const kFiles[] = {"cert.pem", "chain.pem", "fullchain.pem", "privkey.pem"};

}  // namespace

TEST_CASE("store layout and modes follow docs/host-layout.md", "[store]") {
    TempState t;
    mode_t old_umask = ::umask(0);
    auto store = Store::open(t.dir);
    ::umask(old_umask);
    REQUIRE(store);
    CHECK(mode_of(t.dir) == 0700);
    CHECK(mode_of(t.dir + "/certificates") == 0750);
    CHECK(store->ledger_path() == t.dir + "/ledger.sqlite");
    CHECK(store->lock_path() == t.dir + "/lock");
    CHECK(store->accounts_dir() == t.dir + "/accounts");

    auto m = material("media.example.org", 1001);
    ::umask(0);
    auto version = store->add_version("media", m, at("2026-11-21T10:30:00Z"));
    ::umask(old_umask);
    REQUIRE(version);
    REQUIRE(version->size() == std::string("20261121T103000Z-").size() + 8);
    CHECK(version->starts_with("20261121T103000Z-"));

    const std::string cdir = store->certificate_dir("media");
    const std::string vdir = cdir + "/versions/" + *version;
    CHECK(mode_of(cdir) == 0750);
    CHECK(mode_of(cdir + "/versions") == 0750);
    CHECK(mode_of(vdir) == 0750);
    CHECK(mode_of(vdir + "/privkey.pem") == 0600);
    for (const char* f : {"cert.pem", "chain.pem", "fullchain.pem"}) {
        CHECK(mode_of(vdir + "/" + f) == 0640);
    }
    CHECK(core::read_symlink(cdir + "/current") == "versions/" + *version);
    for (const char* f : kFiles) {
        CHECK(core::read_symlink(cdir + "/" + f) == std::string("current/") + f);
    }
    CHECK(core::read_file(cdir + "/fullchain.pem").value() == m.fullchain_pem);
    CHECK(core::read_file(cdir + "/privkey.pem").value() == m.key_pem);
    // Only the layout's names: no temp files or extra entries.
    auto count = [](const std::string& dir) {
        return std::distance(stdfs::directory_iterator(dir), stdfs::directory_iterator());
    };
    CHECK(count(cdir) == 6);  // versions, current, four stable links
    CHECK(count(vdir) == 4);
}

TEST_CASE("store add, current, versions and reading back", "[store]") {
    TempState t;
    auto store = Store::open(t.dir);
    REQUIRE(store);
    CHECK_FALSE(store->current("site"));
    CHECK(store->versions("site").empty());

    auto m1 = material("example.org", 0x1234);
    auto v1 = store->add_version("site", m1, at("2026-01-01T00:00:00Z"));
    REQUIRE(v1);
    auto m2 = material("example.org", 0x5678);
    auto v2 = store->add_version("site", m2, at("2026-03-01T00:00:00Z"));
    REQUIRE(v2);

    CHECK(store->versions("site") == std::vector<std::string>{*v1, *v2});
    CHECK(store->current_version("site") == *v2);
    auto cur = store->current("site");
    REQUIRE(cur);
    CHECK(cur->name == "site");
    CHECK(cur->version == *v2);
    CHECK(cur->cert_pem == m2.cert_pem);
    CHECK(cur->chain_pem == m2.chain_pem);
    CHECK(cur->fullchain_pem == m2.fullchain_pem);
    CHECK(cur->info.serial_hex == "5678");
    CHECK(cur->info.dns_names == std::vector<std::string>{"example.org"});
    CHECK(cur->key_type == core::KeyType::EcdsaP256);
    CHECK(cur->dir == store->certificate_dir("site") + "/versions/" + *v2);
    CHECK(store->read_private_key("site", *v1).value() == m1.key_pem);
    CHECK(store->load_version("site", *v1)->info.serial_hex == "1234");
    CHECK_FALSE(store->load_version("site", "20200101T000000Z-deadbeef"));
    // Stable links are untouched by later versions; they follow `current`.
    CHECK(core::read_file(store->certificate_dir("site") + "/cert.pem").value() == m2.cert_pem);

    REQUIRE(store->add_version("other", material("other.example", 7), at("2026-01-01T00:00:00Z")));
    CHECK(store->certificate_names() == std::vector<std::string>{"other", "site"});
}

TEST_CASE("store refuses a key that does not match the certificate", "[store]") {
    TempState t;
    auto store = Store::open(t.dir);
    REQUIRE(store);
    auto good = material("example.org", 1);
    auto v1 = store->add_version("site", good, at("2026-01-01T00:00:00Z"));
    REQUIRE(v1);

    auto bad = material("example.org", 2);
    KeyPtr other = make_key();
    bad.key_pem = key_pem(other.get());
    auto st = store->add_version("site", bad, at("2026-02-01T00:00:00Z"));
    REQUIRE_FALSE(st);
    CHECK_THAT(st.error().message, Catch::Contains("does not match"));
    CHECK(store->versions("site") == std::vector<std::string>{*v1});
    CHECK(store->current_version("site") == *v1);

    auto wrong_chain = material("example.org", 3);
    wrong_chain.fullchain_pem = wrong_chain.chain_pem;
    CHECK_FALSE(store->add_version("site", wrong_chain, at("2026-02-01T00:00:00Z")));
    CHECK_FALSE(store->add_version("../escape", good, at("2026-02-01T00:00:00Z")));
    CHECK_FALSE(store->add_version("site", good, at("2026-01-01T00:00:00Z")));  // exists
    CHECK(store->current_version("site") == *v1);
}

TEST_CASE("stale .tmp directories from a crashed run are removed on the next add", "[store]") {
    TempState t;
    auto store = Store::open(t.dir);
    REQUIRE(store);
    REQUIRE(store->add_version("site", material("example.org", 1), at("2026-01-01T00:00:00Z")));
    const std::string vdir = store->certificate_dir("site") + "/versions";
    REQUIRE(core::make_dirs(vdir + "/.tmp-20260201T000000Z-abcdef12", 0750));
    REQUIRE(
        core::write_file_atomic(vdir + "/.tmp-20260201T000000Z-abcdef12/cert.pem", "half", 0640));
    CHECK(store->versions("site").size() == 1);  // never listed as a version

    REQUIRE(store->add_version("site", material("example.org", 2), at("2026-02-01T00:00:00Z")));
    CHECK_FALSE(stdfs::exists(vdir + "/.tmp-20260201T000000Z-abcdef12"));
    CHECK(store->versions("site").size() == 2);
}

TEST_CASE("prune keeps the newest versions and always the current one", "[store]") {
    TempState t;
    auto store = Store::open(t.dir);
    REQUIRE(store);
    std::vector<std::string> v;
    const char* times[] = {"2026-01-01T00:00:00Z", "2026-02-01T00:00:00Z", "2026-03-01T00:00:00Z",
                           "2026-04-01T00:00:00Z"};
    for (long i = 0; i < 4; ++i) {
        auto r = store->add_version("site", material("example.org", 100 + i), at(times[i]));
        REQUIRE(r);
        v.push_back(*r);
    }
    REQUIRE(store->prune("site", 3));
    CHECK(store->versions("site") == std::vector<std::string>{v[1], v[2], v[3]});

    // After a rollback `current` may be older than what `keep` would retain.
    REQUIRE(core::replace_symlink(store->certificate_dir("site") + "/current", "versions/" + v[1]));
    REQUIRE(store->prune("site", 1));
    CHECK(store->versions("site") == std::vector<std::string>{v[1], v[3]});
    REQUIRE(store->prune("site", 0));  // treated as 1: never empties the store
    CHECK(store->current("site"));
}
