// The audit's classification rules on hand-built observations: one host with
// exactly the seeded problem each, and a correctly managed host with none.
#include <catch2/catch.hpp>

#include "audit/classify.hpp"

using namespace certfleet;
using audit::AuditFinding;
using audit::HostObservation;
using audit::ObservedFile;

namespace {

constexpr long kDay = 86400;
const core::TimePoint kNow = core::TimePoint{std::chrono::seconds{1795000000}};

core::PemCertificate cert(const std::string& serial, const std::string& pubkey, long days_left,
                          std::vector<std::string> names = {"media.example.test"}) {
    core::PemCertificate c;
    c.info.serial_hex = serial;
    c.info.subject = "CN=" + names.front();
    c.info.dns_names = std::move(names);
    c.info.not_before = kNow - std::chrono::seconds{30 * kDay};
    c.info.not_after = kNow + std::chrono::seconds{days_left * kDay};
    c.public_key_sha256 = pubkey;
    return c;
}

core::PemCertificate ca_cert() {
    auto c = cert("ca01", "pk-ca", 3650, {"Lab CA"});
    c.info.is_ca = true;
    return c;
}

core::PemPrivateKey key(const std::string& pubkey) {
    core::PemPrivateKey k;
    k.public_key_sha256 = pubkey;
    k.label = "PRIVATE KEY";
    return k;
}

void add_observed(HostObservation& host, const std::string& path,
                  std::vector<core::PemCertificate> certs, std::vector<core::PemPrivateKey> keys,
                  mode_t mode) {
    ObservedFile f;
    f.path = path;
    f.mode = mode;
    f.pem.certificates = std::move(certs);
    f.pem.keys = std::move(keys);
    host.files[path] = f;
}

struct World {
    inventory::Inventory inv;
    audit::ManagedState managed;
    HostObservation host;

    World() {
        inventory::CertificateSpec media;
        media.name = "media";
        media.domains = {"media.example.test"};
        media.deploy_to = {"edge-1"};
        inv.certificates["media"] = media;
        inventory::Host h;
        h.name = "edge-1";
        h.address = "127.0.0.1";
        inv.hosts["edge-1"] = h;
        managed.current_serial["media"] = "bb";
        managed.current_version["media"] = "v2";
        managed.serial_owner = {{"aa", "media"}, {"bb", "media"}};

        host.host = "edge-1";
        host.cert_root = "/live";
        host.allowed_key_owners = {0};
        add_version("v1", "aa", "pk-a", 60);
        add_version("v2", "bb", "pk-b", 80);
        audit::ObservedCertDir d;
        d.name = "media";
        d.path = "/live/media";
        d.current_version = "v2";
        d.current_cert = "/live/media/versions/v2/cert.pem";
        d.current_key = "/live/media/versions/v2/privkey.pem";
        host.cert_dirs.push_back(d);
        audit::ObservedUse use;
        use.certificate = "/live/media/versions/v2/fullchain.pem";
        use.key = "/live/media/versions/v2/privkey.pem";
        use.source = "/etc/nginx/nginx.conf:12";
        use.server_names = {"media.example.test"};
        use.serves.push_back(served("bb"));
        host.uses.push_back(use);
        host.verified["media"] = served("bb");
    }

    static audit::ObservedServe served(const std::string& serial) {
        audit::ObservedServe s;
        s.endpoint = "127.0.0.1:443 (SNI media.example.test)";
        s.served = cert(serial, "pk-x", 80).info;
        return s;
    }

    void add_file(const std::string& path, std::vector<core::PemCertificate> certs,
                  std::vector<core::PemPrivateKey> keys = {}, mode_t mode = 0644) {
        add_observed(host, path, std::move(certs), std::move(keys), mode);
    }

    void add_version(const std::string& v, const std::string& serial, const std::string& pk,
                     long days_left) {
        const std::string dir = "/live/media/versions/" + v + "/";
        add_file(dir + "cert.pem", {cert(serial, pk, days_left)});
        add_file(dir + "fullchain.pem", {cert(serial, pk, days_left), ca_cert()});
        add_file(dir + "chain.pem", {ca_cert()});
        add_file(dir + "privkey.pem", {}, {key(pk)}, 0600);
    }

    std::vector<AuditFinding> audit() const {
        auto with_targets = managed;
        with_targets.certificates_on_host = inventory::certificates_by_host(inv);
        return audit::classify_host(inv, with_targets, host, kNow);
    }
};

std::vector<std::string> kinds_and_paths(const std::vector<AuditFinding>& findings) {
    std::vector<std::string> out;
    for (const auto& f : findings)
        out.push_back(std::string(audit::finding_kind_name(f.kind)) + " " + f.path);
    return out;
}

}  // namespace

TEST_CASE("audit: a correctly managed host has no findings", "[audit]") {
    World w;
    CHECK(w.audit().empty());
}

TEST_CASE("audit: a hand-copied certificate for an unknown name is an orphan", "[audit]") {
    World w;
    w.add_file("/srv/legacy/shop.pem", {cert("cc", "pk-c", 40, {"shop.example.net"}), ca_cert()});
    w.add_file("/srv/legacy/shop.key", {}, {key("pk-c")}, 0600);
    audit::ObservedUse use;
    use.certificate = "/srv/legacy/shop.pem";
    use.key = "/srv/legacy/shop.key";
    use.source = "/etc/nginx/sites-enabled/shop:3";
    use.server_names = {"shop.example.net"};
    w.host.uses.push_back(use);
    auto findings = w.audit();
    REQUIRE(kinds_and_paths(findings) == std::vector<std::string>{"orphan /srv/legacy/shop.pem"});
    CHECK(findings[0].serial == "cc");
    CHECK_THAT(findings[0].detail, Catch::Contains("shop.example.net") &&
                                       Catch::Contains("/etc/nginx/sites-enabled/shop:3"));
    CHECK_THAT(findings[0].next_step, Catch::Contains("add it to the inventory"));
}

TEST_CASE("audit: an expired certificate in a scanned directory is expired, nothing else",
          "[audit]") {
    World w;
    w.add_file("/etc/ssl/old/legacy.crt", {cert("dd", "pk-d", -3, {"old.example.net"})});
    auto findings = w.audit();
    REQUIRE(kinds_and_paths(findings) ==
            std::vector<std::string>{"expired /etc/ssl/old/legacy.crt"});
    CHECK_THAT(findings[0].detail, Catch::Contains("not loaded by the web server"));
    CHECK(findings[0].next_step == "remove it");
}

TEST_CASE("audit: CA certificates are never findings", "[audit]") {
    World w;
    w.add_file("/etc/ssl/certs/ca-certificates.crt", {ca_cert(), ca_cert()});
    CHECK(w.audit().empty());
}

TEST_CASE("audit: private keys readable beyond key_mode / key_group", "[audit]") {
    World w;
    w.add_file("/etc/ssl/private/world.key", {}, {key("pk-w")}, 0644);
    auto findings = w.audit();
    REQUIRE(kinds_and_paths(findings) ==
            std::vector<std::string>{"key_exposed /etc/ssl/private/world.key"});
    CHECK_THAT(findings[0].detail, Catch::Contains("0644") && Catch::Contains("everyone"));
    CHECK_THAT(findings[0].next_step, Catch::StartsWith("chmod 0600 /etc/ssl/private/world.key"));

    SECTION("group-readable: only for key_group with a key_mode that allows it") {
        w.host.files.erase("/etc/ssl/private/world.key");
        w.add_file("/etc/ssl/private/group.key", {}, {key("pk-g")}, 0640);
        w.host.files["/etc/ssl/private/group.key"].gid = 33;
        CHECK(w.audit().size() == 1);  // key_mode 0600: group bits are too much
        w.inv.hosts["edge-1"].settings.key_mode = 0640;
        w.host.key_group_gid = 33;
        CHECK(w.audit().empty());
        w.host.key_group_gid = 34;
        CHECK(w.audit().size() == 1);
    }
    SECTION("owned by someone other than root and the deploying user") {
        w.host.files["/etc/ssl/private/world.key"].mode = 0600;
        w.host.files["/etc/ssl/private/world.key"].uid = 33;
        findings = w.audit();
        REQUIRE(findings.size() == 1);
        CHECK_THAT(findings[0].detail, Catch::Contains("uid 33"));
        w.host.allowed_key_owners.insert(33);
        CHECK(w.audit().empty());
    }
}

TEST_CASE("audit: a host rolled back is stale, with the ledger's word", "[audit]") {
    World w;
    w.host.cert_dirs[0].current_version = "v1";
    w.host.cert_dirs[0].current_cert = "/live/media/versions/v1/cert.pem";
    w.host.cert_dirs[0].current_key = "/live/media/versions/v1/privkey.pem";
    w.host.verified["media"] = World::served("aa");
    w.host.uses[0].certificate = "/live/media/versions/v1/fullchain.pem";
    w.host.uses[0].key = "/live/media/versions/v1/privkey.pem";
    w.host.uses[0].serves = {World::served("aa")};
    state::EventRecord e;
    e.cert = "media";
    e.host = "edge-1";
    e.kind = state::EventKind::RolledBack;
    e.detail = "to v1";
    e.at = kNow;
    w.managed.host_events[{"media", "edge-1"}] = e;
    auto findings = w.audit();
    REQUIRE(kinds_and_paths(findings) == std::vector<std::string>{"stale /live/media"});
    CHECK(findings[0].serial == "aa");
    CHECK_THAT(findings[0].detail,
               Catch::Contains("v2 (serial bb)") && Catch::Contains("rolled_back to v1"));
    CHECK(findings[0].next_step == "certfleet deploy media --host edge-1");
}

TEST_CASE("audit: a loaded pair that does not belong together", "[audit]") {
    World w;
    SECTION("in certfleet's layout (privkey.pem replaced by hand)") {
        w.host.files["/live/media/versions/v2/privkey.pem"].pem.keys = {key("pk-other")};
        auto findings = w.audit();
        REQUIRE(kinds_and_paths(findings) ==
                std::vector<std::string>{"key_mismatch /live/media/versions/v2/privkey.pem"});
    }
    SECTION("named by the web server") {
        w.add_file("/srv/a.pem", {cert("bb", "pk-b", 80)});
        w.add_file("/srv/b.key", {}, {key("pk-other")}, 0600);
        audit::ObservedUse use;
        use.certificate = "/srv/a.pem";
        use.key = "/srv/b.key";
        use.source = "/etc/nginx/nginx.conf:30";
        use.server_names = {"media.example.test"};
        use.serves.push_back(World::served("ee"));  // not reported: the pair is the problem
        w.host.uses.push_back(use);
        auto findings = w.audit();
        REQUIRE(kinds_and_paths(findings) == std::vector<std::string>{"key_mismatch /srv/a.pem"});
        CHECK_THAT(findings[0].detail, Catch::Contains("/srv/b.key"));
    }
}

TEST_CASE("audit: what is served differs from the files", "[audit]") {
    World w;
    SECTION("the verify endpoint of a managed certificate") {
        w.host.verified["media"] = World::served("aa");
        w.host.uses[0].serves = {World::served("aa")};
        auto findings = w.audit();
        REQUIRE(kinds_and_paths(findings) ==
                std::vector<std::string>{"served_mismatch /live/media"});
        CHECK(findings[0].serial == "aa");
    }
    SECTION("a server the web server configuration names (no verify endpoint)") {
        w.host.verified.clear();
        w.host.uses[0].serves = {World::served("aa")};
        auto findings = w.audit();
        REQUIRE(kinds_and_paths(findings) ==
                std::vector<std::string>{"served_mismatch /live/media/versions/v2/fullchain.pem"});
        CHECK_THAT(findings[0].detail, Catch::Contains("/etc/nginx/nginx.conf:12"));
    }
    SECTION("a server with an ECDSA and an RSA certificate may serve either") {
        w.host.verified.clear();
        w.add_file("/live/media/versions/v2/rsa.pem", {cert("ff", "pk-f", 80)});
        audit::ObservedUse rsa = w.host.uses[0];
        rsa.certificate = "/live/media/versions/v2/rsa.pem";
        rsa.key.clear();
        rsa.serves = {World::served("bb")};
        w.host.uses.push_back(rsa);
        w.host.uses[0].serves = {World::served("ff")};
        CHECK(w.audit().empty());
    }
}

TEST_CASE("audit: missing deployments", "[audit]") {
    World w;
    SECTION("no directory at all") {
        w.host.cert_dirs.clear();
        w.host.files.clear();
        w.host.uses.clear();
        w.host.verified.clear();
        auto findings = w.audit();
        REQUIRE(kinds_and_paths(findings) == std::vector<std::string>{"missing /live/media"});
        CHECK(findings[0].next_step == "certfleet deploy media --host edge-1");
    }
    SECTION("a current version that could not be read is not judged") {
        w.host.cert_dirs[0].current_cert.clear();
        w.host.cert_dirs[0].unread = true;
        w.host.verified.clear();
        CHECK(w.audit().empty());
    }
    SECTION("current points at an incomplete version") {
        w.host.cert_dirs[0].incomplete = "versions/v2 lacks privkey.pem";
        auto findings = w.audit();
        REQUIRE(kinds_and_paths(findings) == std::vector<std::string>{"missing /live/media"});
        CHECK_THAT(findings[0].detail, Catch::Contains("lacks privkey.pem"));
    }
}

TEST_CASE("audit: certificate directories nobody deploys here", "[audit]") {
    World w;
    audit::ObservedCertDir old;
    old.name = "retired";
    old.path = "/live/retired";
    w.host.cert_dirs.push_back(old);
    inventory::CertificateSpec other;
    other.name = "other";
    other.domains = {"other.example.test"};
    w.inv.certificates["other"] = other;  // deployed nowhere
    audit::ObservedCertDir o;
    o.name = "other";
    o.path = "/live/other";
    w.host.cert_dirs.push_back(o);
    auto findings = w.audit();
    REQUIRE(kinds_and_paths(findings) ==
            std::vector<std::string>{"orphan /live/other", "orphan /live/retired"});
    CHECK_THAT(findings[0].detail, Catch::Contains("does not deploy 'other' to edge-1"));
    CHECK_THAT(findings[1].detail,
               Catch::Contains("no longer has") && Catch::Contains("not loaded by the web server"));
    CHECK_FALSE(findings[1].loaded);

    // nginx loads the retired directory's stable name: removing it would break the next reload.
    audit::ObservedUse use;
    use.certificate = "/live/retired/versions/v9/fullchain.pem";
    use.source = "/etc/nginx/sites-enabled/old:4";
    w.host.uses.push_back(use);
    findings = w.audit();
    REQUIRE(findings.size() == 2);
    CHECK(findings[1].loaded);
    CHECK_THAT(findings[1].detail, Catch::Contains("loaded by the web server at "
                                                   "/etc/nginx/sites-enabled/old:4"));
}

TEST_CASE("audit: copies of managed certificates elsewhere", "[audit]") {
    World w;
    w.add_file("/etc/ssl/media-copy.pem", {cert("bb", "pk-b", 80)});  // the current one: fine
    w.add_file("/etc/ssl/media-old.pem", {cert("aa", "pk-a", 60)});
    auto findings = w.audit();
    REQUIRE(kinds_and_paths(findings) == std::vector<std::string>{"stale /etc/ssl/media-old.pem"});
    CHECK(findings[0].certificate == "media");
}

TEST_CASE("audit: a self-signed certificate a server loads is judged, CA:TRUE or not", "[audit]") {
    // `openssl req -x509` marks a self-signed certificate CA:TRUE.
    World w;
    auto self_signed = cert("5e", "pk-s", 2, {"intranet.example.net"});
    self_signed.info.is_ca = true;
    w.add_file("/etc/nginx/ssl/intranet.pem", {self_signed});
    w.add_file("/etc/nginx/ssl/intranet.key", {}, {key("pk-s")}, 0600);
    audit::ObservedUse use;
    use.certificate = "/etc/nginx/ssl/intranet.pem";
    use.key = "/etc/nginx/ssl/intranet.key";
    use.source = "/etc/nginx/sites-enabled/intranet:4";
    w.host.uses.push_back(use);
    auto findings = w.audit();
    CHECK(kinds_and_paths(findings) ==
          std::vector<std::string>{"expiring /etc/nginx/ssl/intranet.pem",
                                   "orphan /etc/nginx/ssl/intranet.pem"});
    // The same in a bundle nobody loads: CA certificates, not findings.
    World bundle;
    bundle.add_file("/etc/ssl/certs/intranet.pem", {self_signed});
    CHECK(bundle.audit().empty());
}

TEST_CASE("audit: a version under cert_root holding a CA:TRUE pair is the host's certificate",
          "[audit]") {
    World w;
    w.add_version("v2", "bb", "pk-b", 90);
    // Rolled back to an adopted, hand-made self-signed pair.
    auto& file = w.host.files.at("/live/media/versions/v2/cert.pem");
    file.pem.certificates.front().info.is_ca = true;
    auto findings = w.audit();
    for (const auto& f : findings)
        CHECK(f.kind != audit::FindingKind::Missing);
}

TEST_CASE("audit: a current certificate near its end", "[audit]") {
    World w;
    w.add_version("v2", "bb", "pk-b", 3);
    auto findings = w.audit();
    REQUIRE(kinds_and_paths(findings) ==
            std::vector<std::string>{"expiring /live/media/versions/v2/cert.pem"});
    CHECK_THAT(findings[0].next_step, Catch::Contains("certfleet renew media"));
}

TEST_CASE("audit: the manager's store", "[audit]") {
    World w;
    HostObservation store;
    store.host = audit::kStoreHost;
    store.cert_root = "/state/certificates";
    store.allowed_key_owners = {0};
    auto add = [&](const std::string& path, std::vector<core::PemCertificate> c,
                   std::vector<core::PemPrivateKey> k,
                   mode_t mode) { add_observed(store, path, std::move(c), std::move(k), mode); };
    const std::string v = "/state/certificates/media/versions/v2/";
    add(v + "cert.pem", {cert("bb", "pk-b", 80)}, {}, 0644);
    add(v + "privkey.pem", {}, {key("pk-b")}, 0600);
    audit::ObservedCertDir d;
    d.name = "media";
    d.path = "/state/certificates/media";
    d.current_version = "v2";
    d.current_cert = v + "cert.pem";
    d.current_key = v + "privkey.pem";
    store.cert_dirs.push_back(d);
    add("/state/accounts/acct/key.pem", {}, {key("pk-account")}, 0600);
    CHECK(audit::classify_store(w.inv, store).empty());

    add("/state/certificates/media/versions/.tmp-v3/privkey.pem", {}, {key("pk-stray")}, 0600);
    add("/state/certificates/gone/versions/v1/cert.pem", {cert("99", "pk-9", 10)}, {}, 0644);
    add("/state/certificates/gone/versions/v1/privkey.pem", {}, {key("pk-9")}, 0644);
    audit::ObservedCertDir gone;
    gone.name = "gone";
    gone.path = "/state/certificates/gone";
    gone.current_version = "v1";
    gone.current_cert = "/state/certificates/gone/versions/v1/cert.pem";
    store.cert_dirs.push_back(gone);
    auto findings = audit::classify_store(w.inv, store);
    CHECK(
        kinds_and_paths(findings) ==
        std::vector<std::string>{"orphan /state/certificates/gone",
                                 "key_exposed /state/certificates/gone/versions/v1/privkey.pem",
                                 "orphan /state/certificates/media/versions/.tmp-v3/privkey.pem"});
}

TEST_CASE("audit: finding kinds convert both ways by their documented names (docs/json.md)",
          "[audit]") {
    using audit::FindingKind;
    const std::pair<FindingKind, const char*> all[] = {
        {FindingKind::Orphan, "orphan"},
        {FindingKind::Stale, "stale"},
        {FindingKind::Expired, "expired"},
        {FindingKind::Expiring, "expiring"},
        {FindingKind::KeyExposed, "key_exposed"},
        {FindingKind::KeyMismatch, "key_mismatch"},
        {FindingKind::ServedMismatch, "served_mismatch"},
        {FindingKind::Missing, "missing"},
        {FindingKind::UntrustedDir, "untrusted_dir"},
    };
    for (const auto& [kind, name] : all) {
        CHECK(audit::finding_kind_name(kind) == name);
        CHECK(audit::parse_finding_kind(name) == kind);
    }
    CHECK_FALSE(audit::parse_finding_kind("unknown"));
}
