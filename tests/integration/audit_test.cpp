// `certfleet audit` against the lab fleet: every host managed by certfleet
// first (no findings at all), then one problem seeded per host — a vhost
// loading a hand-copied certificate for a name nobody inventoried, a key
// chmod 0644, an expired certificate in a scanned directory, a key replaced
// under a loaded certificate, a host rolled back — plus a host that cannot be
// reached. Each gives exactly its finding. `run` then notifies the findings
// once, and once more only when they change.
#include <filesystem>
#include <functional>
#include <thread>

#include <catch2/catch.hpp>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "core/crypto.hpp"
#include "fleet_support.hpp"

using namespace certfleet;
using namespace certfleet::testing;
using nlohmann::json;

namespace {

struct Cleanup {
    std::function<void()> run;
    ~Cleanup() { run(); }
};

struct KeyAndCert {
    std::string key_pem, cert_pem, serial;
};

// A self-signed leaf (CA:FALSE) valid from `from` to `to` days from now.
KeyAndCert make_leaf(const std::string& name, long from_days, long to_days) {
    auto key = core::PrivateKey::generate(core::KeyType::EcdsaP256);
    REQUIRE(key);
    X509* x = X509_new();
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 0x5eed0000 + from_days + 100);
    X509_gmtime_adj(X509_getm_notBefore(x), from_days * 86400L);
    X509_gmtime_adj(X509_getm_notAfter(x), to_days * 86400L);
    X509_set_pubkey(x, key->raw());
    X509_NAME* n = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>(name.c_str()), -1, -1, 0);
    X509_set_issuer_name(x, n);
    for (auto [nid, value] : {std::pair{NID_basic_constraints, "critical,CA:FALSE"},
                              std::pair{NID_subject_alt_name, ""}}) {
        std::string v = nid == NID_subject_alt_name ? "DNS:" + name : value;
        X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, nullptr, nid, v.c_str());
        X509_add_ext(x, ext, -1);
        X509_EXTENSION_free(ext);
    }
    X509_sign(x, key->raw(), EVP_sha256());
    BIO* bio = BIO_new(BIO_s_mem());
    PEM_write_bio_X509(bio, x);
    char* data = nullptr;
    long len = BIO_get_mem_data(bio, &data);
    KeyAndCert out{key->to_pem(), std::string(data, static_cast<size_t>(len)), ""};
    BIO_free(bio);
    X509_free(x);
    out.serial = core::parse_certificate_pem(out.cert_pem)->serial_hex;
    return out;
}

std::string store_serial(const TestInventory& t, const std::string& cert) {
    return core::parse_certificate_pem(
               read_file(t.state_dir + "/certificates/" + cert + "/cert.pem"))
        ->serial_hex;
}

// nginx's exiting workers answer with the old certificate for a moment after a reload.
void wait_served(const LabHost& h, const std::string& sni, const std::string& serial) {
    const Lab& lab = Lab::get();
    int agreeing = 0;
    for (int i = 0; i < 100 && agreeing < 3; ++i) {
        agreeing = served_serial(h.address, lab.nginx_port, sni) == serial ? agreeing + 1 : 0;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    INFO(h.name << " " << sni);
    REQUIRE(agreeing == 3);
}

std::string real(const std::string& path) {
    return std::filesystem::canonical(path).string();
}

std::vector<std::string> findings_of(const json& doc) {
    std::vector<std::string> out;
    for (const auto& f : doc["findings"])
        out.push_back(f["host"].get<std::string>() + " " + f["kind"].get<std::string>() + " " +
                      f["path"].get<std::string>());
    std::sort(out.begin(), out.end());
    return out;
}

}  // namespace

TEST_CASE("audit: each seeded problem gives exactly its finding, managed hosts none", "[audit]") {
    const Lab& lab = Lab::get();
    const auto hosts = lab.hosts();
    REQUIRE(hosts.size() >= 4);
    const LabHost &fra = hosts[0], &ams = hosts[1], &lon = hosts[2], &nyc = hosts[3];

    // "www" stays hand-managed for the other tests: put its files back after.
    const std::string saved = make_temp_dir("audit-www");
    for (const auto& h : hosts)
        REQUIRE(run_command({"cp", "-a", h.cert_root + "/www", saved + "/" + h.name}).exit_code ==
                0);
    const std::string fra_conf = read_file(fra.nginx_conf);
    Cleanup restore{[&] {
        write_file(fra.nginx_conf, fra_conf, 0644);
        for (const auto& h : hosts) {
            std::filesystem::remove_all(h.cert_root + "/www");
            run_command({"cp", "-a", saved + "/" + h.name, h.cert_root + "/www"});
            run_command({"sh", "-c", h.reload_command});
        }
    }};

    auto scan_dir = [&](const LabHost& h) { return lab.dir + "/hosts/" + h.name + "/audit-scan"; };
    auto t = write_fleet_inventory("audit", [&](json& inv) {
        inv["certificates"]["www"] = {{"domains", {"www.example.test", "example.test"}},
                                      {"dns", "lab-bind"},
                                      {"deploy_to", {"cdn"}}};
        for (const auto& h : hosts) {
            std::filesystem::remove_all(scan_dir(h));
            std::filesystem::create_directories(scan_dir(h));
            inv["hosts"][h.name]["audit"] = {{"config_dump_command", "nginx -T -c " + h.nginx_conf},
                                             {"scan_dirs", {scan_dir(h)}}};
        }
    });
    auto renew = run_certfleet(cf_args(t, {"-q", "renew"}));
    INFO(renew.out << renew.err);
    REQUIRE(renew.exit_code == 0);
    for (const auto& h : hosts) {
        wait_served(h, "media.example.test", store_serial(t, "media"));
        wait_served(h, "www.example.test", store_serial(t, "www"));
    }

    // (One flow, no SECTIONs: Catch would renew again for each.)
    {
        auto clean = run_certfleet(cf_args(t, {"--json", "audit"}));
        INFO(clean.out << clean.err);
        CHECK(clean.exit_code == 0);
        auto doc = json::parse(clean.out);
        CHECK(doc["findings"].empty());
        CHECK(doc["hosts_failed"].empty());
        CHECK(doc["hosts_audited"].size() == hosts.size());
        CHECK(doc["store_audited"] == true);
    }

    // fra: a vhost serving a hand-copied certificate for a name nobody inventoried.
    const std::string legacy = lab.dir + "/hosts/" + fra.name + "/legacy";
    std::filesystem::create_directories(legacy);
    auto shop = make_leaf("shop.example.net", -10, 50);
    write_file(legacy + "/shop.pem", shop.cert_pem, 0644);
    write_file(legacy + "/shop.key", shop.key_pem, 0600);
    std::string conf = fra_conf;
    conf.insert(conf.rfind('}'), "    server {\n        listen " + fra.address + ":" +
                                     lab.nginx_port +
                                     " ssl;\n        server_name shop.example.net;\n"
                                     "        ssl_certificate " +
                                     legacy +
                                     "/shop.pem;\n"
                                     "        ssl_certificate_key " +
                                     legacy + "/shop.key;\n    }\n");
    write_file(fra.nginx_conf, conf, 0644);
    REQUIRE(run_command({"sh", "-c", fra.reload_command}).exit_code == 0);
    wait_served(fra, "shop.example.net", shop.serial);
    // ams: the current key made world-readable.
    const std::string ams_key = real(ams.cert_root + "/media/privkey.pem");
    std::filesystem::permissions(ams_key, std::filesystem::perms(0644));
    Cleanup chmod_back{
        [&] { std::filesystem::permissions(ams_key, std::filesystem::perms(0600)); }};
    // lon: an expired certificate in a scanned directory, and the key under
    // the loaded www certificate replaced by another one.
    write_file(scan_dir(lon) + "/old-portal.pem",
               make_leaf("portal.example.net", -40, -2).cert_pem);
    const std::string lon_key = real(lon.cert_root + "/www/privkey.pem");
    write_file(lon_key, make_leaf("other.example.net", -1, 10).key_pem, 0600);
    // nyc: rolled back to the version before.
    auto rb = run_certfleet(cf_args(t, {"rollback", "media", "--host", nyc.name}));
    INFO(rb.out << rb.err);
    REQUIRE(rb.exit_code == 0);
    // Unpinned, so it is stale (a pinned host is deliberate: no finding).
    REQUIRE(
        run_certfleet(cf_args(t, {"rollback", "media", "--host", nyc.name, "--unpin"})).exit_code ==
        0);
    wait_served(
        nyc, "media.example.test",
        core::parse_certificate_pem(read_file(nyc.cert_root + "/media/cert.pem"))->serial_hex);
    // And a host nothing answers for.
    json inv = json::parse(read_file(t.path));
    inv["hosts"]["cdn-gone"] = {{"address", lab.addr.substr(0, lab.addr.rfind('.')) + ".99"}};
    write_file(t.path, inv.dump(2));

    auto r = run_certfleet(cf_args(t, {"--json", "audit"}));
    INFO(r.out << r.err);
    CHECK(r.exit_code == 2);
    auto doc = json::parse(r.out);
    CHECK(findings_of(doc) == std::vector<std::string>{
                                  ams.name + " key_exposed " + ams_key,
                                  fra.name + " orphan " + real(legacy + "/shop.pem"),
                                  lon.name + " expired " + real(scan_dir(lon) + "/old-portal.pem"),
                                  lon.name + " key_mismatch " + lon_key,
                                  nyc.name + " stale " + real(nyc.cert_root + "/media"),
                              });
    CHECK(doc["hosts_failed"] == json::array({"cdn-gone"}));
    for (const auto& f : doc["findings"]) {
        CHECK_FALSE(f["detail"].get<std::string>().empty());
        CHECK_FALSE(f["next_step"].get<std::string>().empty());
        if (f["kind"] == "orphan") {
            CHECK(f["serial"] == shop.serial);
            CHECK_THAT(f["subject"].get<std::string>(), Catch::Contains("shop.example.net"));
        }
    }

    {  // the readable report: grouped by host, with the next step
        auto text = run_certfleet(cf_args(t, {"audit"}));
        CHECK(text.exit_code == 2);
        CHECK_THAT(text.out, Catch::Contains(fra.name + ":\n  orphan"));
        CHECK_THAT(text.out, Catch::Contains("next step: add it to the inventory, or remove it "
                                             "from the server configuration"));
        CHECK_THAT(text.out, Catch::Contains("next step: chmod 0600 " + ams_key));
        CHECK_THAT(text.out, Catch::Contains("cdn-gone: NOT AUDITED"));
        CHECK_THAT(text.out, Catch::Contains("5 findings"));
    }
    {  // --host audits only that host, not the store
        auto one = run_certfleet(cf_args(t, {"--json", "audit", "--host", fra.name}));
        CHECK(one.exit_code == 1);
        auto d = json::parse(one.out);
        CHECK(findings_of(d) ==
              std::vector<std::string>{fra.name + " orphan " + real(legacy + "/shop.pem")});
        CHECK(d["store_audited"] == false);
        CHECK(run_certfleet(cf_args(t, {"audit", "--host", "nope"})).exit_code == 64);
    }
    {  // run notifies the findings once, and the change when one goes away
        const std::string log = t.dir + "/notices.log";
        write_file(t.dir + "/notify-hook",
                   "#!/bin/sh\necho \"$CERTFLEET_EVENT $CERTFLEET_HOST $CERTFLEET_SEVERITY\" >> '" +
                       log + "'\n",
                   0755);
        inv["notify"] = {{{"type", "exec"}, {"command", t.dir + "/notify-hook"}}};
        write_file(t.path, inv.dump(2));
        auto first = run_certfleet(cf_args(t, {"-q", "run", "--jitter", "0s"}));
        INFO(first.out << first.err);
        CHECK(first.exit_code == 1);
        // run deployed the current version to nyc again: that finding is gone.
        std::string told = read_file(log);
        CHECK_THAT(told, Catch::Contains("audit_finding " + ams.name + " critical"));
        CHECK_THAT(told, Catch::Contains("audit_finding " + fra.name + " warning"));
        CHECK_THAT(told, Catch::Contains("audit_finding cdn-gone warning"));
        CHECK_THAT(told, !Catch::Contains(nyc.name));
        CHECK(std::count(told.begin(), told.end(), '\n') == 5);  // 4 findings + cdn-gone
        CHECK_THAT(first.out, Catch::Contains("key_exposed"));

        auto second = run_certfleet(cf_args(t, {"-q", "run", "--jitter", "0s"}));
        CHECK(second.exit_code == 1);
        CHECK(read_file(log) == told);  // nothing new: nothing sent

        std::filesystem::permissions(ams_key, std::filesystem::perms(0600));
        auto third = run_certfleet(cf_args(t, {"-q", "run", "--jitter", "0s"}));
        CHECK(third.exit_code == 1);
        CHECK(read_file(log) == told + "resolved " + ams.name + " resolved\n");
    }
}
