// Deployment to the lab fleet over real SSH to real nginx: adoption, layout,
// rollback, renew --host, and the failure paths — each asserting that every
// host still serves a complete, valid pair.
#include <fstream>
#include <sstream>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "core/crypto.hpp"
#include "fleet_support.hpp"

using namespace certfleet;
using namespace certfleet::testing;
using nlohmann::json;

namespace {

const std::string kName = "media.example.test";

// Right after a reload the exiting nginx worker may still accept a connection
// or two beside the new one: ask until two answers in a row agree.
std::string served(const LabHost& h) {
    std::string last = served_serial(h.address, Lab::get().nginx_port, kName);
    for (int i = 0; i < 40; ++i) {
        usleep(50'000);
        std::string now = served_serial(h.address, Lab::get().nginx_port, kName);
        if (now == last)
            return now;
        last = now;
    }
    return last;
}

std::string store_serial(const TestInventory& t) {
    auto r = run_certfleet(cf_args(t, {"--json", "status", "--no-hosts"}));
    return json::parse(r.out)["certificates"][0]["serial"].get<std::string>();
}

int mode_of(const std::string& path) {
    struct stat st {};
    REQUIRE(::lstat(path.c_str(), &st) == 0);
    return static_cast<int>(st.st_mode & 07777);
}

std::string read_link_target(const std::string& path) {
    char buf[4096];
    ssize_t n = ::readlink(path.c_str(), buf, sizeof buf);
    return n < 0 ? std::string() : std::string(buf, static_cast<size_t>(n));
}

bool is_symlink(const std::string& path) {
    struct stat st {};
    return ::lstat(path.c_str(), &st) == 0 && S_ISLNK(st.st_mode);
}

std::string file_serial(const std::string& pem_path) {
    CommandResult r = run_command({"openssl", "x509", "-noout", "-serial", "-in", pem_path});
    REQUIRE(r.exit_code == 0);
    std::string serial = r.out.substr(r.out.find('=') + 1);  // as openssl prints it
    serial.erase(serial.find_last_not_of(" \r\n") + 1);
    return serial;
}

// nginx reloads asynchronously: wait until the host serves `serial`.
void reload_and_wait(const LabHost& h, const std::string& serial) {
    REQUIRE(run_command({"nginx", "-s", "reload", "-c", h.nginx_conf}).exit_code == 0);
    for (int i = 0; i < 50 && served(h) != serial; ++i)
        usleep(50'000);
    INFO(h.name << " " << h.address << " " << read_file(h.nginx_conf).substr(0, 0));
    REQUIRE(served(h) == serial);
}

// Puts a host back to the hand-managed state: plain files at the stable paths.
void make_hand_managed(const LabHost& h) {
    std::string dir = h.cert_root + "/media";
    run_command({"rm", "-rf", dir});
    run_command({"mkdir", "-p", dir});
    auto r = run_command({"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                          "ec_paramgen_curve:P-256", "-nodes", "-days", "30", "-subj",
                          "/CN=" + kName, "-addext", "subjectAltName=DNS:" + kName, "-keyout",
                          dir + "/privkey.pem", "-out", dir + "/fullchain.pem"});
    REQUIRE(r.exit_code == 0);
    reload_and_wait(h, file_serial(dir + "/fullchain.pem"));
}

// Edits a host's nginx.conf for one test and restores it afterwards.
struct ConfigPatch {
    LabHost host;
    std::string original;
    ConfigPatch(const LabHost& h, const std::string& from, const std::string& to) : host(h) {
        original = read_file(h.nginx_conf);
        std::string patched = original;
        for (size_t p = patched.find(from); p != std::string::npos;
             p = patched.find(from, p + to.size()))
            patched.replace(p, from.size(), to);
        write_file(h.nginx_conf, patched, 0644);
    }
    ~ConfigPatch() {
        write_file(host.nginx_conf, original, 0644);
        run_command({"nginx", "-s", "reload", "-c", host.nginx_conf});
    }
};

}  // namespace

TEST_CASE("first deployment adopts hand-managed hosts; every host serves the new serial",
          "[deploy]") {
    const auto hosts = Lab::get().hosts();
    REQUIRE(hosts.size() >= 4);
    for (const auto& h : hosts)
        make_hand_managed(h);
    std::vector<std::string> old_serials;
    for (const auto& h : hosts)
        old_serials.push_back(served(h));

    auto t = write_fleet_inventory("deploy-adopt");
    auto r = run_certfleet(cf_args(t, {"--json", "renew"}));
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    auto out = json::parse(r.out);
    std::string serial = store_serial(t);
    REQUIRE(out["hosts"].size() == hosts.size());
    for (const auto& h : out["hosts"]) {
        CHECK(h["result"] == "deployed");
        CHECK(h["adopted"] == true);
    }
    for (size_t i = 0; i < hosts.size(); ++i) {
        const auto& h = hosts[i];
        // Independent check with openssl s_client; certfleet's JSON spells the
        // serial exactly as openssl does (upper case, leading zero kept).
        CHECK(served(h) == serial);
        std::string base = h.cert_root + "/media";
        for (const char* f : {"cert.pem", "chain.pem", "fullchain.pem", "privkey.pem"}) {
            CHECK(is_symlink(base + "/" + f));
            CHECK(read_link_target(base + "/" + f) == std::string("current/") + f);
        }
        CHECK(is_symlink(base + "/current"));
        std::string current = read_link_target(base + "/current");
        CHECK(current.rfind("versions/", 0) == 0);
        CHECK(mode_of(base + "/" + current + "/privkey.pem") == 0600);
        CHECK(mode_of(base + "/" + current + "/fullchain.pem") == 0640);
        CHECK(mode_of(base + "/" + current) == 0750);
    }

    SECTION("rollback --to a mistyped version is a usage error that leaves nothing behind") {
        const auto& h = hosts[1];
        auto before = run_certfleet(cf_args(t, {"check"}));
        auto typo = run_certfleet(
            cf_args(t, {"rollback", "media", "--host", h.name, "--to", "20990101T000000Z-typo"}));
        INFO(typo.err);
        CHECK(typo.exit_code == 64);
        CHECK_THAT(typo.err,
                   Catch::Contains("version 20990101T000000Z-typo of media is not on " + h.name));
        CHECK(served(h) == serial);  // nothing touched
        auto after = run_certfleet(cf_args(t, {"check"}));
        CHECK(after.exit_code == before.exit_code);  // and no warning left behind
        CHECK(after.out == before.out);
    }

    SECTION("rollback returns a host to the adopted pair and pins it there until unpinned") {
        const auto& h = hosts[1];
        auto rb = run_certfleet(cf_args(
            t, {"rollback", "media", "--host", h.name, "--reason", "client pins the old key"}));
        INFO(rb.out << rb.err);
        CHECK(rb.exit_code == 0);
        CHECK_THAT(rb.out, Catch::Contains("pinned: deploy, renew and run leave " + h.name));
        CHECK(served(h) == old_serials[1]);
        auto st = run_certfleet(cf_args(t, {"--json", "status"}));
        auto host_states = json::parse(st.out)["certificates"][0]["hosts"];
        for (const auto& hs : host_states) {
            CHECK(hs["state"] == (hs["name"] == h.name ? "pinned" : "current"));
            if (hs["name"] == h.name) {
                CHECK_THAT(hs["detail"].get<std::string>(),
                           Catch::Contains("client pins the old key"));
                CHECK_THAT(hs["detail"].get<std::string>(), Catch::Contains("--unpin"));
            }
        }
        // A deliberate pin is no warning in check, and no stale finding in audit.
        CHECK(run_certfleet(cf_args(t, {"check", "--probe"})).exit_code == 0);
        auto audit = run_certfleet(cf_args(t, {"--json", "audit", "--host", h.name}));
        INFO(audit.out);
        // The adopted pair is self-signed (openssl req -x509 marks it CA:TRUE):
        // still the host's certificate, judged as such, never "missing".
        for (const auto& f : json(json::parse(audit.out)["findings"])) {
            CHECK(f["kind"] != "stale");
            CHECK(f["kind"] != "missing");
        }

        // deploy and renew leave it alone, and say so.
        auto d = run_certfleet(cf_args(t, {"--json", "deploy"}));
        INFO(d.err);
        CHECK(d.exit_code == 0);
        CHECK(served(h) == old_serials[1]);
        // A copy: a range-for over a member of a temporary dangles (ASan
        // found it); the same below.
        for (const auto& hd : json(json::parse(d.out)["hosts"])) {
            CHECK(hd["result"] == (hd["name"] == h.name ? "pinned" : "unchanged"));
            if (hd["name"] == h.name)
                CHECK_THAT(hd["error"].get<std::string>(), Catch::Contains("pinned to version"));
        }
        auto table = run_certfleet(cf_args(t, {"renew", "--host", h.name}));
        CHECK(table.exit_code == 0);
        CHECK_THAT(table.out, Catch::Contains("pinned"));
        CHECK(served(h) == old_serials[1]);

        // The versions on the host, with the pin.
        auto list =
            run_certfleet(cf_args(t, {"--json", "rollback", "media", "--host", h.name, "--list"}));
        INFO(list.err);
        REQUIRE(list.exit_code == 0);
        auto listing = json::parse(list.out);
        CHECK(listing["pinned"]["version"].get<std::string>().find("adopted") != std::string::npos);
        REQUIRE(listing["versions"].size() == 2);
        CHECK(listing["versions"][0]["current"] == true);  // the adopted one sorts first
        CHECK(listing["versions"][0]["serial"] == old_serials[1]);
        CHECK(listing["versions"][1]["serial"] == serial);

        auto unpin = run_certfleet(cf_args(t, {"rollback", "media", "--host", h.name, "--unpin"}));
        CHECK(unpin.exit_code == 0);
        CHECK_THAT(unpin.out, Catch::Contains("unpinned media on " + h.name));
        auto d2 = run_certfleet(cf_args(t, {"--json", "deploy"}));
        INFO(d2.err);
        CHECK(d2.exit_code == 0);
        CHECK(served(h) == serial);
        for (const auto& hd : json(json::parse(d2.out)["hosts"]))
            CHECK(hd["result"] == (hd["name"] == h.name ? "deployed" : "unchanged"));
    }

    SECTION("deploy --force lifts a pin") {
        const auto& h = hosts[3];
        REQUIRE(run_certfleet(cf_args(t, {"rollback", "media", "--host", h.name})).exit_code == 0);
        auto d = run_certfleet(cf_args(t, {"--json", "deploy", "--host", h.name, "--force"}));
        INFO(d.err);
        CHECK(d.exit_code == 0);
        CHECK(served(h) == serial);
        auto st = json::parse(run_certfleet(cf_args(t, {"--json", "status"})).out);
        for (const auto& hs : st["certificates"][0]["hosts"])
            CHECK(hs["state"] == "current");
    }

    SECTION("renew --host touches only that host") {
        const auto& h = hosts[2];
        auto rn = run_certfleet(cf_args(t, {"--json", "renew", "--force", "--host", h.name}));
        INFO(rn.err);
        CHECK(rn.exit_code == 0);
        auto doc = json::parse(rn.out);
        REQUIRE(doc["hosts"].size() == 1);
        CHECK(doc["hosts"][0]["name"] == h.name);
        // It says which other hosts now run an older version.
        REQUIRE(doc["left_on_older_version"].size() == 1);
        CHECK(doc["left_on_older_version"][0]["certificate"] == "media");
        CHECK(doc["left_on_older_version"][0]["hosts"].size() == hosts.size() - 1);
        std::string fresh = store_serial(t);
        CHECK(fresh != serial);
        CHECK(served(h) == fresh);
        for (const auto& other : hosts)
            if (other.name != h.name)
                CHECK(served(other) == serial);
    }
}

TEST_CASE("nginx -t failing on one host: swapped back there, deployed elsewhere, exit 1",
          "[deploy][failure]") {
    const auto hosts = Lab::get().hosts();
    std::string log = make_temp_dir("hook-log") + "/events";
    auto t = write_fleet_inventory("deploy-test-fails", [&](json& inv) {
        std::string line =
            "echo \"$CERTFLEET_EVENT|$CERTFLEET_CERT|$CERTFLEET_HOST|$CERTFLEET_SERIAL|"
            "$CERTFLEET_FULLCHAIN_PATH|$CERTFLEET_DOMAINS\" >> " +
            log;
        inv["hooks"] = {
            {"pre", line}, {"post", line}, {"deploy", line}, {"failure", line}, {"timeout", "10s"}};
    });
    REQUIRE(run_certfleet(cf_args(t, {"issue"})).exit_code == 0);
    const auto& bad = hosts.back();  // not the canary
    std::string before = served(bad);
    ConfigPatch patch(bad, "worker_processes", "this_is_not_a_directive 1;\nworker_processes");
    auto r = run_certfleet(cf_args(t, {"--json", "deploy"}));
    INFO(r.err);
    CHECK(r.exit_code == 1);
    std::string serial = store_serial(t);
    for (const auto& h : json(json::parse(r.out)["hosts"])) {
        if (h["name"] == bad.name) {
            CHECK(h["result"] == "failed");
            CHECK_THAT(h["error"].get<std::string>(), Catch::Contains("test"));
        } else {
            CHECK(h["result"] == "deployed");
        }
    }
    CHECK(served(bad) == before);  // still the old, complete pair
    for (const auto& h : hosts)
        if (h.name != bad.name)
            CHECK(served(h) == serial);

    // Hooks: pre and post around each command, deploy per deployed host with
    // the host's paths, failure for the host that failed.
    std::string events = read_file(log);
    INFO(events);
    for (const auto& h : hosts) {
        std::string expected = (h.name == bad.name ? "failure|media|" : "deploy|media|") + h.name +
                               "|" + serial + "|" + h.cert_root + "/media/fullchain.pem|" + kName;
        CHECK_THAT(events, Catch::Contains(expected));
    }
    CHECK_THAT(events, Catch::StartsWith("pre|"));
    CHECK_THAT(events, Catch::EndsWith("post|||||\n"));

    // The table: nginx's multi-line error stays under its own row's DETAIL
    // column, every continuation line indented to that column.
    auto table = run_certfleet(cf_args(t, {"deploy", "--force"}));
    INFO(table.out);
    std::istringstream lines(table.out);
    std::string header, row;
    std::getline(lines, header);
    const size_t detail_column = header.find("DETAIL");
    REQUIRE(detail_column != std::string::npos);
    bool in_bad_row = false;
    int continuation = 0;
    for (std::string line; std::getline(lines, line);) {
        if (line.rfind("media", 0) == 0) {
            in_bad_row = line.find(bad.name) != std::string::npos;
            continue;
        }
        CHECK(in_bad_row);  // only the failed row has more lines
        CHECK(line.find_first_not_of(' ') >= detail_column);
        ++continuation;
    }
    CHECK(continuation > 0);
}

TEST_CASE("a host whose server loads another file: verification fails, swapped back",
          "[deploy][failure]") {
    const auto hosts = Lab::get().hosts();
    const auto& odd = hosts.back();
    make_hand_managed(odd);
    // The server keeps loading a private copy, not the stable path certfleet manages.
    std::string copy = odd.cert_root + "/../media-copy";
    run_command({"cp", "-rL", odd.cert_root + "/media", copy});
    ConfigPatch patch(odd, odd.cert_root + "/media/", copy + "/");
    std::string before = file_serial(copy + "/fullchain.pem");
    reload_and_wait(odd, before);
    auto t = write_fleet_inventory("deploy-verify-fails");
    auto r = run_certfleet(cf_args(t, {"--json", "renew", "--host", odd.name}));
    INFO(r.err);
    CHECK(r.exit_code != 0);
    auto h = json::parse(r.out)["hosts"][0];
    CHECK(h["result"] == "rolled_back");
    CHECK_THAT(h["error"].get<std::string>(), Catch::Contains("serves serial"));
    CHECK(served(odd) == before);
}

TEST_CASE("a failing canary stops the rollout; the rest are skipped and untouched",
          "[deploy][failure]") {
    const auto hosts = Lab::get().hosts();
    auto t = write_fleet_inventory("deploy-canary");
    REQUIRE(run_certfleet(cf_args(t, {"issue"})).exit_code == 0);
    std::vector<std::string> names;
    for (const auto& h : hosts)
        names.push_back(h.name);
    std::sort(names.begin(), names.end());
    const LabHost* canary = nullptr;
    for (const auto& h : hosts)
        if (h.name == names.front())
            canary = &h;
    REQUIRE(canary);
    std::map<std::string, std::string> before;
    for (const auto& h : hosts)
        before[h.name] = served(h);
    ConfigPatch patch(*canary, "worker_processes", "broken_on_purpose;\nworker_processes");
    auto r = run_certfleet(cf_args(t, {"--json", "deploy"}));
    INFO(r.err);
    CHECK(r.exit_code == 2);
    for (const auto& h : json(json::parse(r.out)["hosts"]))
        CHECK(h["result"] == (h["name"] == canary->name ? "failed" : "skipped"));
    for (const auto& h : hosts)
        CHECK(served(h) == before[h.name]);
}

TEST_CASE("a changed host key is refused and nothing is touched", "[deploy][failure]") {
    const auto hosts = Lab::get().hosts();
    std::map<std::string, std::string> before;
    for (const auto& h : hosts)
        before[h.name] = served(h);
    auto t = write_fleet_inventory("deploy-hostkey", [](json& inv) {
        inv["defaults"]["ssh"]["known_hosts"] = Lab::get().ssh_known_hosts_wrong;
    });
    auto r = run_certfleet(cf_args(t, {"--json", "renew", "--force"}));
    INFO(r.err);
    CHECK(r.exit_code == 2);
    for (const auto& h : json(json::parse(r.out)["hosts"])) {
        if (h["result"] == "skipped")
            continue;
        CHECK(h["result"] == "failed");
        CHECK_THAT(h["error"].get<std::string>(), Catch::Contains("HOST KEY CHANGED"));
    }
    for (const auto& h : hosts)
        CHECK(served(h) == before[h.name]);
}

TEST_CASE("a read-only or full cert_root is refused before any change", "[deploy][failure]") {
    const auto hosts = Lab::get().hosts();
    const auto& h = hosts.back();
    std::string root = h.cert_root + "-tmpfs";
    run_command({"mkdir", "-p", root});
    REQUIRE(::mount("tmpfs", root.c_str(), "tmpfs", 0, "size=16k,mode=0755") == 0);
    auto t = write_fleet_inventory("deploy-full", [&](json& inv) {
        inv["hosts"][h.name]["cert_root"] = root;
        inv["hosts"][h.name]["verify"] = {{"enabled", false}};
    });
    // Fill it up, leaving a few bytes.
    run_command({"sh", "-c", "dd if=/dev/zero of=" + root + "/filler bs=1k count=15 2>/dev/null"});
    auto full = run_certfleet(cf_args(t, {"--json", "renew", "--host", h.name}));
    INFO(full.err);
    CHECK(full.exit_code != 0);
    auto fh = json::parse(full.out)["hosts"][0];
    CHECK(fh["result"] == "failed");
    CHECK_THAT(fh["error"].get<std::string>(), Catch::Contains("space"));
    CHECK_FALSE(is_symlink(root + "/media/current"));

    run_command({"rm", "-f", root + "/filler"});
    REQUIRE(::mount(nullptr, root.c_str(), nullptr, MS_REMOUNT | MS_RDONLY, "size=16k,mode=0755") ==
            0);
    auto ro = run_certfleet(cf_args(t, {"--json", "deploy", "--host", h.name}));
    INFO(ro.err);
    CHECK(ro.exit_code != 0);
    auto rh = json::parse(ro.out)["hosts"][0];
    CHECK(rh["result"] == "failed");
    CHECK_THAT(rh["error"].get<std::string>(), Catch::Contains("read-only"));
    ::umount(root.c_str());
}

TEST_CASE("renew --group: only the certificates the group's hosts serve, planned only for them",
          "[deploy][renew]") {
    const Lab& lab = Lab::get();
    REQUIRE(lab.hosts().size() >= 2);
    const std::string edge = lab.hosts()[0].name;
    const std::string other = lab.hosts()[1].name;
    auto t = write_fleet_inventory("renew-group", [&](json& inv) {
        inv["groups"]["edge"] = json::object();
        inv["hosts"][edge]["groups"] = {"cdn", "edge"};
        inv["certificates"]["solo"] = {
            {"domains", {"solo.example.test"}}, {"dns", "lab-bind"}, {"deploy_to", {other}}};
    });
    auto r = run_certfleet(cf_args(t, {"--json", "renew", "--group", "edge", "--dry-run"}));
    INFO(r.out << r.err);
    REQUIRE(r.exit_code == 0);
    const json doc = json::parse(r.out);
    REQUIRE(doc["certificates"].size() == 1);
    CHECK(doc["certificates"][0]["name"] == "media");  // "solo" is not served by edge
    for (const auto& h : doc["hosts"])
        CHECK(h["name"] == edge);
    CHECK(doc["hosts"].size() == 1);

    auto unknown = run_certfleet(cf_args(t, {"renew", "--group", "nope", "--dry-run"}));
    CHECK(unknown.exit_code == 64);
    CHECK_THAT(unknown.err, Catch::Contains("no group named 'nope'"));
}
