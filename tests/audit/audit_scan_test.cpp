// What the audit gathers on a host, against real files through the local
// transport: certfleet's layout, symlinks resolved to real paths, the nginx
// dump with its includes, scan_dirs, and reading the configuration files
// directly when the dump command fails.
#include <filesystem>
#include <fstream>

#include <catch2/catch.hpp>

#include "audit/scan.hpp"
#include "distribute/local_transport.hpp"
#include "support/deploy_test_support.hpp"
#include "support/faulty_transport.hpp"
#include "support/temp_files.hpp"

using namespace certfleet;
namespace fs = std::filesystem;

namespace {

void put(const std::string& path, const std::string& content, fs::perms mode = fs::perms(0644)) {
    fs::create_directories(fs::path(path).parent_path());
    std::ofstream(path) << content;
    fs::permissions(path, mode);
}

struct HostDir {
    testing::TempDir dir;
    inventory::Inventory inv;
    std::string main_conf, site_conf;

    HostDir() {
        const std::string v1 = dir / "live/media/versions/v1";
        auto m = distribute::test::make_material("media", "v1", 77);
        put(v1 + "/cert.pem", m.cert_pem);
        put(v1 + "/chain.pem", m.chain_pem);
        put(v1 + "/fullchain.pem", m.fullchain_pem);
        put(v1 + "/privkey.pem", m.key_pem, fs::perms(0600));
        fs::create_directory_symlink("versions/v1", dir / "live/media/current");
        for (const char* f : {"cert.pem", "chain.pem", "fullchain.pem", "privkey.pem"})
            fs::create_symlink(std::string("current/") + f, dir / "live/media" + "/" + f);
        auto shop = distribute::test::make_material("shop", "x", 5, "shop.example.net");
        put(dir / "srv/shop.pem", shop.fullchain_pem);
        put(dir / "srv/shop.key", shop.key_pem, fs::perms(0600));
        put(dir / "scan/notes.txt", "not a certificate\n");
        put(dir / "scan/deep/old.crt", shop.cert_pem);

        main_conf = dir / "etc/nginx.conf";
        site_conf = dir / "etc/sites/shop.conf";
        put(main_conf,
            "events {}\nhttp {\n  include sites/*.conf;\n  include conf.d/*.conf;\n  server {\n    "
            "listen 443 ssl;\n"
            "    server_name media.example.test;\n    ssl_certificate " +
                (dir / "live/media/fullchain.pem") + ";\n    ssl_certificate_key " +
                (dir / "live/media/privkey.pem") + ";\n  }\n}\n");
        put(site_conf,
            "server {\n  listen 443 ssl;\n  server_name shop.example.net;\n"
            "  ssl_certificate ../srv/shop.pem;\n  ssl_certificate_key " +
                (dir / "srv/shop.key") + ";\n}\n");
        put(dir / "dump.txt", "# configuration file " + main_conf + ":\n" +
                                  testing::slurp(main_conf) + "\n# configuration file " +
                                  site_conf + ":\n" + testing::slurp(site_conf) + "\n");

        inventory::CertificateSpec spec;
        spec.name = "media";
        spec.domains = {"media.example.test"};
        spec.deploy_to = {"self"};
        inv.certificates["media"] = spec;
        inventory::Host host;
        host.name = "self";
        host.transport = inventory::HostTransport::Local;
        host.settings.cert_root = dir / "live";
        host.settings.audit.config_dump_command = "cat " + (dir / "dump.txt");
        host.settings.audit.scan_dirs = {dir / "scan"};
        inv.hosts["self"] = host;
    }

    core::Result<audit::HostObservation> observe(std::size_t max_files = 20000) {
        distribute::LocalTransport local("self");
        return observe_with(local, max_files);
    }
    core::Result<audit::HostObservation> observe_with(distribute::Transport& transport,
                                                      std::size_t max_files = 20000,
                                                      std::size_t max_entries = 200000) {
        audit::ScanLimits limits;
        limits.max_entries = max_entries;
        limits.probe = false;
        limits.max_files = max_files;
        return observe_limited(transport, limits);
    }
    core::Result<audit::HostObservation> observe_limited(distribute::Transport& transport,
                                                         const audit::ScanLimits& limits) {
        return audit::observe_host(transport, inv, inv.hosts.at("self"),
                                   inventory::certificates_for_host(inv, "self"), limits);
    }
};

const audit::ObservedUse& use_for(const audit::HostObservation& obs, const std::string& name) {
    for (const auto& u : obs.uses)
        if (!u.server_names.empty() && u.server_names[0] == name)
            return u;
    FAIL("no use for " << name);
    throw std::logic_error("unreachable");
}

}  // namespace

TEST_CASE("audit scan: layout, nginx dump with includes, scan_dirs, real paths", "[audit_scan]") {
    HostDir h;
    auto obs = h.observe();
    REQUIRE(obs);
    INFO(obs->unchecked.size());
    CHECK(obs->unchecked.empty());
    REQUIRE(obs->cert_dirs.size() == 1);
    const auto& d = obs->cert_dirs[0];
    CHECK(d.name == "media");
    CHECK(d.current_version == "v1");
    CHECK(d.current_cert == h.dir / "live/media/versions/v1/cert.pem");
    CHECK(d.current_key == h.dir / "live/media/versions/v1/privkey.pem");
    CHECK(d.incomplete.empty());

    REQUIRE(obs->uses.size() == 2);
    // Through the stable link and `current` to the version's file.
    const auto& media = use_for(*obs, "media.example.test");
    CHECK(media.certificate == h.dir / "live/media/versions/v1/fullchain.pem");
    CHECK(media.key == h.dir / "live/media/versions/v1/privkey.pem");
    // A relative path is resolved against the main file's directory, from an included file.
    const auto& shop = use_for(*obs, "shop.example.net");
    CHECK(shop.certificate == h.dir / "srv/shop.pem");
    CHECK(shop.source == h.site_conf + ":4");
    // An include glob that matches nothing is fine for nginx, so not a note.

    CHECK(obs->files.count(h.dir / "scan/deep/old.crt"));
    CHECK_FALSE(obs->files.count(h.dir / "scan/notes.txt"));  // not PEM: not kept
    CHECK(obs->files.at(h.dir / "srv/shop.key").pem.keys.size() == 1);
    CHECK(obs->files.at(h.dir / "live/media/versions/v1/privkey.pem").mode == 0600);
    CHECK(obs->allowed_key_owners.count(0));
}

TEST_CASE("audit scan: a failing dump command falls back to reading the files", "[audit_scan]") {
    HostDir h;
    auto& audit = h.inv.hosts.at("self").settings.audit;
    SECTION("nginx named its configuration file") {
        audit.config_dump_command =
            "echo 'nginx: [emerg] SSL_CTX_use_PrivateKey() failed' >&2; "
            "echo 'nginx: configuration file " +
            h.main_conf + " test failed' >&2; exit 1";
        auto obs = h.observe();
        REQUIRE(obs);
        REQUIRE(obs->uses.size() == 2);
        CHECK(use_for(*obs, "shop.example.net").certificate == h.dir / "srv/shop.pem");
        REQUIRE(obs->unchecked.size() == 1);
        CHECK_THAT(obs->unchecked[0], Catch::Contains("read directly"));
    }
    SECTION("a host's huge stderr is scanned, not backtracked through") {
        // ~1 MB without a newline: the regex it replaced overflowed the stack.
        audit.config_dump_command =
            "head -c 1000000 /dev/zero | tr '\\0' x >&2; printf ' configuration file  "
            "test failed configuration file " +
            h.main_conf + " test failed' >&2; exit 1";
        auto obs = h.observe();
        REQUIRE(obs);
        CHECK(use_for(*obs, "shop.example.net").certificate == h.dir / "srv/shop.pem");
    }
    SECTION("nothing to go on: the host is not audited, with the reason") {
        audit.config_dump_command = "echo 'nginx: command not found' >&2; exit 127";
        auto obs = h.observe();
        REQUIRE_FALSE(obs);
        CHECK_THAT(obs.error().message,
                   Catch::Contains("exit 127") && Catch::Contains("nginx: command not found"));
        CHECK_THAT(obs.error().hint, Catch::Contains("audit.config_dump_command"));
    }
    SECTION("an empty command skips the web server") {
        audit.config_dump_command.clear();
        auto obs = h.observe();
        REQUIRE(obs);
        CHECK(obs->uses.empty());
    }
}

TEST_CASE("audit scan: paths made of variables are reported as not checked", "[audit_scan]") {
    HostDir h;
    put(h.dir / "dump.txt", "# configuration file " + h.main_conf +
                                ":\nhttp {\n  server {\n    listen 443 ssl;\n    server_name _;\n"
                                "    ssl_certificate /etc/ssl/$ssl_server_name.pem;\n"
                                "    ssl_certificate_key /etc/ssl/$ssl_server_name.key;\n  }\n}\n");
    auto obs = h.observe();
    REQUIRE(obs);
    CHECK(obs->uses.empty());
    REQUIRE(obs->unchecked.size() == 1);
    CHECK_THAT(obs->unchecked[0], Catch::Contains(h.main_conf + ":5") &&
                                      Catch::Contains("$ssl_server_name") &&
                                      Catch::Contains("variables are not resolved"));
}

TEST_CASE("audit scan: a current link to an incomplete version", "[audit_scan]") {
    HostDir h;
    fs::remove(h.dir / "live/media/versions/v1/privkey.pem");
    auto obs = h.observe();
    REQUIRE(obs);
    REQUIRE(obs->cert_dirs.size() == 1);
    CHECK(obs->cert_dirs[0].incomplete == "versions/v1 lacks privkey.pem");
}

TEST_CASE("audit scan: a certificate directory another user could write to is untrusted",
          "[audit_scan]") {
    HostDir h;
    auto trusted = h.observe();
    REQUIRE(trusted);
    REQUIRE(trusted->cert_dirs.size() == 1);
    CHECK(trusted->cert_dirs[0].untrusted.empty());

    fs::permissions(h.dir / "live/media/versions", fs::perms(0777));
    auto obs = h.observe();
    REQUIRE(obs);
    REQUIRE(obs->cert_dirs.size() == 1);
    CHECK(obs->cert_dirs[0].untrusted ==
          "self: " + (h.dir / "live/media/versions") +
              " is writable by its group or others (mode 0777): another user could change what "
              "the server loads, so certfleet does not trust it; nothing was changed");
}

TEST_CASE("audit scan: identical files on many hosts are parsed once", "[audit_scan]") {
    auto a = distribute::test::make_material("a", "v", 1);
    auto b = distribute::test::make_material("b", "v", 2);
    audit::PemCache cache;
    auto first = cache.scan(a.fullchain_pem);
    auto again = cache.scan(a.fullchain_pem);
    auto other = cache.scan(b.fullchain_pem);
    REQUIRE(first.certificates.size() == 2);
    CHECK(again.certificates[0].info.serial_hex == first.certificates[0].info.serial_hex);
    CHECK(other.certificates[0].info.serial_hex == b.serial_hex);
    CHECK(first.certificates[0].info.serial_hex == a.serial_hex);
}

TEST_CASE("audit scan: past the file limit, a version is 'not read', not 'missing'",
          "[audit_scan]") {
    HostDir h;
    auto obs = h.observe(0);
    REQUIRE(obs);
    REQUIRE(obs->cert_dirs.size() == 1);
    CHECK(obs->cert_dirs[0].unread);
    CHECK(obs->cert_dirs[0].current_cert.empty());
    REQUIRE_FALSE(obs->unchecked.empty());
    CHECK_THAT(obs->unchecked[0], Catch::Contains("more than 0 files"));
}

// A host where even stat("/") fails (a hostile or broken SFTP server).
class RootUnreadable final : public distribute::FaultyTransport {
public:
    using FaultyTransport::FaultyTransport;
    core::Result<distribute::FileInfo> stat(const std::string& path) override {
        if (path == "/")
            return core::fail(core::ErrorKind::Io, "stat /: permission denied");
        return FaultyTransport::stat(path);
    }
};

TEST_CASE("audit scan: a certificate path that resolves to / on a host that cannot stat it",
          "[audit_scan]") {
    HostDir h;
    put(h.dir / "dump.txt", "# configuration file " + h.main_conf +
                                ":\nhttp {\n  server {\n    listen 443 ssl;\n"
                                "    ssl_certificate /;\n    ssl_certificate_key /tmp/..;\n"
                                "  }\n}\n");
    distribute::LocalTransport local("self");
    RootUnreadable transport(local);
    auto obs = h.observe_with(transport);  // no null dereference: "/" is simply not there
    REQUIRE(obs);
    CHECK(obs->uses.empty());
    CHECK_THAT(obs->unchecked, Catch::VectorContains(std::string("stat /: permission denied")));
}

TEST_CASE("audit scan: a walk stops after max_entries directory entries, saying so",
          "[audit_scan]") {
    HostDir h;
    for (int i = 0; i < 50; ++i)
        put(h.dir / ("scan/junk-" + std::to_string(i)), "not pem\n");
    distribute::LocalTransport local("self");
    auto obs = h.observe_with(local, 20000, 10);
    REQUIRE(obs);
    const auto noted = std::count_if(obs->unchecked.begin(), obs->unchecked.end(), [](auto& u) {
        return u.starts_with(
                   "more than 10 directory entries in the scanned directories: the "
                   "rest (from ") &&
               u.ends_with(") was not walked");
    });
    CHECK(noted == 1);  // once, however many more there are
}

TEST_CASE("audit scan: listen addresses that mean the host itself are probed at the host",
          "[audit_scan]") {
    HostDir h;
    auto shop = distribute::test::make_material("shop", "x", 5, "shop.example.net");
    distribute::test::TlsServer server([&] {
        return std::optional<distribute::test::Pair>({shop.fullchain_pem, shop.key_pem});
    });
    const std::string port = std::to_string(server.port());
    // 127.9.9.9 on the host is the host's own loopback; from the manager it
    // would be the manager's. Nothing listens there: only the host's
    // address (127.0.0.1 for a local host) answers.
    std::string listens = "    listen 127.9.9.9:" + port + " ssl;\n";
    for (int i = 0; i < 40; ++i)  // a flood of endpoints (closed ports): only max_probes tried
        listens += "    listen 127.0.0.1:" + std::to_string(i + 1) + " ssl;\n";
    put(h.dir / "dump.txt", "# configuration file " + h.main_conf + ":\nhttp {\n  server {\n" +
                                listens + "    server_name shop.example.net;\n" +
                                "    ssl_certificate " + (h.dir / "srv/shop.pem") + ";\n" +
                                "    ssl_certificate_key " + (h.dir / "srv/shop.key") +
                                ";\n  }\n}\n");
    distribute::LocalTransport local("self");
    audit::ScanLimits limits;
    limits.max_probes = 3;
    limits.probe_timeout = core::Seconds(1);
    h.inv.certificates.clear();  // no verify endpoints: only the configuration's
    auto obs = h.observe_limited(local, limits);
    REQUIRE(obs);
    const auto& use = use_for(*obs, "shop.example.net");
    REQUIRE(use.serves.size() == 41);
    CHECK(use.serves[0].endpoint == "127.0.0.1:" + port + " (SNI shop.example.net)");
    REQUIRE(use.serves[0].served);
    CHECK(use.serves[0].served->dns_names == std::vector<std::string>{"shop.example.net"});
    CHECK(use.serves[40].error == "not probed: more than 3 endpoints");
    const auto noted = std::count_if(obs->unchecked.begin(), obs->unchecked.end(), [](auto& u) {
        return u.starts_with("more than 3 TLS endpoints: ");
    });
    CHECK(noted == 1);
}
