// Smoke test of the lab itself: if these fail, every other integration test
// fails for reasons that have nothing to do with certfleet.
#include "lab.hpp"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <filesystem>
#include <string>
#include <sys/stat.h>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

using certfleet::testing::CommandResult;
using certfleet::testing::Lab;
using certfleet::testing::LabHost;
using certfleet::testing::run_certfleet;
using certfleet::testing::run_command;
using certfleet::testing::served_serial;

namespace {

std::string dns_host(const Lab& lab) {
    return lab.dns.substr(0, lab.dns.rfind(':'));
}
std::string dns_port(const Lab& lab) {
    return lab.dns.substr(lab.dns.rfind(':') + 1);
}

unsigned file_mode(const std::string& path) {
    struct stat st {};
    REQUIRE(::stat(path.c_str(), &st) == 0);
    return static_cast<unsigned>(st.st_mode) & 07777U;
}

CommandResult curl(const Lab& lab, const std::string& url) {
    return run_command({"curl", "-sS", "--max-time", "10", "--cacert", lab.ca_bundle, url});
}

}  // namespace

TEST_CASE("lab.env describes a complete lab", "[lab]") {
    const Lab& lab = Lab::get();
    for (const char* key : {"LAB_DIR", "LAB_ADDR", "LAB_DNS", "LAB_TSIG_NAME", "LAB_TSIG_ALGORITHM",
                            "LAB_TSIG_SECRET_FILE", "LAB_TSIG_KEY_FILE", "LAB_CA_BUNDLE",
                            "LAB_ACME_DIRECTORY", "LAB_ACME_MGMT", "LAB_EAB_DIRECTORY",
                            "LAB_EAB_MGMT", "LAB_EAB_KID", "LAB_EAB_KEY_FILE", "LAB_ZONES"}) {
        INFO(key);
        CHECK_FALSE(lab.value(key).empty());
    }
    CHECK(lab.tsig_name == "certfleet-key");
    CHECK(lab.value("LAB_TSIG_ALGORITHM") == "hmac-sha256");
    CHECK(lab.dns == lab.addr + ":" + dns_port(lab));
    CHECK(lab.acme_directory == "https://" + lab.addr + ":14000/dir");
    CHECK(lab.eab_kid == "kid-1");
    const std::string zones = lab.value("LAB_ZONES");
    for (const char* zone : {"example.test", "lab.test", "acme-delegate.test"}) {
        CHECK_THAT(zones, Catch::Contains(zone));
    }
    // Secrets: present, not world- or group-readable, no trailing newline.
    for (const std::string& secret : {lab.tsig_secret_file, lab.eab_key_file}) {
        INFO(secret);
        CHECK(file_mode(secret) == 0600U);
        std::string text = certfleet::testing::read_file(secret);
        CHECK(text.size() >= 32);
        CHECK(text.find('\n') == std::string::npos);
    }
    CHECK_THAT(certfleet::testing::read_file(lab.tsig_key_file), Catch::Contains("certfleet-key"));
    CHECK_THAT(certfleet::testing::read_file(lab.ca_bundle),
               Catch::Contains("-----BEGIN CERTIFICATE-----"));
    CHECK_THAT(certfleet::testing::read_file(lab.dir + "/certfleet.json"),
               Catch::Contains(lab.acme_directory));
}

TEST_CASE("pebble answers over TLS trusted through the lab CA", "[lab]") {
    const Lab& lab = Lab::get();
    CommandResult dir = curl(lab, lab.acme_directory);
    INFO(dir.err);
    REQUIRE(dir.exit_code == 0);
    CHECK_THAT(dir.out, Catch::Contains("newNonce") && Catch::Contains("newOrder"));

    CommandResult eab = curl(lab, lab.eab_directory);
    INFO(eab.err);
    REQUIRE(eab.exit_code == 0);
    CHECK_THAT(eab.out, Catch::Contains("\"externalAccountRequired\": true"));

    // Without the lab CA the certificate is not trusted.
    CommandResult untrusted =
        run_command({"curl", "-sS", "--max-time", "10", "--capath", "/nonexistent", "--cacert",
                     "/dev/null", lab.acme_directory});
    CHECK(untrusted.exit_code != 0);

    CHECK_THAT(lab.root_pem(), Catch::StartsWith("-----BEGIN CERTIFICATE-----"));
}

TEST_CASE("named answers SOA for every lab zone without recursion", "[lab]") {
    const Lab& lab = Lab::get();
    for (const char* zone : {"example.test.", "lab.test.", "acme-delegate.test."}) {
        CommandResult soa = run_command({"dig", "+short", "+norec", "+time=2", "+tries=2",
                                         "@" + dns_host(lab), "-p", dns_port(lab), "SOA", zone});
        INFO(zone << ": " << soa.out << soa.err);
        CHECK(soa.exit_code == 0);
        CHECK_THAT(soa.out, Catch::Contains("ns1."));
    }
}

TEST_CASE("the lab's DNS hook adds and removes exactly one TXT value", "[lab]") {
    const Lab& lab = Lab::get();
    const std::string name = "_acme-challenge.smoke.lab.test.";
    const std::string hook = lab.dir + "/dns-hook";
    const std::string stamp =
        std::to_string(std::chrono::steady_clock::now().time_since_epoch().count() % 1000000007);
    const std::string a = "smoke-a-" + stamp;
    const std::string b = "smoke-b-" + stamp;

    for (const std::string& v : {a, b}) {
        CommandResult r = run_command({hook, "present", name, v});
        INFO(r.err);
        REQUIRE(r.exit_code == 0);
    }
    auto values = lab.txt(name);
    CHECK(std::count(values.begin(), values.end(), a) == 1);
    CHECK(std::count(values.begin(), values.end(), b) == 1);

    REQUIRE(run_command({hook, "cleanup", name, a}).exit_code == 0);
    values = lab.txt(name);
    CHECK(std::count(values.begin(), values.end(), a) == 0);
    CHECK(std::count(values.begin(), values.end(), b) == 1);
    REQUIRE(run_command({hook, "cleanup", name, b}).exit_code == 0);
    CHECK(lab.txt(name).empty());

    // Outside the lab zones: a clear failure on stderr.
    CommandResult outside = run_command({hook, "present", "_acme-challenge.example.org.", a});
    CHECK(outside.exit_code != 0);
    CHECK_THAT(outside.err, Catch::Contains("not in a lab zone"));
}

// --- the fleet: sshd + one nginx per host -----------------------------------

namespace {

std::vector<std::string> ssh_options(const Lab& lab, const std::string& known_hosts) {
    return {"-o", "BatchMode=yes",
            "-o", "StrictHostKeyChecking=yes",
            "-o", "UserKnownHostsFile=" + known_hosts,
            "-o", "GlobalKnownHostsFile=/dev/null",
            "-o", "ConnectTimeout=10",
            "-i", lab.ssh_identity};
}

CommandResult ssh(const Lab& lab, const LabHost& host, const std::string& command,
                  const std::string& known_hosts) {
    std::vector<std::string> argv{"ssh"};
    for (const auto& o : ssh_options(lab, known_hosts)) {
        argv.push_back(o);
    }
    argv.insert(argv.end(), {"-p", lab.ssh_port, lab.ssh_user + "@" + host.address, command});
    return run_command(argv);
}

// Serial of the first certificate in a PEM file exactly as openssl prints it:
// certfleet's tables and JSON must use the same spelling (CT logs do too).
std::string file_serial(const std::string& path) {
    CommandResult r = run_command({"openssl", "x509", "-noout", "-serial", "-in", path});
    INFO(path << ": " << r.err);
    REQUIRE(r.exit_code == 0);
    std::string s = r.out.substr(r.out.find('=') + 1);
    s.erase(s.find_last_not_of(" \r\n") + 1);
    return s;
}

// The fleet; fails the test when the lab has none (started with LAB_HOSTS=0).
std::vector<LabHost> fleet(const Lab& lab) {
    std::vector<LabHost> hosts = lab.hosts();
    INFO("the lab in " << lab.dir << " has no hosts: it was started with LAB_HOSTS=0");
    REQUIRE_FALSE(hosts.empty());
    return hosts;
}

bool is_regular_file(const std::string& path) {
    struct stat st {};
    return ::lstat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

}  // namespace

TEST_CASE("lab.env and the inventory describe the fleet", "[lab]") {
    const Lab& lab = Lab::get();
    const std::vector<LabHost> hosts = fleet(lab);
    CHECK(lab.value("LAB_HOSTS") == std::to_string(hosts.size()));
    CHECK(lab.ssh_user == "root");
    CHECK(std::stoi(lab.ssh_port) > 0);
    CHECK(std::stoi(lab.nginx_port) > 0);
    CHECK(lab.value("LAB_FLEET_CERTS") == "media www");
    CHECK(hosts.front().name == "cdn-fra-1");
    const std::string prefix = lab.addr.substr(0, lab.addr.rfind('.') + 1);
    for (size_t i = 0; i < hosts.size(); ++i) {
        const LabHost& h = hosts[i];
        INFO(h.name);
        CHECK(h.address == prefix + std::to_string(11 + i));
        CHECK(h.cert_root == lab.dir + "/hosts/" + h.name + "/live");
        CHECK(h.nginx_conf == lab.dir + "/hosts/" + h.name + "/nginx.conf");
        CHECK(h.test_command == "nginx -t -q -c " + h.nginx_conf);
        CHECK(h.reload_command == "nginx -s reload -c " + h.nginx_conf);
    }
    // Key material: the client key like ssh-keygen leaves it; one known_hosts
    // line per host, and a "wrong" file with the same hosts and another key.
    CHECK(file_mode(lab.ssh_identity) == 0600U);
    const std::string known = certfleet::testing::read_file(lab.ssh_known_hosts);
    const std::string wrong = certfleet::testing::read_file(lab.ssh_known_hosts_wrong);
    CHECK(static_cast<size_t>(std::count(known.begin(), known.end(), '\n')) == hosts.size());
    CHECK(static_cast<size_t>(std::count(wrong.begin(), wrong.end(), '\n')) == hosts.size());
    const std::string first = "[" + hosts.front().address + "]:" + lab.ssh_port + " ssh-ed25519 ";
    CHECK_THAT(known, Catch::StartsWith(first));
    CHECK_THAT(wrong, Catch::StartsWith(first));
    CHECK(known != wrong);

    CommandResult v = run_certfleet({"-c", lab.dir + "/certfleet.json", "validate"});
    INFO(v.out << v.err);
    CHECK(v.exit_code == 0);
    CHECK_THAT(v.out + v.err, Catch::Contains(std::to_string(hosts.size()) + " hosts"));
}

TEST_CASE("ssh reaches every fleet host with strict host key checking", "[lab]") {
    const Lab& lab = Lab::get();
    for (const LabHost& h : fleet(lab)) {
        INFO(h.name << " " << h.address);
        CommandResult r = ssh(lab, h, "id -un", lab.ssh_known_hosts);
        INFO(r.err);
        CHECK(r.exit_code == 0);
        CHECK(r.out == "root\n");
        // The host's test command (what certfleet runs after a swap) passes.
        CommandResult t = ssh(lab, h, h.test_command, lab.ssh_known_hosts);
        INFO(t.out << t.err);
        CHECK(t.exit_code == 0);
    }
    // Another key for the same host: strict checking refuses to log in.
    const LabHost host = fleet(lab).back();
    CommandResult changed = ssh(lab, host, "true", lab.ssh_known_hosts_wrong);
    CHECK(changed.exit_code == 255);
    CHECK_THAT(changed.err, Catch::Contains("Host key verification failed"));
}

TEST_CASE("sftp works on the fleet's sshd", "[lab]") {
    const Lab& lab = Lab::get();
    const LabHost host = fleet(lab).front();
    const std::string dir = certfleet::testing::make_temp_dir("lab-sftp");
    certfleet::testing::write_file(dir + "/local.txt", "sftp probe\n", 0640);
    certfleet::testing::write_file(dir + "/batch",
                                   "put " + dir + "/local.txt " + dir + "/remote.tmp\n" +
                                       "rename " + dir + "/remote.tmp " + dir + "/remote.txt\n" +
                                       "chmod 600 " + dir + "/remote.txt\n" + "ls -l " + dir + "\n",
                                   0600);
    std::vector<std::string> argv{"sftp", "-b", dir + "/batch"};
    for (const auto& o : ssh_options(lab, lab.ssh_known_hosts)) {
        argv.push_back(o);
    }
    argv.insert(argv.end(), {"-P", lab.ssh_port, lab.ssh_user + "@" + host.address});
    CommandResult r = run_command(argv);
    INFO(r.out << r.err);
    REQUIRE(r.exit_code == 0);
    // The lab's "remote" hosts are this machine: the result is visible here.
    CHECK(certfleet::testing::read_file(dir + "/remote.txt") == "sftp probe\n");
    CHECK(file_mode(dir + "/remote.txt") == 0600U);
    std::filesystem::remove_all(dir);
}

TEST_CASE("every fleet host serves its hand-managed certificates over TLS with SNI", "[lab]") {
    const Lab& lab = Lab::get();
    for (const LabHost& h : fleet(lab)) {
        INFO(h.name << " " << h.address);
        // Hand-made: plain files (no symlinks), typical modes, chained to the lab CA.
        // Only "www": the deployment tests share this lab and adopt "media".
        for (const char* cert : {"www"}) {
            const std::string d = h.cert_root + "/" + cert;
            INFO(d);
            CHECK(file_mode(d) == 0755U);
            REQUIRE(is_regular_file(d + "/fullchain.pem"));
            REQUIRE(is_regular_file(d + "/privkey.pem"));
            CHECK(file_mode(d + "/fullchain.pem") == 0644U);
            CHECK(file_mode(d + "/privkey.pem") == 0600U);
            CommandResult verify =
                run_command({"openssl", "verify", "-CAfile", lab.ca_bundle, d + "/fullchain.pem"});
            CHECK(verify.exit_code == 0);
        }
        const std::string media = file_serial(h.cert_root + "/media/fullchain.pem");
        const std::string www = file_serial(h.cert_root + "/www/fullchain.pem");
        CHECK(media != www);
        // Right after another test's reload an exiting worker may still answer once.
        for (int i = 0;
             i < 20 && served_serial(h.address, lab.nginx_port, "media.example.test") != media; ++i)
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        CHECK(served_serial(h.address, lab.nginx_port, "media.example.test") == media);
        CHECK(served_serial(h.address, lab.nginx_port, "www.example.test") == www);
        CHECK(served_serial(h.address, lab.nginx_port, "example.test") == www);
        // media is the default server: any other name gets it.
        CHECK(served_serial(h.address, lab.nginx_port, "other.example.test") == media);
        // The configuration test certfleet will run passes here too.
        CHECK(run_command({"sh", "-c", h.test_command}).exit_code == 0);
    }
}

TEST_CASE("a fleet host's nginx can be stopped and started alone", "[lab]") {
    const Lab& lab = Lab::get();
    const std::vector<LabHost> hosts = fleet(lab);
    const LabHost& host = hosts.back();
    const std::string media = file_serial(host.cert_root + "/media/fullchain.pem");
    lab.stop_host(host.name);
    CHECK(served_serial(host.address, lab.nginx_port, "media.example.test").empty());
    CommandResult reload = run_command({"sh", "-c", host.reload_command});
    CHECK(reload.exit_code != 0);  // no nginx to signal
    if (hosts.size() > 1) {
        CHECK_FALSE(
            served_serial(hosts.front().address, lab.nginx_port, "media.example.test").empty());
    }
    lab.start_host(host.name);
    CHECK(served_serial(host.address, lab.nginx_port, "media.example.test") == media);
}
