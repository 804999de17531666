// gen_store: a manager store of N certificates for the status / check
// benchmarks (bench/check.sh), plus the inventory that names them and, for the
// probe benchmark, one nginx configuration serving every one of them.
//
//   gen_store --state-dir DIR --inventory FILE [--count N] [--prefix c]
//             [--warn-every K] [--jobs J] [--no-ledger]
//             [--nginx-dir DIR --port P] [--hosts H [--hosts-per-cert R]]
//
// Layout as docs/host-layout.md / state::Store writes it:
//   <state>/certificates/<cert>/versions/<version>/{cert,chain,fullchain,privkey}.pem
//   <state>/certificates/<cert>/current -> versions/<version>
//   <state>/certificates/<cert>/{cert,chain,fullchain,privkey}.pem -> current/<same>
// directories 0750, certificates 0640, keys 0600, state dir 0700, version names
// "<compact UTC not_before>-<first 8 hex of the leaf's SHA-256>". Files are
// written directly without the store's fsyncs (Store::add_version costs ~6
// fsyncs per certificate, minutes for 10,000 on this disk); a sample is read
// back through state::Store::current() so a layout the manager would not
// accept fails here, not in the benchmark. The ledger gets one issuance per
// certificate (what `certfleet issue` leaves), inserted in one transaction.
//
// Certificates: one local CA (ECDSA P-256), leaves with fresh P-256 keys, 90-day
// lifetime; every K-th certificate (--warn-every, default 100, 0 = none) has
// 8-20 days left (WARNING with the default warn_before 21d / critical_before
// 7d), the others 31-89 days (OK, not yet due). Domains <prefix><i>.bench.test.
//
// With --nginx-dir / --port: hosts h<i> (transport local, cert_root under the
// nginx dir, verify 127.0.0.1:P with SNI <prefix><i>.bench.test), each
// certificate deployed to its own host, and <nginx-dir>/nginx.conf with one
// server block per certificate pointing at the store's stable names.
//
// With --hosts H (bench/inventory_scale.sh): H ssh hosts n1..nH (addresses
// 127.2.x.y, port 1: a planning benchmark must never reach them), in groups
// g1.. of R hosts (--hosts-per-cert, default 1; each group canary 1, batches of
// 50 %), certificate i deployed to group ((i-1) mod H/R)+1: 10,000
// certificates on 1,000 hosts with R = 10 is 100,000 (certificate, host)
// pairs, each host serving 100 certificates. The ssh key and known_hosts are
// empty files next to the inventory (validate only checks they are readable).
//
// Prints one summary line: "certificates=N warning=K critical=0 ok=M seconds=T".
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>
#include <vector>

#include <nlohmann/json.hpp>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sqlite3.h>

#include "core/crypto.hpp"
#include "core/time.hpp"
#include "state/ledger.hpp"
#include "state/store.hpp"

namespace {

using certfleet::core::KeyType;
using certfleet::core::PrivateKey;
using certfleet::core::TimePoint;

constexpr long kDay = 86400;
constexpr long kLifetime = 90 * kDay;

[[noreturn]] void die(const std::string& msg) {
    std::cerr << "gen_store: " << msg << "\n";
    std::exit(1);
}

struct Options {
    std::string state_dir;
    std::string inventory;
    int count = 10000;
    std::string prefix = "c";
    int warn_every = 100;
    int jobs = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    bool ledger = true;
    std::string nginx_dir;
    int port = 0;
    int hosts = 0;
    int hosts_per_cert = 1;
};

Options parse_args(int argc, char** argv) {
    Options o;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc)
                die("missing value for " + a);
            return argv[++i];
        };
        if (a == "--state-dir")
            o.state_dir = value();
        else if (a == "--inventory")
            o.inventory = value();
        else if (a == "--count")
            o.count = std::stoi(value());
        else if (a == "--prefix")
            o.prefix = value();
        else if (a == "--warn-every")
            o.warn_every = std::stoi(value());
        else if (a == "--jobs")
            o.jobs = std::max(1, std::stoi(value()));
        else if (a == "--no-ledger")
            o.ledger = false;
        else if (a == "--nginx-dir")
            o.nginx_dir = value();
        else if (a == "--port")
            o.port = std::stoi(value());
        else if (a == "--hosts")
            o.hosts = std::stoi(value());
        else if (a == "--hosts-per-cert")
            o.hosts_per_cert = std::stoi(value());
        else
            die("unknown argument " + a + " (see the comment at the top of gen_store.cpp)");
    }
    if (o.state_dir.empty() || o.inventory.empty())
        die("--state-dir and --inventory are required");
    if (o.state_dir.front() != '/' || (!o.nginx_dir.empty() && o.nginx_dir.front() != '/'))
        die("--state-dir and --nginx-dir must be absolute paths");
    if (o.count < 1)
        die("--count must be at least 1");
    if (!o.nginx_dir.empty() && (o.port <= 0 || o.port > 65535))
        die("--nginx-dir needs --port");
    if (o.hosts < 0 || o.hosts > 60000 || (o.hosts > 0 && !o.nginx_dir.empty()))
        die("--hosts: 0 to 60000, not together with --nginx-dir");
    if (o.hosts_per_cert < 1 || (o.hosts > 0 && o.hosts % o.hosts_per_cert != 0))
        die("--hosts-per-cert must divide --hosts");
    return o;
}

struct X509Free {
    void operator()(X509* x) const { X509_free(x); }
};
using X509Ptr = std::unique_ptr<X509, X509Free>;

void add_ext(X509* cert, X509* issuer, int nid, const char* value) {
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
    if (!ext)
        die(std::string("cannot build extension ") + OBJ_nid2sn(nid) + "=" + value);
    X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
}

void set_name(X509_NAME* name, const std::string& cn) {
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
}

std::string to_pem(X509* x) {
    BIO* bio = BIO_new(BIO_s_mem());
    PEM_write_bio_X509(bio, x);
    char* data = nullptr;
    long n = BIO_get_mem_data(bio, &data);
    std::string out(data, static_cast<size_t>(n));
    BIO_free(bio);
    return out;
}

std::string der_sha256_hex(X509* x) {
    unsigned char* der = nullptr;
    int n = i2d_X509(x, &der);
    if (n <= 0)
        die("i2d_X509 failed");
    std::string hex = certfleet::core::hex_encode(
        certfleet::core::sha256(std::string_view(reinterpret_cast<char*>(der), n)));
    OPENSSL_free(der);
    return hex;
}

X509Ptr make_ca(const PrivateKey& key, TimePoint now) {
    X509Ptr x(X509_new());
    X509_set_version(x.get(), 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x.get()), 1);
    ASN1_TIME_set(X509_getm_notBefore(x.get()), now.time_since_epoch().count() - 365 * kDay);
    ASN1_TIME_set(X509_getm_notAfter(x.get()), now.time_since_epoch().count() + 3650 * kDay);
    X509_set_pubkey(x.get(), key.raw());
    set_name(X509_get_subject_name(x.get()), "certfleet bench CA");
    X509_set_issuer_name(x.get(), X509_get_subject_name(x.get()));
    add_ext(x.get(), x.get(), NID_basic_constraints, "critical,CA:TRUE");
    add_ext(x.get(), x.get(), NID_key_usage, "critical,keyCertSign,cRLSign");
    add_ext(x.get(), x.get(), NID_subject_key_identifier, "hash");
    if (X509_sign(x.get(), key.raw(), EVP_sha256()) <= 0)
        die("cannot sign the CA certificate");
    return x;
}

struct Issued {
    std::string name;
    std::string domain;
    std::string version;
    std::string serial_hex;
    TimePoint not_before;
    TimePoint not_after;
    bool warning = false;
};

void write_file(const std::string& path, const std::string& content, mode_t mode) {
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0)
        die("cannot create " + path + ": " + std::strerror(errno));
    ::fchmod(fd, mode);
    size_t done = 0;
    while (done < content.size()) {
        ssize_t n = ::write(fd, content.data() + done, content.size() - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            die("cannot write " + path + ": " + std::strerror(errno));
        done += static_cast<size_t>(n);
    }
    ::close(fd);
}

void make_dir(const std::string& path, mode_t mode) {
    if (::mkdir(path.c_str(), mode) != 0 && errno != EEXIST)
        die("cannot create " + path + ": " + std::strerror(errno));
    ::chmod(path.c_str(), mode);
}

void make_link(const std::string& target, const std::string& link) {
    if (::symlink(target.c_str(), link.c_str()) != 0)
        die("cannot link " + link + ": " + std::strerror(errno));
}

// Certificate i (1-based): a fresh key, signed by the CA, written as one version.
Issued issue_one(int i, const Options& o, const PrivateKey& ca_key, X509* ca,
                 const std::string& ca_pem, TimePoint now) {
    Issued out;
    out.name = o.prefix + std::to_string(i);
    out.domain = out.name + ".bench.test";
    out.warning = o.warn_every > 0 && i % o.warn_every == 0;
    const long left = out.warning ? (8 + (i / o.warn_every) % 12) * kDay + (i * 37L) % kDay
                                  : (31 + i % 58) * kDay + (i * 37L) % kDay;
    out.not_after = now + certfleet::core::Seconds(left);
    out.not_before = out.not_after - certfleet::core::Seconds(kLifetime);

    auto key = PrivateKey::generate(KeyType::EcdsaP256);
    if (!key)
        die("key generation failed: " + key.error().message);
    X509Ptr x(X509_new());
    X509_set_version(x.get(), 2);
    // Unique, positive, high bit clear: 0x4ce7 followed by the index.
    const long serial = 0x4ce70000000L + i;
    ASN1_INTEGER_set_int64(X509_get_serialNumber(x.get()), serial);
    ASN1_TIME_set(X509_getm_notBefore(x.get()), out.not_before.time_since_epoch().count());
    ASN1_TIME_set(X509_getm_notAfter(x.get()), out.not_after.time_since_epoch().count());
    X509_set_pubkey(x.get(), key->raw());
    set_name(X509_get_subject_name(x.get()), out.domain);
    X509_set_issuer_name(x.get(), X509_get_subject_name(ca));
    add_ext(x.get(), ca, NID_basic_constraints, "critical,CA:FALSE");
    add_ext(x.get(), ca, NID_key_usage, "critical,digitalSignature");
    add_ext(x.get(), ca, NID_ext_key_usage, "serverAuth");
    add_ext(x.get(), ca, NID_authority_key_identifier, "keyid:always");
    add_ext(x.get(), ca, NID_subject_alt_name, ("DNS:" + out.domain).c_str());
    if (X509_sign(x.get(), ca_key.raw(), EVP_sha256()) <= 0)
        die("cannot sign " + out.name);

    char serial_hex[32];
    std::snprintf(serial_hex, sizeof serial_hex, "%lx", serial);
    out.serial_hex = serial_hex;
    out.version = certfleet::core::format_compact_utc(out.not_before) + "-" +
                  der_sha256_hex(x.get()).substr(0, 8);

    const std::string cert_pem = to_pem(x.get());
    const std::string dir = o.state_dir + "/certificates/" + out.name;
    const std::string vdir = dir + "/versions/" + out.version;
    make_dir(dir, 0750);
    make_dir(dir + "/versions", 0750);
    make_dir(vdir, 0750);
    write_file(vdir + "/cert.pem", cert_pem, 0640);
    write_file(vdir + "/chain.pem", ca_pem, 0640);
    write_file(vdir + "/fullchain.pem", cert_pem + ca_pem, 0640);
    write_file(vdir + "/privkey.pem", key->to_pem(), 0600);
    make_link("versions/" + out.version, dir + "/current");
    for (const char* f : {"cert.pem", "chain.pem", "fullchain.pem", "privkey.pem"})
        make_link(std::string("current/") + f, dir + "/" + f);
    return out;
}

void write_ledger(const Options& o, const std::vector<Issued>& all) {
    const std::string path = o.state_dir + "/ledger.sqlite";
    {
        auto ledger = certfleet::state::Ledger::open(path);  // schema, 0600, WAL
        if (!ledger)
            die("ledger: " + ledger.error().message);
    }
    sqlite3* db = nullptr;
    if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK)
        die("cannot open " + path);
    auto exec = [&](const char* sql) {
        if (sqlite3_exec(db, sql, nullptr, nullptr, nullptr) != SQLITE_OK)
            die(std::string("ledger: ") + sql + ": " + sqlite3_errmsg(db));
    };
    exec("PRAGMA synchronous = OFF");
    exec("BEGIN");
    sqlite3_stmt* st = nullptr;
    // The columns of Ledger::record_issuance; one transaction instead of 10,000 fsyncs.
    if (sqlite3_prepare_v2(
            db,
            "INSERT INTO issuances (cert, version, serial, domains, key_type, "
            "profile, not_before, not_after, order_url, issued_at, "
            "replaced_version) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            -1, &st, nullptr) != SQLITE_OK)
        die(std::string("ledger: prepare: ") + sqlite3_errmsg(db));
    for (const auto& c : all) {
        const std::string domains = nlohmann::json::array({c.domain}).dump();
        const std::string order = "https://acme.bench.invalid/order/" + c.name;
        sqlite3_bind_text(st, 1, c.name.c_str(), -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 2, c.version.c_str(), -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 3, c.serial_hex.c_str(), -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 4, domains.c_str(), -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 5, "ecdsa-p256", -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 6, "", -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 7, c.not_before.time_since_epoch().count());
        sqlite3_bind_int64(st, 8, c.not_after.time_since_epoch().count());
        sqlite3_bind_text(st, 9, order.c_str(), -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(st, 10, c.not_before.time_since_epoch().count());
        sqlite3_bind_text(st, 11, "", -1, SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_DONE)
            die(std::string("ledger: insert: ") + sqlite3_errmsg(db));
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    exec("COMMIT");
    exec("PRAGMA wal_checkpoint(TRUNCATE)");
    sqlite3_close(db);
}

void write_inventory(const Options& o, const std::vector<Issued>& all) {
    nlohmann::json certs = nlohmann::json::object();
    nlohmann::json hosts = nlohmann::json::object();
    for (size_t k = 0; k < all.size(); ++k) {
        const auto& c = all[k];
        nlohmann::json spec = {{"domains", {c.domain}}, {"dns", "bench"}};
        if (!o.nginx_dir.empty()) {
            const std::string host = "h" + std::to_string(k + 1);
            spec["deploy_to"] = {host};
            hosts[host] = {
                {"transport", "local"},
                {"cert_root", o.nginx_dir + "/hosts/" + host},
                {"verify",
                 {{"address", "127.0.0.1"}, {"port", o.port}, {"server_name", c.domain}}}};
        }
        if (o.hosts > 0)
            spec["deploy_to"] = {
                "g" + std::to_string(k % static_cast<size_t>(o.hosts / o.hosts_per_cert) + 1)};
        certs[c.name] = std::move(spec);
    }
    nlohmann::json groups = nlohmann::json::object();
    for (int j = 0; j < o.hosts; ++j) {
        const std::string host = "n" + std::to_string(j + 1);
        const std::string group = "g" + std::to_string(j / o.hosts_per_cert + 1);
        hosts[host] = {
            {"address", "127.2." + std::to_string(j / 250) + "." + std::to_string(j % 250 + 1)},
            {"groups", {group}}};
        groups[group] = {{"rollout", {{"canary", 1}, {"batch", "50%"}, {"max_failures", 0}}}};
    }
    nlohmann::json inv = {
        {"state_dir", o.state_dir},
        // Never contacted: status and check do not talk to the CA.
        {"acme", {{"directory", "https://acme.bench.invalid/directory"}, {"accept_terms", true}}},
        {"dns", {{"providers", {{"bench", {{"type", "exec"}, {"command", "/bin/true"}}}}}}},
        {"certificates", std::move(certs)},
    };
    if (!o.nginx_dir.empty()) {
        inv["defaults"] = {{"test_command", "true"}, {"reload_command", "true"}};
        inv["hosts"] = std::move(hosts);
    } else if (o.hosts > 0) {
        const std::string dir = o.inventory.substr(0, o.inventory.find_last_of('/') + 1);
        for (const char* f : {"bench_id_ed25519", "bench_known_hosts"})
            write_file((dir.empty() ? "./" : dir) + f, "", 0600);
        inv["defaults"] = {{"ssh",
                            {{"user", "certfleet"},
                             {"port", 1},
                             {"identity_file", "bench_id_ed25519"},
                             {"known_hosts", "bench_known_hosts"}}},
                           {"test_command", "sudo nginx -t"},
                           {"reload_command", "sudo systemctl reload nginx"}};
        inv["groups"] = std::move(groups);
        inv["hosts"] = std::move(hosts);
    }
    std::ofstream out(o.inventory);
    out << inv.dump(1) << "\n";
    if (!out)
        die("cannot write " + o.inventory);
}

void write_nginx(const Options& o, const std::vector<Issued>& all) {
    const std::string& d = o.nginx_dir;
    make_dir(d + "/tmp", 0750);
    make_dir(d + "/hosts", 0750);
    for (size_t k = 0; k < all.size(); ++k)
        make_dir(d + "/hosts/h" + std::to_string(k + 1), 0750);
    std::ofstream out(d + "/nginx.conf");
    out << "# generated by bench/tools/gen_store: " << all.size() << " TLS server blocks\n"
        << "worker_processes 2;\n"
        << "pid " << d << "/nginx.pid;\n"
        << "error_log " << d << "/error.log warn;\n"
        << "events { worker_connections 1024; }\n"
        << "http {\n"
        << "  access_log off;\n"
        << "  client_body_temp_path " << d << "/tmp/body;\n"
        << "  proxy_temp_path " << d << "/tmp/proxy;\n"
        << "  fastcgi_temp_path " << d << "/tmp/fastcgi;\n"
        << "  uwsgi_temp_path " << d << "/tmp/uwsgi;\n"
        << "  scgi_temp_path " << d << "/tmp/scgi;\n"
        << "  server_names_hash_max_size 4096;\n"
        << "  server_names_hash_bucket_size 64;\n"
        << "  ssl_protocols TLSv1.2 TLSv1.3;\n";
    for (const auto& c : all) {
        const std::string live = o.state_dir + "/certificates/" + c.name;
        out << "  server { listen 127.0.0.1:" << o.port << " ssl; server_name " << c.domain
            << "; ssl_certificate " << live << "/fullchain.pem; ssl_certificate_key " << live
            << "/privkey.pem; return 204; }\n";
    }
    out << "}\n";
    if (!out)
        die("cannot write " + d + "/nginx.conf");
}

// What the manager reads must accept what we wrote: a spread of certificates
// through state::Store::current(), checking serial and version.
void verify_sample(const Options& o, const std::vector<Issued>& all) {
    auto store = certfleet::state::Store::open_readonly(o.state_dir);
    const size_t step = std::max<size_t>(1, all.size() / 50);
    for (size_t k = 0; k < all.size(); k += step) {
        const auto& c = all[k];
        auto cur = store.current(c.name);
        if (!cur)
            die("Store::current(" + c.name + ") rejects the generated layout");
        if (cur->version != c.version || cur->info.serial_hex != c.serial_hex ||
            cur->info.not_after != c.not_after)
            die("Store::current(" + c.name + ") reads " + cur->version + " serial " +
                cur->info.serial_hex + ", expected " + c.version + " serial " + c.serial_hex);
    }
    if (store.certificate_names().size() != all.size())
        die("the store lists " + std::to_string(store.certificate_names().size()) +
            " certificates, expected " + std::to_string(all.size()));
}

}  // namespace

int main(int argc, char** argv) {
    const Options o = parse_args(argc, argv);
    const auto started = std::chrono::steady_clock::now();
    ::umask(027);
    if (::mkdir(o.state_dir.c_str(), 0700) != 0 && errno != EEXIST)
        die("cannot create " + o.state_dir + ": " + std::strerror(errno));
    ::chmod(o.state_dir.c_str(), 0700);
    if (::mkdir((o.state_dir + "/certificates").c_str(), 0750) != 0)
        die(o.state_dir +
            "/certificates already exists or cannot be created: " + std::strerror(errno));
    if (!o.nginx_dir.empty())
        make_dir(o.nginx_dir, 0750);

    const TimePoint now =
        std::chrono::time_point_cast<certfleet::core::Seconds>(std::chrono::system_clock::now());
    auto ca_key = PrivateKey::generate(KeyType::EcdsaP256);
    if (!ca_key)
        die("CA key: " + ca_key.error().message);
    X509Ptr ca = make_ca(*ca_key, now);
    const std::string ca_pem = to_pem(ca.get());

    std::vector<Issued> all(static_cast<size_t>(o.count));
    std::atomic<int> next{1};
    auto worker = [&] {
        for (int i = next++; i <= o.count; i = next++)
            all[static_cast<size_t>(i - 1)] = issue_one(i, o, *ca_key, ca.get(), ca_pem, now);
    };
    std::vector<std::thread> pool;
    for (int t = 1; t < o.jobs; ++t)
        pool.emplace_back(worker);
    worker();
    for (auto& t : pool)
        t.join();

    if (o.ledger)
        write_ledger(o, all);
    write_inventory(o, all);
    if (!o.nginx_dir.empty())
        write_nginx(o, all);
    verify_sample(o, all);

    const auto warnings =
        std::count_if(all.begin(), all.end(), [](const Issued& c) { return c.warning; });
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    std::printf("certificates=%d warning=%ld critical=0 ok=%ld seconds=%.2f\n", o.count,
                static_cast<long>(warnings), static_cast<long>(o.count - warnings), secs);
    return 0;
}
