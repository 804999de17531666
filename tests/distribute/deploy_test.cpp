// The deployment transaction on a real directory tree through LocalTransport:
// layout and modes, version swaps, adoption, rollback, pruning, inspection.
// Faults, refusals and verification are in deploy_fault_test.cpp.
#include "distribute/deploy.hpp"

#include <algorithm>
#include <filesystem>
#include <grp.h>
#include <map>
#include <set>
#include <sys/stat.h>

#include "core/fs.hpp"
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
                                 "2026010" + std::to_string(n) + "T000000Z-v" + std::to_string(n),
                                 0x1000 + n))
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
        dir = target.cert_root + "/media";
    }
    DeployOutcome deploy(const Material& m, bool force = false) {
        return deploy_version(local, target, m, force);
    }
    std::string link(const std::string& name) const {
        return core::read_symlink(dir + "/" + name).value_or("<not a link>");
    }
    std::string file(const std::string& name) const { return slurp(dir + "/" + name); }
    std::vector<std::string> versions() const {
        std::vector<std::string> out;
        for (const auto& e : stdfs::directory_iterator(dir + "/versions")) {
            out.push_back(e.path().filename().string());
        }
        std::sort(out.begin(), out.end());
        return out;
    }
    // The stable names resolve to exactly `m`'s files.
    bool serves(const Material& m) const {
        return file("fullchain.pem") == m.fullchain_pem && file("privkey.pem") == m.key_pem &&
               file("cert.pem") == m.cert_pem && file("chain.pem") == m.chain_pem;
    }
};

mode_t mode_of(const std::string& path) {
    struct stat st {};
    REQUIRE(::lstat(path.c_str(), &st) == 0);
    return st.st_mode & 07777;
}

std::string steps_of(const DeployOutcome& o) {
    std::string text;
    for (const auto& s : o.steps) {
        text += "  " + s + "\n";
    }
    return text + "error: " + o.error + "\nhint: " + o.hint;
}

}  // namespace

TEST_CASE("first deployment: the documented host layout with exact modes", "[deploy]") {
    Host h;
    const mode_t old_umask = ::umask(0);  // modes must not depend on the umask
    auto out = h.deploy(version(1));
    ::umask(old_umask);
    INFO(steps_of(out));
    REQUIRE(out.result == DeployResult::Deployed);
    CHECK(out.version == version(1).version);
    CHECK_FALSE(out.adopted);
    CHECK(out.error.empty());

    const std::string vdir = h.dir + "/versions/" + version(1).version;
    CHECK(mode_of(h.target.cert_root) == 0750);
    CHECK(mode_of(h.dir) == 0750);
    CHECK(mode_of(h.dir + "/versions") == 0750);
    CHECK(mode_of(vdir) == 0750);
    CHECK(mode_of(vdir + "/cert.pem") == 0640);
    CHECK(mode_of(vdir + "/chain.pem") == 0640);
    CHECK(mode_of(vdir + "/fullchain.pem") == 0640);
    CHECK(mode_of(vdir + "/privkey.pem") == 0600);
    CHECK(h.link("current") == "versions/" + version(1).version);
    for (const char* name : {"cert.pem", "chain.pem", "fullchain.pem", "privkey.pem"}) {
        CHECK(h.link(name) == std::string("current/") + name);
    }
    CHECK(h.serves(version(1)));
    CHECK(h.versions() == std::vector<std::string>{version(1).version});
    // No temporaries left behind; only the names docs/host-layout.md lists (and the marker).
    std::vector<std::string> names;
    for (const auto& e : stdfs::directory_iterator(h.dir)) {
        names.push_back(e.path().filename().string());
    }
    std::sort(names.begin(), names.end());
    CHECK(names == std::vector<std::string>{".deployed", "cert.pem", "chain.pem", "current",
                                            "fullchain.pem", "privkey.pem", "versions"});
}

TEST_CASE("key_group applies to the files and our directories, key_mode to the key", "[deploy]") {
    const group* g = ::getgrnam("daemon");
    if (g == nullptr || ::geteuid() != 0) {
        WARN("skipped: needs root and a 'daemon' group");
        return;
    }
    Host h;
    h.target.key_group = "daemon";
    h.target.key_mode = 0640;
    auto out = h.deploy(version(1));
    INFO(steps_of(out));
    REQUIRE(out.result == DeployResult::Deployed);
    const std::string vdir = h.dir + "/versions/" + version(1).version;
    for (const std::string& p : {h.dir, vdir, vdir + "/cert.pem", vdir + "/privkey.pem"}) {
        struct stat st {};
        REQUIRE(::lstat(p.c_str(), &st) == 0);
        CHECK(st.st_gid == g->gr_gid);
    }
    CHECK(mode_of(vdir + "/privkey.pem") == 0640);
}

TEST_CASE("a second version swaps current and keeps the first", "[deploy]") {
    Host h;
    REQUIRE(h.deploy(version(1)).result == DeployResult::Deployed);
    auto out = h.deploy(version(2));
    INFO(steps_of(out));
    REQUIRE(out.result == DeployResult::Deployed);
    CHECK(out.version == version(2).version);
    CHECK(h.link("current") == "versions/" + version(2).version);
    CHECK(h.serves(version(2)));
    CHECK(h.versions() == std::vector<std::string>{version(1).version, version(2).version});

    auto again = h.deploy(version(2));
    CHECK(again.result == DeployResult::Unchanged);
    CHECK(again.version == version(2).version);
    auto forced = h.deploy(version(2), true);
    INFO(steps_of(forced));
    CHECK(forced.result == DeployResult::Deployed);
    CHECK(h.serves(version(2)));
}

TEST_CASE("hand-managed files are adopted: old pair kept as a version, names become links",
          "[deploy]") {
    Host h;
    const Material old = make_material("media", "unused", 0x77);
    stdfs::create_directories(h.dir);
    REQUIRE(core::write_file_atomic(h.dir + "/fullchain.pem", old.fullchain_pem, 0644));
    REQUIRE(core::write_file_atomic(h.dir + "/privkey.pem", old.key_pem, 0600));
    REQUIRE(core::write_file_atomic(h.dir + "/cert.pem", old.cert_pem, 0644));

    auto before = inspect(h.local, h.target.cert_root, "media");
    REQUIRE(before.ok());
    CHECK(before->plain_files);
    CHECK_FALSE(before->current_version);
    CHECK(before->current_serial == old.serial_hex);

    auto out = h.deploy(version(1));
    INFO(steps_of(out));
    REQUIRE(out.result == DeployResult::Deployed);
    CHECK(out.adopted);
    CHECK(h.serves(version(1)));
    for (const char* name : {"cert.pem", "chain.pem", "fullchain.pem", "privkey.pem"}) {
        CHECK(h.link(name) == std::string("current/") + name);
    }
    auto vs = h.versions();
    REQUIRE(vs.size() == 2);
    CHECK(vs[0].starts_with("00000000T000000Z-adopted-"));
    CHECK(vs[0].size() == std::string("00000000T000000Z-adopted-").size() + 8);
    const std::string adopted_dir = h.dir + "/versions/" + vs[0];
    CHECK(slurp(adopted_dir + "/fullchain.pem") == old.fullchain_pem);
    CHECK(slurp(adopted_dir + "/privkey.pem") == old.key_pem);
    CHECK(slurp(adopted_dir + "/cert.pem") == old.cert_pem);
    CHECK(slurp(adopted_dir + "/chain.pem") == old.chain_pem);  // the fullchain minus its leaf
    CHECK(mode_of(adopted_dir + "/privkey.pem") == 0600);

    auto back = rollback(h.local, h.target, "media", "");
    INFO(steps_of(back));
    REQUIRE(back.result == DeployResult::Deployed);
    CHECK(back.version == vs[0]);
    CHECK(h.file("fullchain.pem") == old.fullchain_pem);
    CHECK(h.file("privkey.pem") == old.key_pem);
}

TEST_CASE("adoption never lets the stable names change content before `current` is in place",
          "[deploy]") {
    Host h;
    const Material old = make_material("media", "unused", 0x78);
    stdfs::create_directories(h.dir);
    REQUIRE(core::write_file_atomic(h.dir + "/fullchain.pem", old.fullchain_pem, 0644));
    REQUIRE(core::write_file_atomic(h.dir + "/privkey.pem", old.key_pem, 0600));
    FaultyTransport t(h.local);
    auto out = deploy_version(t, h.target, version(1), false);
    INFO(steps_of(out));
    REQUIRE(out.result == DeployResult::Deployed);

    // Whatever the server can see changes only by rename; creations and
    // removals touch temporaries and version directories only.
    const std::set<std::string> visible = {h.dir + "/cert.pem", h.dir + "/chain.pem",
                                           h.dir + "/fullchain.pem", h.dir + "/privkey.pem",
                                           h.dir + "/current"};
    std::vector<std::string> renames;
    for (const auto& entry : t.journal()) {
        const auto space = entry.find(' ');
        const std::string op = entry.substr(0, space);
        std::string path = entry.substr(space + 1);
        if (op == "rename") {
            renames.push_back(entry);
        } else if (op != "stat" && op != "read_file" && op != "read_link" && op != "list_dir" &&
                   op != "run" && op != "space" && op != "connect" && op != "fsync_dir") {
            if (op == "symlink") {
                path = path.substr(0, path.find(" -> "));
            }
            INFO(entry);
            CHECK_FALSE(visible.contains(path));
        }
    }
    // `current` (pointing at the adopted copy) is in place before the first stable name moves.
    const auto first_current = std::find_if(renames.begin(), renames.end(), [&](const auto& e) {
        return e.ends_with("-> " + h.dir + "/current");
    });
    const auto first_stable = std::find_if(renames.begin(), renames.end(), [&](const auto& e) {
        return e.ends_with("-> " + h.dir + "/fullchain.pem") ||
               e.ends_with("-> " + h.dir + "/privkey.pem");
    });
    REQUIRE(first_current != renames.end());
    REQUIRE(first_stable != renames.end());
    CHECK(first_current < first_stable);
}

TEST_CASE("rollback to the previous and to a named version", "[deploy]") {
    Host h;
    for (int n : {1, 2, 3}) {
        REQUIRE(h.deploy(version(n)).result == DeployResult::Deployed);
    }
    auto prev = rollback(h.local, h.target, "media", "");
    INFO(steps_of(prev));
    REQUIRE(prev.result == DeployResult::Deployed);
    CHECK(prev.version == version(2).version);
    CHECK(h.serves(version(2)));

    auto named = rollback(h.local, h.target, "media", version(3).version);
    REQUIRE(named.result == DeployResult::Deployed);
    CHECK(h.serves(version(3)));
    named = rollback(h.local, h.target, "media", version(1).version);
    REQUIRE(named.result == DeployResult::Deployed);
    CHECK(h.serves(version(1)));

    auto oldest = rollback(h.local, h.target, "media", "");
    CHECK(oldest.result == DeployResult::Failed);
    CHECK(oldest.error.find("no version older than") != std::string::npos);
    auto missing = rollback(h.local, h.target, "media", "20250101T000000Z-gone");
    CHECK(missing.result == DeployResult::Failed);
    CHECK(missing.hint.find(version(2).version) != std::string::npos);  // lists what is there
    CHECK(h.serves(version(1)));
    // A rolled-back host is brought forward by the next deployment.
    CHECK(h.deploy(version(3)).result == DeployResult::Deployed);
    CHECK(h.serves(version(3)));
}

TEST_CASE("prune keeps keep_versions, the current and the previous version", "[deploy]") {
    Host h;
    h.target.keep_versions = 2;
    for (int n = 1; n <= 5; ++n) {
        REQUIRE(h.deploy(version(n)).result == DeployResult::Deployed);
    }
    CHECK(h.versions() == std::vector<std::string>{version(4).version, version(5).version});

    h.target.keep_versions = 1;  // the previous one is never pruned by the run replacing it
    REQUIRE(h.deploy(version(6)).result == DeployResult::Deployed);
    CHECK(h.versions() == std::vector<std::string>{version(5).version, version(6).version});

    // After a rollback to an old version, the newest ones stay for going forward.
    h.target.keep_versions = 3;
    REQUIRE(rollback(h.local, h.target, "media", version(5).version).result ==
            DeployResult::Deployed);
    REQUIRE(h.deploy(version(7)).result == DeployResult::Deployed);
    CHECK(h.versions() ==
          std::vector<std::string>{version(5).version, version(6).version, version(7).version});
}

TEST_CASE("inspect reports versions, current and the serial behind fullchain.pem", "[deploy]") {
    Host h;
    auto empty = inspect(h.local, h.target.cert_root, "media");
    REQUIRE(empty.ok());
    CHECK_FALSE(empty->current_version);
    CHECK(empty->versions.empty());
    CHECK_FALSE(empty->plain_files);

    REQUIRE(h.deploy(version(1)).result == DeployResult::Deployed);
    REQUIRE(h.deploy(version(2)).result == DeployResult::Deployed);
    auto state = inspect(h.local, h.target.cert_root, "media");
    REQUIRE(state.ok());
    CHECK(state->current_version == version(2).version);
    CHECK(state->versions == std::vector<std::string>{version(1).version, version(2).version});
    CHECK_FALSE(state->plain_files);
    CHECK(state->current_serial == version(2).serial_hex);
}

TEST_CASE("material whose key does not match is refused before the host is touched", "[deploy]") {
    Host h;
    Material bad = version(1);
    bad.key_pem = version(2).key_pem;
    FaultyTransport t(h.local);
    auto out = deploy_version(t, h.target, bad, false);
    CHECK(out.result == DeployResult::Failed);
    CHECK(out.error.find("does not match") != std::string::npos);
    CHECK(t.journal().empty());
    CHECK_FALSE(stdfs::exists(h.target.cert_root));

    Material traversal = version(1);
    traversal.version = "../../etc";
    CHECK(deploy_version(t, h.target, traversal, false).result == DeployResult::Failed);
    CHECK(t.journal().empty());
}

TEST_CASE("deploy: every directory it creates is fsynced into its parent", "[deploy]") {
    Host h;  // cert_root/media does not exist yet
    FaultyTransport t(h.local);
    auto out = deploy_version(t, h.target, version(1), false);
    INFO(steps_of(out));
    REQUIRE(out.result == DeployResult::Deployed);
    const auto& journal = t.journal();
    for (std::size_t i = 0; i < journal.size(); ++i) {
        if (!journal[i].starts_with("make_dir "))
            continue;
        const std::string dir = journal[i].substr(std::string("make_dir ").size());
        const std::string parent = dir.substr(0, dir.rfind('/'));
        // Into versions/ the temporary is renamed, then versions/ is fsynced.
        const bool temporary = dir.find("/.tmp-") != std::string::npos;
        const std::string wanted = "fsync_dir " + (temporary ? dir : parent);
        INFO(journal[i]);
        CHECK(std::find(journal.begin() + static_cast<long>(i), journal.end(), wanted) !=
              journal.end());
    }
}

TEST_CASE("adoption copies only a real pair: privkey.pem linked to another secret is refused",
          "[deploy][adopt]") {
    Host h;
    const Material old = make_material("media", "unused", 0x79);
    stdfs::create_directories(h.dir);
    REQUIRE(core::write_file_atomic(h.dir + "/fullchain.pem", old.fullchain_pem, 0644));
    const std::string shadow = h.tmp.path + "/shadow";
    REQUIRE(core::write_file_atomic(shadow, "root:$6$secret-hash:19000:0:99999:7:::\n", 0600));
    stdfs::create_symlink(shadow, h.dir + "/privkey.pem");
    h.target.key_mode = 0640;

    auto out = h.deploy(version(1));
    INFO(steps_of(out));
    CHECK(out.result == DeployResult::Failed);
    CHECK_THAT(out.error,
               Catch::Contains(h.dir + "/privkey.pem is not a private key; nothing was changed"));
    // Nothing copied anywhere, and the names are as they were.
    CHECK(stdfs::is_empty(h.dir + "/versions"));  // made up front, nothing adopted into it
    CHECK(stdfs::is_symlink(h.dir + "/privkey.pem"));
    CHECK(stdfs::read_symlink(h.dir + "/privkey.pem") == shadow);

    SECTION("a key of another certificate is refused the same way") {
        const Material other = make_material("media", "other", 0x7A);
        stdfs::remove(h.dir + "/privkey.pem");
        REQUIRE(core::write_file_atomic(h.dir + "/privkey.pem", other.key_pem, 0600));
        auto mismatched = h.deploy(version(1));
        CHECK(mismatched.result == DeployResult::Failed);
        CHECK_THAT(mismatched.error, Catch::Contains("does not match the certificate in " + h.dir +
                                                     "/fullchain.pem; nothing was changed"));
        CHECK(stdfs::is_empty(h.dir + "/versions"));
    }
}
