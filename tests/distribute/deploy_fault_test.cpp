// The deployment transaction under faults: failing test and reload commands,
// dropped connections at every single step, read-only and full file systems,
// wrong clocks, and verification against a real TLS server.
#include <filesystem>
#include <map>
#include <sys/mount.h>
#include <sys/stat.h>

#include "core/fs.hpp"
#include "core/process.hpp"
#include "distribute/deploy.hpp"
#include "distribute/local_transport.hpp"
#include "support/deploy_test_support.hpp"
#include "support/faulty_transport.hpp"

using namespace certfleet;
using namespace certfleet::distribute;
using namespace certfleet::distribute::test;
namespace stdfs = std::filesystem;

namespace {

const Material& version(int n) {
    static std::map<int, Material> cache;
    auto it = cache.find(n);
    if (it == cache.end()) {
        it = cache
                 .emplace(n, make_material(
                                 "media",
                                 "2026020" + std::to_string(n) + "T000000Z-f" + std::to_string(n),
                                 0x2000 + n))
                 .first;
    }
    return it->second;
}

struct Host {
    TempDir tmp;
    LocalTransport local{"web-1"};
    HostTarget target;
    std::string dir;

    Host() {
        target.host_name = "web-1";
        target.cert_root = tmp.path + "/live";
        target.verify.enabled = false;
        target.command_timeout = core::Seconds(10);
        dir = target.cert_root + "/media";
    }
    DeployOutcome deploy(const Material& m, bool force = false) {
        return deploy_version(local, target, m, force);
    }
    std::string current() const { return core::read_symlink(dir + "/current").value_or("<none>"); }
    std::string file(const std::string& name) const { return slurp(dir + "/" + name); }
    bool serves(const Material& m) const {
        return file("fullchain.pem") == m.fullchain_pem && file("privkey.pem") == m.key_pem;
    }
    // The pair the server would load right now matches, whatever it is.
    bool pair_matches() const {
        auto key = core::PrivateKey::from_pem(file("privkey.pem"));
        if (!key) {
            return false;
        }
        auto match = core::key_matches_certificate(*key, file("fullchain.pem"));
        return match && *match;
    }
    bool exists(const std::string& rel) const {
        return stdfs::exists(stdfs::symlink_status(dir + "/" + rel));
    }
    int lines(const std::string& file) const {
        const std::string text = slurp(tmp.path + "/" + file);
        return static_cast<int>(std::count(text.begin(), text.end(), '\n'));
    }
};

bool mutates(const std::string& journal_entry) {
    for (const char* op : {"write_file", "symlink", "rename", "remove", "make_dir", "set_group"}) {
        if (journal_entry.starts_with(op)) {
            return true;
        }
    }
    return false;
}

std::string steps_of(const DeployOutcome& o) {
    std::string text;
    for (const auto& s : o.steps) {
        text += "  " + s + "\n";
    }
    return text + "error: " + o.error + "\nhint: " + o.hint;
}

bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

// The host before the fault tests: hand-managed files (`hand_made`), or
// version 1 deployed; `true` as the config test.
void start_from(Host& h, const Material* hand_made) {
    if (hand_made) {
        stdfs::create_directories(h.dir);
        REQUIRE(core::write_file_atomic(h.dir + "/fullchain.pem", hand_made->fullchain_pem, 0644));
        REQUIRE(core::write_file_atomic(h.dir + "/privkey.pem", hand_made->key_pem, 0600));
    } else {
        REQUIRE(h.deploy(version(1)).result == DeployResult::Deployed);
    }
    h.target.test_command = "true";
}

}  // namespace

TEST_CASE("a failing test_command swaps current back and does not reload", "[deploy]") {
    Host h;
    REQUIRE(h.deploy(version(1)).result == DeployResult::Deployed);
    h.target.test_command = "echo 'nginx: [emerg] bad config' >&2; false";
    h.target.reload_command = "echo >> " + h.tmp.path + "/reloads";
    auto out = h.deploy(version(2));
    INFO(steps_of(out));
    CHECK(out.result == DeployResult::Failed);
    CHECK(out.version == version(1).version);
    CHECK(contains(out.error, "failed on web-1"));
    CHECK(contains(out.error, "nginx: [emerg] bad config"));
    CHECK(contains(out.error, "swapped back to " + version(1).version));
    CHECK(h.current() == "versions/" + version(1).version);
    CHECK(h.serves(version(1)));
    CHECK(h.lines("reloads") == 0);
    // The upload stays for the next attempt, which reuses it.
    CHECK(h.exists("versions/" + version(2).version));
}

TEST_CASE("a failing test_command on a first deployment removes the new links", "[deploy]") {
    Host h;
    h.target.test_command = "false";
    auto out = h.deploy(version(1));
    INFO(steps_of(out));
    CHECK(out.result == DeployResult::Failed);
    CHECK(out.version.empty());
    CHECK_FALSE(h.exists("current"));
    CHECK_FALSE(h.exists("fullchain.pem"));
    CHECK_FALSE(h.exists("privkey.pem"));
    CHECK(contains(out.error, "first deployment"));
}

TEST_CASE("a failing reload swaps back and reloads again: rolled back", "[deploy]") {
    Host h;
    REQUIRE(h.deploy(version(1)).result == DeployResult::Deployed);
    const std::string flag = h.tmp.path + "/reloaded-once";
    h.target.reload_command = "echo >> " + h.tmp.path + "/reloads; if [ -e " + flag +
                              " ]; then exit 0; fi; touch " + flag +
                              "; echo 'Job for nginx.service failed' >&2; exit 1";
    auto out = h.deploy(version(2));
    INFO(steps_of(out));
    CHECK(out.result == DeployResult::RolledBack);
    CHECK(out.version == version(1).version);
    CHECK(contains(out.error, "Job for nginx.service failed"));
    CHECK(h.serves(version(1)));
    CHECK(h.lines("reloads") == 2);
}

TEST_CASE("connection lost mid-upload: nothing swapped, the next deploy cleans up", "[deploy]") {
    Host h;
    REQUIRE(h.deploy(version(1)).result == DeployResult::Deployed);
    FaultyTransport t(h.local);
    t.lose_connection("write_file", 2);
    auto out = deploy_version(t, h.target, version(2), false);
    INFO(steps_of(out));
    CHECK(out.result == DeployResult::Failed);
    CHECK(contains(out.error, "connection lost"));
    CHECK(contains(out.hint, "nothing was swapped"));
    CHECK(out.version == version(1).version);
    CHECK(h.current() == "versions/" + version(1).version);
    CHECK(h.serves(version(1)));
    CHECK(h.exists("versions/.tmp-" + version(2).version));  // torn, never renamed
    CHECK_FALSE(h.exists("versions/" + version(2).version));

    auto next = h.deploy(version(2));
    INFO(steps_of(next));
    REQUIRE(next.result == DeployResult::Deployed);
    CHECK(h.serves(version(2)));
    CHECK_FALSE(h.exists("versions/.tmp-" + version(2).version));
}

// remove_tree of a path ending in `victim` deletes one file and fails, as a
// kill or a dropped connection in the middle of `rm -r` leaves the tree.
struct TornRemoval : FaultyTransport {
    using FaultyTransport::FaultyTransport;
    std::string victim;
    core::Status remove_tree(const std::string& path) override {
        if (victim.empty() || !path.ends_with(victim)) {
            return FaultyTransport::remove_tree(path);
        }
        std::error_code ignored;
        stdfs::remove(path + "/cert.pem", ignored);
        return core::fail(core::ErrorKind::Io, "connection lost");
    }
};

TEST_CASE("a prune cut off midway never leaves a version with half its files", "[deploy]") {
    Host h;
    h.target.keep_versions = 1;
    TornRemoval t(h.local);
    REQUIRE(deploy_version(t, h.target, version(1), false).result == DeployResult::Deployed);
    REQUIRE(deploy_version(t, h.target, version(2), false).result == DeployResult::Deployed);
    t.victim = version(1).version;
    auto out = deploy_version(t, h.target, version(3), false);  // prunes version 1
    INFO(steps_of(out));
    REQUIRE(out.result == DeployResult::Deployed);
    REQUIRE(out.warnings.size() == 1);
    CHECK(contains(out.warnings[0], "cannot remove pruned versions/" + version(1).version));
    // What rollback and status see: no version 1 without its cert.pem.
    CHECK_FALSE(h.exists("versions/" + version(1).version));
    auto state = inspect(h.local, h.target.cert_root, "media");
    REQUIRE(state.ok());
    CHECK(state->versions == std::vector<std::string>{version(2).version, version(3).version});

    t.victim.clear();
    REQUIRE(deploy_version(t, h.target, version(4), false).result == DeployResult::Deployed);
    CHECK_FALSE(h.exists("versions/.tmp-pruned-" + version(1).version));
}

TEST_CASE("one failed write removes the partial upload at once", "[deploy]") {
    Host h;
    REQUIRE(h.deploy(version(1)).result == DeployResult::Deployed);
    FaultyTransport t(h.local);
    t.fail("write_file", 3);
    auto out = deploy_version(t, h.target, version(2), false);
    CHECK(out.result == DeployResult::Failed);
    CHECK(contains(out.error, "injected fault"));
    CHECK(t.calls("write_file") == 3);
    CHECK_FALSE(h.exists("versions/.tmp-" + version(2).version));
    CHECK(h.serves(version(1)));
}

TEST_CASE("a dropped connection at any step never leaves a mismatched pair", "[deploy]") {
    const bool adopt = GENERATE(false, true);
    const Material old = make_material("media", "unused", 0x99);
    auto setup = [&](Host& h) {
        start_from(h, adopt ? &old : nullptr);
        h.target.reload_command = "true";
    };
    int total = 0;
    {
        Host h;
        setup(h);
        FaultyTransport t(h.local);
        REQUIRE(deploy_version(t, h.target, version(2), false).result == DeployResult::Deployed);
        total = t.calls("*");
    }
    REQUIRE(total > 20);
    for (int k = 1; k <= total; ++k) {
        Host h;
        setup(h);
        FaultyTransport t(h.local);
        t.lose_connection("*", k);
        auto out = deploy_version(t, h.target, version(2), false);
        INFO("adopt=" << adopt << ", connection lost at call " << k << " of " << total << "\n"
                      << steps_of(out));
        CHECK(h.pair_matches());
        const bool is_new = h.serves(version(2));
        const bool is_old = adopt ? h.serves(old) : h.serves(version(1));
        CHECK((is_new || is_old));
        // The next run finishes the job, redoing test and reload unless they were done.
        auto next = h.deploy(version(2));
        INFO(steps_of(next));
        if (out.result == DeployResult::Deployed) {
            CHECK(
                (next.result == DeployResult::Unchanged || next.result == DeployResult::Deployed));
        } else {
            CHECK(next.result == DeployResult::Deployed);
        }
        CHECK(h.serves(version(2)));
        for (const auto& e : stdfs::directory_iterator(h.dir + "/versions")) {
            CHECK_FALSE(e.path().filename().string().starts_with("."));
        }
        for (const auto& e : stdfs::directory_iterator(h.dir)) {
            CHECK_FALSE(e.path().filename().string().ends_with(".tmp"));
        }
    }
}

// A run killed between the swap and the end of its activation leaves the new
// version current but unfinished. If the next run's test or verification of
// it fails, the last version whose activation finished (.deployed) comes
// back, not the untested one.
TEST_CASE("a redo that fails after a killed run restores the last finished version", "[deploy]") {
    const bool adopt = GENERATE(false, true);
    const bool verify_fails = GENERATE(false, true);
    const Material old = make_material("media", "unused", 0x99);
    auto setup = [&](Host& h) {
        start_from(h, adopt ? &old : nullptr);
        h.target.reload_command = "echo >> " + h.tmp.path + "/reloads";
    };
    int total = 0;
    {
        Host h;
        setup(h);
        FaultyTransport t(h.local);
        REQUIRE(deploy_version(t, h.target, version(2), false).result == DeployResult::Deployed);
        total = t.calls("*");
    }
    int redone = 0;
    for (int k = 1; k <= total; ++k) {
        Host h;
        setup(h);
        FaultyTransport t(h.local);
        t.lose_connection("*", k);
        (void)deploy_version(t, h.target, version(2), false);
        // write_marker: .deployed.tmp is whole before .deployed goes.
        const std::string marker =
            h.exists(".deployed") ? h.file(".deployed") : h.file(".deployed.tmp");
        const bool unfinished =
            h.current() == "versions/" + version(2).version && marker != version(2).version + "\n";
        if (verify_fails) {  // nothing listens there
            h.target.verify = VerifyTarget{true, "127.0.0.1", 1, "media.example.test"};
            h.target.verify_timeout = core::Seconds(1);
        } else {
            h.target.test_command = "echo 'nginx: [emerg] cannot load certificate' >&2; false";
        }
        const int reloads_before = h.lines("reloads");
        auto next = h.deploy(version(2));
        INFO("adopt=" << adopt << " verify_fails=" << verify_fails << ", connection lost at call "
                      << k << " of " << total << "\n"
                      << steps_of(next));
        CHECK(h.pair_matches());
        if (!unfinished) {
            continue;
        }
        ++redone;
        CHECK(next.result == DeployResult::RolledBack);
        CHECK(h.serves(adopt ? old : version(1)));
        CHECK(contains(next.error, "swapped back to "));
        // The killed run may have reloaded onto the untested version.
        CHECK(h.lines("reloads") > reloads_before);
    }
    CHECK(redone > 0);
}

TEST_CASE("a host past its deadline fails with out of time and is swapped back", "[deploy]") {
    Host h;
    REQUIRE(h.deploy(version(1)).result == DeployResult::Deployed);
    // The config test hangs (a frozen host); the host's deadline ends it.
    h.target.test_command = "sleep 20";
    h.target.reload_command = "echo >> " + h.tmp.path + "/reloads";
    h.local.set_deadline(Deadline{std::chrono::steady_clock::now() + std::chrono::seconds(1),
                                  "the host_timeout of 1s"});
    const auto started = std::chrono::steady_clock::now();
    auto out = h.deploy(version(2));
    INFO(steps_of(out));
    CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(8));
    CHECK(out.result == DeployResult::Failed);
    CHECK(contains(out.error, "out of time: the host_timeout of 1s passed"));
    // Swapping back got its grace: the old pair is live again, never reloaded.
    CHECK(contains(out.error, "swapped back to " + version(1).version));
    CHECK(h.current() == "versions/" + version(1).version);
    CHECK(h.serves(version(1)));
    CHECK(h.lines("reloads") == 0);
}

TEST_CASE("pruning keeps the adopted original, the only copy of the operator's pair", "[deploy]") {
    Host h;
    const Material old = make_material("media", "unused", 0x98);
    start_from(h, &old);
    h.target.keep_versions = 1;
    for (int n = 1; n <= 4; ++n) {
        auto out = h.deploy(version(n));
        INFO(steps_of(out));
        REQUIRE(out.result == DeployResult::Deployed);
    }
    std::vector<std::string> left;
    for (const auto& e : stdfs::directory_iterator(h.dir + "/versions"))
        left.push_back(e.path().filename().string());
    std::sort(left.begin(), left.end());
    REQUIRE(left.size() == 3);  // the adopted original, the previous one, current
    CHECK(left[0].starts_with("00000000T000000Z-adopted-"));
    CHECK(slurp(h.dir + "/versions/" + left[0] + "/fullchain.pem") == old.fullchain_pem);
    CHECK(slurp(h.dir + "/versions/" + left[0] + "/privkey.pem") == old.key_pem);
    CHECK(left[2] == version(4).version);
}

TEST_CASE("directories another user could write to are refused before any change", "[deploy]") {
    Host h;
    REQUIRE(h.deploy(version(1)).result == DeployResult::Deployed);
    std::string path, why;
    SECTION("versions/ writable by the group") {
        path = h.dir + "/versions";
        stdfs::permissions(path, stdfs::perms(0770));
        why = "is writable by its group or others (mode 0770)";
    }
    SECTION("the certificate directory owned by another user") {
        path = h.dir;
        REQUIRE(::chown(path.c_str(), 4242, 0) == 0);
        why = "is owned by uid 4242, neither root nor the login user (uid " +
              std::to_string(::geteuid()) + ")";
    }
    SECTION("versions/ a symlink to a directory someone else made") {
        path = h.dir + "/versions";
        stdfs::rename(path, h.tmp.path + "/elsewhere");
        stdfs::create_directory_symlink(h.tmp.path + "/elsewhere", path);
        why = "is a symbolic link";
    }
    SECTION("cert_root writable by others") {
        path = h.target.cert_root;
        stdfs::permissions(path, stdfs::perms(0757));
        why = "is writable by its group or others (mode 0757)";
    }
    FaultyTransport t(h.local);
    auto out = deploy_version(t, h.target, version(2), false);
    INFO(steps_of(out));
    CHECK(out.result == DeployResult::Failed);
    CHECK(out.error == "web-1: " + path + " " + why +
                           ": another user could change what the server loads, so certfleet "
                           "does not trust it; nothing was changed");
    CHECK(contains(out.hint, "chmod go-w"));
    for (const auto& e : t.journal()) {
        INFO(e);
        CHECK_FALSE(mutates(e));
    }
    CHECK(h.serves(version(1)));
    // rollback refuses the same way.
    auto back = rollback(h.local, h.target, "media", "", {});
    CHECK(back.result == DeployResult::Failed);
    CHECK(contains(back.error, why));
}

TEST_CASE("a read-only cert_root is refused before any change", "[deploy]") {
    Host h;
    REQUIRE(h.deploy(version(1)).result == DeployResult::Deployed);
    FaultyTransport t(h.local);
    t.override_space(SpaceInfo{std::uint64_t{1} << 40, true});
    auto out = deploy_version(t, h.target, version(2), false);
    CHECK(out.result == DeployResult::Failed);
    CHECK(contains(out.error, "is on a read-only file system"));
    for (const auto& e : t.journal()) {
        INFO(e);
        CHECK_FALSE(mutates(e));
    }
    CHECK(h.serves(version(1)));

    Host fresh;  // nothing is created either
    FaultyTransport t2(fresh.local);
    t2.override_space(SpaceInfo{std::uint64_t{1} << 40, true});
    CHECK(deploy_version(t2, fresh.target, version(1), false).result == DeployResult::Failed);
    CHECK_FALSE(stdfs::exists(fresh.target.cert_root));
}

TEST_CASE("a really read-only bind mount is refused", "[deploy]") {
    Host h;
    stdfs::create_directories(h.target.cert_root);
    auto sh = [](const std::string& cmd) {
        core::ProcessOptions o;
        o.argv = {"/bin/sh", "-c", cmd};
        auto r = core::run_process(o);
        return r && r->success();
    };
    const std::string root = h.target.cert_root;
    if (::geteuid() != 0 || !sh("mount --bind " + root + " " + root + " 2>/dev/null")) {
        WARN("skipped: needs root and mount(8)");
        return;
    }
    const bool ro = sh("mount -o remount,bind,ro " + root + " " + root);
    auto out = h.deploy(version(1));
    ::umount2(root.c_str(), MNT_DETACH);
    REQUIRE(ro);
    CHECK(out.result == DeployResult::Failed);
    CHECK(contains(out.error, "is on a read-only file system"));
}

TEST_CASE("not enough free space is refused before any change", "[deploy]") {
    Host h;
    REQUIRE(h.deploy(version(1)).result == DeployResult::Deployed);
    FaultyTransport t(h.local);
    t.override_space(SpaceInfo{h.target.min_free_bytes + 100, false});
    auto out = deploy_version(t, h.target, version(2), false);
    CHECK(out.result == DeployResult::Failed);
    CHECK(contains(out.error, "not enough free space"));
    for (const auto& e : t.journal()) {
        INFO(e);
        CHECK_FALSE(mutates(e));
    }
}

TEST_CASE("the host's clock: far off refuses, a few minutes off warns", "[deploy]") {
    Host h;
    FaultyTransport t(h.local);
    t.override_mtime(86400);  // 1970-01-02
    auto out = deploy_version(t, h.target, version(1), false);
    CHECK(out.result == DeployResult::Failed);
    CHECK(contains(out.error, "clock on web-1"));
    CHECK(contains(out.error, "nothing was swapped"));
    // Nothing served changed and the refused upload is gone.
    CHECK_FALSE(stdfs::is_symlink(h.dir + "/current"));
    CHECK(stdfs::is_empty(h.dir + "/versions"));
    CHECK(t.calls("run") == 0);  // the clock came from the upload, not from `date`

    const auto now = std::chrono::system_clock::now().time_since_epoch();
    const auto ahead = std::chrono::duration_cast<std::chrono::seconds>(now).count() + 600;
    FaultyTransport t2(h.local);
    t2.override_mtime(ahead);
    auto warned = deploy_version(t2, h.target, version(1), false);
    CHECK(warned.result == DeployResult::Deployed);
    REQUIRE(warned.warnings.size() == 1);
    CHECK(contains(warned.warnings[0], "ahead of the manager's"));
}

TEST_CASE("verify: the served serial is checked after the reload", "[deploy]") {
    Host h;
    REQUIRE(h.deploy(version(1)).result == DeployResult::Deployed);
    h.target.verify = VerifyTarget{true, "127.0.0.1", 0, "media.example.test"};
    h.target.verify_timeout = core::Seconds(2);
    h.target.reload_command = "echo >> " + h.tmp.path + "/reloads";

    SECTION("a server that loads the stable names shows the new serial") {
        TlsServer server(TlsServer::from_files(h.dir));
        h.target.verify.port = server.port();
        auto out = h.deploy(version(2));
        INFO(steps_of(out));
        REQUIRE(out.result == DeployResult::Deployed);
        CHECK(out.served_serial == version(2).serial_hex);
        auto again = h.deploy(version(2));
        CHECK(again.result == DeployResult::Unchanged);
        CHECK(again.served_serial == version(2).serial_hex);
        CHECK(h.lines("reloads") == 1);
    }
    SECTION("a server still serving the old certificate: rolled back") {
        const Material& old = version(1);
        TlsServer server([&] { return std::optional<Pair>(Pair{old.fullchain_pem, old.key_pem}); });
        h.target.verify.port = server.port();
        auto out = h.deploy(version(2));
        INFO(steps_of(out));
        CHECK(out.result == DeployResult::RolledBack);
        CHECK(out.version == version(1).version);
        CHECK(contains(out.error, "web-1 serves serial " + version(1).serial_hex +
                                      " after reload, expected serial " + version(2).serial_hex));
        CHECK(contains(out.error, "does the server config load " + h.dir + "/fullchain.pem?"));
        CHECK(h.serves(version(1)));
        CHECK(h.lines("reloads") == 2);
    }
    SECTION("another certificate with the same serial is not the one deployed") {
        // Same serial, other key and DER: only the fingerprint tells them apart.
        static const Material impostor = make_material("media", "20260209T000000Z-imp", 0x2002);
        REQUIRE(impostor.serial_hex == version(2).serial_hex);
        TlsServer server([&] {
            return std::optional<Pair>(Pair{impostor.fullchain_pem, impostor.key_pem});
        });
        h.target.verify.port = server.port();
        auto out = h.deploy(version(2));
        INFO(steps_of(out));
        CHECK(out.result == DeployResult::RolledBack);
        CHECK(contains(out.error, "serves a certificate with serial " + version(2).serial_hex +
                                      " but another fingerprint"));
        CHECK(h.serves(version(1)));
    }
    SECTION("nothing listening: rolled back") {
        h.target.verify.port = unused_port();
        auto out = h.deploy(version(2));
        INFO(steps_of(out));
        CHECK(out.result == DeployResult::RolledBack);
        CHECK(contains(out.error, "connection refused"));
        CHECK(h.serves(version(1)));
    }
}

TEST_CASE("FaultyTransport fails exactly the calls it is told to", "[deploy]") {
    TempDir tmp;
    LocalTransport local("web-1");
    FaultyTransport t(local);
    t.fail("write_file", 2).fail("*", 5);
    CHECK(t.write_file(tmp.path + "/a", "x", 0600));
    CHECK_FALSE(t.write_file(tmp.path + "/b", "x", 0600));
    CHECK(t.write_file(tmp.path + "/c", "x", 0600));
    CHECK(t.stat(tmp.path + "/a"));
    auto fifth = t.stat(tmp.path + "/a");
    REQUIRE_FALSE(fifth);
    CHECK(contains(fifth.error().message, "injected fault"));
    CHECK_FALSE(stdfs::exists(tmp.path + "/b"));
    CHECK(t.calls("write_file") == 3);
    CHECK(t.calls("*") == 5);

    t.lose_connection("stat", 3);
    CHECK_FALSE(t.stat(tmp.path + "/a"));
    CHECK(t.connection_lost());
    CHECK_FALSE(t.write_file(tmp.path + "/d", "x", 0600));
    CHECK_FALSE(stdfs::exists(tmp.path + "/d"));
}
