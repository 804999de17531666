// Shared by deploy_test.cpp and tls_probe_test.cpp: generated certificate
// material, temporary directories, and a tiny in-process TLS server that
// serves whatever pair it is given at each connection (like a server that
// reloads instantly).
#pragma once

#include <atomic>
#include <filesystem>
#include <fstream>
#include <functional>
#include <netinet/in.h>
#include <optional>
#include <poll.h>
#include <signal.h>
#include <sstream>
#include <string>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>
#include <utility>

#include <catch2/catch.hpp>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "core/crypto.hpp"
#include "distribute/deploy.hpp"

namespace certfleet::distribute::test {

struct TempDir {
    std::string path;
    TempDir() {
        char tmpl[] = "/tmp/certfleet-deploy-XXXXXX";
        REQUIRE(::mkdtemp(tmpl) != nullptr);
        path = tmpl;
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path, ec);
    }
};

inline std::string slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

inline std::string bio_text(BIO* bio) {
    char* data = nullptr;
    const long n = BIO_ctrl(bio, BIO_CTRL_INFO, 0, &data);
    return std::string(data, static_cast<std::size_t>(n));
}

// A certificate for `cn` over `key`, signed by `signer` (self-signed when null).
inline std::string make_cert(const core::PrivateKey& key, const std::string& cn, long serial,
                             const core::PrivateKey* signer = nullptr) {
    X509* x = X509_new();
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
    X509_gmtime_adj(X509_getm_notBefore(x), -3600);
    X509_gmtime_adj(X509_getm_notAfter(x), 90L * 86400);
    X509_set_pubkey(x, key.raw());
    X509_NAME* name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
    X509_set_issuer_name(x, name);
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, x, x, nullptr, nullptr, 0);
    const std::string san = "DNS:" + cn;
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, NID_subject_alt_name, san.c_str());
    X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
    X509_sign(x, (signer ? signer : &key)->raw(), EVP_sha256());
    BIO* bio = BIO_new(BIO_s_mem());
    PEM_write_bio_X509(bio, x);
    std::string pem = bio_text(bio);
    BIO_free(bio);
    X509_free(x);
    return pem;
}

inline const core::PrivateKey& issuer_key() {
    static const core::PrivateKey key = [] {
        auto k = core::PrivateKey::generate(core::KeyType::EcdsaP256);
        REQUIRE(k.ok());
        return std::move(k).value();
    }();
    return key;
}

// Version `version` of certificate `cert`, with serial `serial` and a fresh key.
inline Material make_material(const std::string& cert, const std::string& version, long serial,
                              const std::string& domain = "media.example.test") {
    auto key = core::PrivateKey::generate(core::KeyType::EcdsaP256);
    REQUIRE(key.ok());
    Material m;
    m.cert_name = cert;
    m.version = version;
    m.cert_pem = make_cert(*key, domain, serial, &issuer_key());
    m.chain_pem = make_cert(issuer_key(), "Test Intermediate", 1);
    m.fullchain_pem = m.cert_pem + m.chain_pem;
    m.key_pem = key->to_pem();
    auto info = core::parse_certificate_pem(m.cert_pem);
    REQUIRE(info.ok());
    m.serial_hex = info->serial_hex;
    return m;
}

// A TCP port on 127.0.0.1 that nothing listens on (bound, read, closed).
inline int unused_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    socklen_t len = sizeof addr;
    REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
    ::close(fd);
    return ntohs(addr.sin_port);
}

struct Pair {
    std::string fullchain_pem;
    std::string key_pem;
};

// Serves, at each connection, the pair `source` returns then (nullopt: the
// connection is closed without a handshake, like a server with broken files).
class TlsServer {
public:
    explicit TlsServer(std::function<std::optional<Pair>()> source) : m_source(std::move(source)) {
        m_fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        REQUIRE(::bind(m_fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
        REQUIRE(::listen(m_fd, 16) == 0);
        socklen_t len = sizeof addr;
        REQUIRE(::getsockname(m_fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
        m_port = ntohs(addr.sin_port);
        m_thread = std::thread([this] { loop(); });
    }
    // Serves the stable names under <cert_root>/<cert>, read at each connection.
    static std::function<std::optional<Pair>()> from_files(std::string dir) {
        return [dir]() -> std::optional<Pair> {
            Pair p{slurp(dir + "/fullchain.pem"), slurp(dir + "/privkey.pem")};
            if (p.fullchain_pem.empty() || p.key_pem.empty()) {
                return std::nullopt;
            }
            return p;
        };
    }
    TlsServer(const TlsServer&) = delete;
    TlsServer& operator=(const TlsServer&) = delete;
    ~TlsServer() {
        m_stop = true;
        m_thread.join();
        ::close(m_fd);
    }
    int port() const { return m_port; }

private:
    void loop() {
        // A client that hangs up early must not kill the test run: SIGPIPE
        // from a write is sent to this thread, so block it here.
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGPIPE);
        pthread_sigmask(SIG_BLOCK, &set, nullptr);
        while (!m_stop) {
            pollfd p{m_fd, POLLIN, 0};
            if (::poll(&p, 1, 50) <= 0) {
                continue;
            }
            const int conn = ::accept4(m_fd, nullptr, nullptr, SOCK_CLOEXEC);
            if (conn < 0) {
                continue;
            }
            timeval tv{2, 0};
            ::setsockopt(conn, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
            ::setsockopt(conn, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
            if (auto pair = m_source()) {
                serve(conn, *pair);
            }
            ::close(conn);
        }
    }

    static void serve(int conn, const Pair& pair) {
        SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
        BIO* cert_bio =
            BIO_new_mem_buf(pair.fullchain_pem.data(), static_cast<int>(pair.fullchain_pem.size()));
        BIO* key_bio = BIO_new_mem_buf(pair.key_pem.data(), static_cast<int>(pair.key_pem.size()));
        X509* cert = PEM_read_bio_X509(cert_bio, nullptr, nullptr, nullptr);
        EVP_PKEY* key = PEM_read_bio_PrivateKey(key_bio, nullptr, nullptr, nullptr);
        if (cert != nullptr && key != nullptr && SSL_CTX_use_certificate(ctx, cert) == 1 &&
            SSL_CTX_use_PrivateKey(ctx, key) == 1) {
            SSL* ssl = SSL_new(ctx);
            SSL_set_fd(ssl, conn);
            if (SSL_accept(ssl) == 1) {
                SSL_shutdown(ssl);
            }
            SSL_free(ssl);
        }
        X509_free(cert);
        EVP_PKEY_free(key);
        BIO_free(cert_bio);
        BIO_free(key_bio);
        SSL_CTX_free(ctx);
    }

    std::function<std::optional<Pair>()> m_source;
    int m_fd = -1;
    int m_port = 0;
    std::atomic<bool> m_stop{false};
    std::thread m_thread;
};

}  // namespace certfleet::distribute::test
