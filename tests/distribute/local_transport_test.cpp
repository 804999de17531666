#include "distribute/local_transport.hpp"

#include <atomic>
#include <chrono>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <grp.h>
#include <sstream>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "core/crypto.hpp"
#include "distribute/known_hosts.hpp"
#include "distribute/ssh_transport.hpp"
#include "support/temp_files.hpp"

using namespace certfleet::distribute;
namespace stdfs = std::filesystem;

using namespace certfleet::testing;

namespace {

void put(const std::string& p, const std::string& content) {
    std::ofstream(p) << content;
}

}  // namespace

TEST_CASE("shell_quote makes one literal word of anything", "[transport]") {
    CHECK(shell_quote("") == "''");
    CHECK(shell_quote("abc") == "'abc'");
    CHECK(shell_quote("it's") == "'it'\\''s'");
    CHECK(shell_quote("'") == "''\\'''");
    CHECK(shell_quote("a b") == "'a b'");

    // The shell must hand every one of these back unchanged.
    LocalTransport local("web-local");
    for (const std::string text :
         {"plain", "two words", "it's", "''", "$(touch /tmp/x) `id` $HOME ${PATH}", "a\\b\\\\c",
          "line1\nline2", "*?[a-z]", "-n", "--", "tab\there", "\"double\" 'single'", "trailing\\",
          "; rm -rf / #", "ünïcødé"}) {
        auto r = local.run("printf %s " + shell_quote(text), std::chrono::seconds(10));
        REQUIRE(r);
        CHECK(r->exit_code == 0);
        CHECK(r->out == text);
    }
}

TEST_CASE("local run: exit code, stdout, stderr, timeout", "[transport]") {
    LocalTransport local("web-local");
    CHECK(local.describe() == "web-local (local)");
    REQUIRE(local.connect());

    auto r = local.run("echo hi; echo err >&2; exit 3", std::chrono::seconds(10));
    REQUIRE(r);
    CHECK(r->exit_code == 3);
    CHECK(r->out == "hi\n");
    CHECK(r->err == "err\n");
    CHECK_FALSE(r->timed_out);

    const auto start = std::chrono::steady_clock::now();
    auto slow = local.run("sleep 30", std::chrono::seconds(1));
    REQUIRE(slow);
    CHECK(slow->timed_out);
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(5));
}

TEST_CASE("local write_file: exact mode whatever the umask, content, fsync", "[transport]") {
    TempDir d;
    LocalTransport local("web-local");
    for (mode_t umask_value : {mode_t{022}, mode_t{077}, mode_t{0}}) {
        UmaskGuard u(umask_value);
        for (mode_t mode : {mode_t{0600}, mode_t{0640}, mode_t{0644}, mode_t{0400}}) {
            const std::string p =
                d / ("f" + std::to_string(umask_value) + "-" + std::to_string(mode));
            REQUIRE(local.write_file(p, "secret\n", mode));
            CHECK(mode_of(p) == mode);
            CHECK(slurp(p) == "secret\n");
        }
    }
    // An existing, more open file is narrowed and truncated.
    const std::string p = d / "existing";
    put(p, "old content that is longer");
    ::chmod(p.c_str(), 0666);
    REQUIRE(local.write_file(p, "new", 0600));
    CHECK(mode_of(p) == 0600);
    CHECK(slurp(p) == "new");
}

TEST_CASE("local write_file refuses symlinks and names host and path on errors", "[transport]") {
    TempDir d;
    LocalTransport local("web-local");
    put(d / "victim", "keep");
    REQUIRE(::symlink((d / "victim").c_str(), (d / "link").c_str()) == 0);
    auto s = local.write_file(d / "link", "evil", 0600);
    REQUIRE_FALSE(s);
    CHECK(slurp(d / "victim") == "keep");
    CHECK(s.error().message.find("web-local: cannot write " + d / "link") == 0);

    auto missing = local.write_file(d / "no/such/dir/x", "x", 0600);
    REQUIRE_FALSE(missing);
    CHECK(missing.error().message ==
          "web-local: cannot write " + d / "no/such/dir/x" + ": No such file or directory");
}

TEST_CASE("local read_file, stat, read_link, list_dir", "[transport]") {
    TempDir d;
    LocalTransport local("web-local");
    put(d / "b.pem", "0123456789");
    ::chmod((d / "b.pem").c_str(), 0640);
    ::mkdir((d / "a-dir").c_str(), 0755);
    REQUIRE(::symlink("b.pem", (d / "c-link").c_str()) == 0);
    REQUIRE(::symlink("nowhere", (d / "dangling").c_str()) == 0);

    auto content = local.read_file(d / "b.pem", 100);
    REQUIRE(content);
    CHECK(*content == "0123456789");
    auto too_big = local.read_file(d / "b.pem", 5);
    REQUIRE_FALSE(too_big);
    CHECK(too_big.error().message.find("larger than 5 bytes") != std::string::npos);
    auto no_file = local.read_file(d / "missing", 100);
    REQUIRE_FALSE(no_file);
    CHECK(no_file.error().message ==
          "web-local: cannot read " + d / "missing" + ": No such file or directory");

    auto file = local.stat(d / "b.pem");
    REQUIRE(file);
    CHECK(file->exists);
    CHECK(file->is_regular);
    CHECK_FALSE(file->is_dir);
    CHECK_FALSE(file->is_symlink);
    CHECK(file->mode == 0640);
    CHECK(file->size == 10);
    CHECK(file->uid == ::getuid());

    auto dir = local.stat(d / "a-dir");
    REQUIRE(dir);
    CHECK(dir->is_dir);

    auto link = local.stat(d / "c-link");  // lstat: not followed
    REQUIRE(link);
    CHECK(link->is_symlink);
    CHECK_FALSE(link->is_regular);
    auto dangling = local.stat(d / "dangling");
    REQUIRE(dangling);
    CHECK(dangling->exists);
    CHECK(dangling->is_symlink);

    for (const std::string& missing : {d / "missing", d / "missing/deeper", d / "b.pem/below"}) {
        auto m = local.stat(missing);
        REQUIRE(m);
        CHECK_FALSE(m->exists);
    }

    auto target = local.read_link(d / "c-link");
    REQUIRE(target);
    CHECK(*target == "b.pem");
    auto not_link = local.read_link(d / "b.pem");
    REQUIRE_FALSE(not_link);
    CHECK(not_link.error().message.find(d / "b.pem") != std::string::npos);

    auto names = local.list_dir(d.path);
    REQUIRE(names);
    CHECK(*names == std::vector<std::string>{"a-dir", "b.pem", "c-link", "dangling"});
    auto no_dir = local.list_dir(d / "missing");
    REQUIRE_FALSE(no_dir);
    CHECK(no_dir.error().message.find("web-local: ") == 0);
}

TEST_CASE("local make_dir: exact mode, existing directory fine, file in the way", "[transport]") {
    TempDir d;
    LocalTransport local("web-local");
    UmaskGuard u(077);
    REQUIRE(local.make_dir(d / "live", 0751));
    CHECK(mode_of(d / "live") == 0751);
    ::chmod((d / "live").c_str(), 0700);
    REQUIRE(local.make_dir(d / "live", 0751));  // exists: left alone
    CHECK(mode_of(d / "live") == 0700);

    put(d / "file", "x");
    auto blocked = local.make_dir(d / "file", 0750);
    REQUIRE_FALSE(blocked);
    CHECK(blocked.error().message.find("not a directory") != std::string::npos);
    auto no_parent = local.make_dir(d / "a/b", 0750);
    REQUIRE_FALSE(no_parent);
    CHECK(no_parent.error().message.find(d / "a/b") != std::string::npos);
}

TEST_CASE("local rename replaces a symlink atomically", "[transport]") {
    TempDir d;
    LocalTransport local("web-local");
    ::mkdir((d / "v1").c_str(), 0755);
    ::mkdir((d / "v2").c_str(), 0755);
    REQUIRE(local.symlink("v1", d / "current"));

    // A reader must never find `current` missing while it is swapped.
    std::atomic<bool> stop{false};
    std::atomic<int> missing{0};
    std::thread reader([&] {
        const std::string p = d / "current";
        while (!stop) {
            struct stat st {};
            if (::lstat(p.c_str(), &st) != 0) {
                ++missing;
            }
        }
    });
    for (int i = 0; i < 300; ++i) {
        const std::string next = i % 2 == 0 ? "v2" : "v1";
        REQUIRE(local.symlink(next, d / "current.new"));
        REQUIRE(local.rename(d / "current.new", d / "current"));
        auto target = local.read_link(d / "current");
        REQUIRE(target);
        REQUIRE(*target == next);
    }
    stop = true;
    reader.join();
    CHECK(missing == 0);
    REQUIRE(local.fsync_dir(d.path));

    auto no_source = local.rename(d / "nope", d / "current");
    REQUIRE_FALSE(no_source);
    CHECK(no_source.error().message.find("web-local: cannot rename " + d / "nope") == 0);

    auto exists = local.symlink("v1", d / "current");
    REQUIRE_FALSE(exists);
    CHECK(exists.error().message.find("File exists") != std::string::npos);
}

TEST_CASE("local remove, remove_tree, set_group, fsync_dir, space", "[transport]") {
    TempDir d;
    LocalTransport local("web-local");
    put(d / "f", "x");
    REQUIRE(local.remove(d / "f"));
    CHECK_FALSE(stdfs::exists(d / "f"));
    REQUIRE(local.remove(d / "f"));  // missing is fine
    ::mkdir((d / "dir").c_str(), 0755);
    CHECK_FALSE(local.remove(d / "dir"));  // not for directories

    stdfs::create_directories(d / "tree/a/b");
    put(d / "tree/a/b/key.pem", "k");
    REQUIRE(::symlink("/etc", (d / "tree/escape").c_str()) == 0);
    REQUIRE(local.remove_tree(d / "tree"));
    CHECK_FALSE(stdfs::exists(d / "tree"));
    CHECK(stdfs::exists("/etc/passwd"));  // symlinks are not followed
    REQUIRE(local.remove_tree(d / "tree"));

    put(d / "key.pem", "k");
    const group* own = ::getgrgid(::getgid());
    REQUIRE(own != nullptr);
    REQUIRE(local.set_group(d / "key.pem", own->gr_name));
    auto no_group = local.set_group(d / "key.pem", "certfleet-no-such-group");
    REQUIRE_FALSE(no_group);
    CHECK(no_group.error().message.find("no group certfleet-no-such-group") != std::string::npos);

    REQUIRE(local.fsync_dir(d.path));
    auto bad_fsync = local.fsync_dir(d / "missing");
    REQUIRE_FALSE(bad_fsync);
    CHECK(bad_fsync.error().message.find("web-local: ") == 0);
    CHECK(bad_fsync.error().message.find(d / "missing") != std::string::npos);

    auto space = local.space(d.path);
    REQUIRE(space);
    CHECK(space->available_bytes > 0);
    CHECK_FALSE(space->read_only);
    auto no_space = local.space(d / "missing");
    REQUIRE_FALSE(no_space);
    CHECK(no_space.error().message.find(d / "missing") != std::string::npos);
}

TEST_CASE("known_hosts names and fingerprints as OpenSSH prints them", "[transport]") {
    CHECK(known_hosts_name("127.0.70.1", 2222) == "[127.0.70.1]:2222");
    CHECK(known_hosts_name("CDN-1.Example.org", 22) == "cdn-1.example.org");
    CHECK(known_hosts_name("2001:db8::1", 2222) == "[2001:db8::1]:2222");

    // Public keys and `ssh-keygen -lf` output.
    auto ed25519 = certfleet::core::base64_decode(
        "AAAAC3NzaC1lZDI1NTE5AAAAIFy347SehVl6mzLybY55EpXkatVye9VuXzY4jV7u1e/m");
    REQUIRE(ed25519);
    CHECK(key_blob_type(*ed25519) == "ssh-ed25519");
    CHECK(sha256_fingerprint(*ed25519) == "SHA256:p0xXvGMphEih5G4wL1CdihT7rkSau2ZdnchQ1A/J/EE");
    auto ecdsa = certfleet::core::base64_decode(
        "AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBF9jcXTrtSwvdcF4abzY+Hnl/jTGgpgxKtbb6E"
        "Gry0gI5FY81/eRv+U/6Q4jPd2aPW8+S6jG5nhK7l14YBb9dls=");
    REQUIRE(ecdsa);
    CHECK(key_blob_type(*ecdsa) == "ecdsa-sha2-nistp256");
    CHECK(sha256_fingerprint(*ecdsa) == "SHA256:UhqeKOX4cToPtvCzgvOeSJdu40X7BoxlAv9OXG7qrn8");

    CHECK(key_blob_type("") == "");
    CHECK(key_blob_type(std::string("\0\0\0\x7fshort", 9)) == "");
}

TEST_CASE("a directory with more entries than kMaxDirEntries is an error, not a list",
          "[local_transport]") {
    TempDir dir;
    const std::string big = dir.path + "/big";
    ::mkdir(big.c_str(), 0700);
    for (std::size_t i = 0; i <= kMaxDirEntries; ++i)
        ::close(::open((big + "/" + std::to_string(i)).c_str(), O_CREAT | O_WRONLY, 0600));
    LocalTransport t("edge-1");
    auto listed = t.list_dir(big);
    REQUIRE_FALSE(listed);
    CHECK_THAT(listed.error().message,
               Catch::Contains("edge-1: " + big + " has more than 100000 entries"));
    ::unlink((big + "/0").c_str());
    auto fits = t.list_dir(big);
    REQUIRE(fits);
    CHECK(fits->size() == kMaxDirEntries);
}

TEST_CASE("create_file writes only a file that did not exist, never through a link",
          "[local_transport]") {
    TempDir dir;
    LocalTransport t("edge-1");
    const std::string fresh = dir.path + "/privkey.pem";
    REQUIRE(t.create_file(fresh, "key", 0600));
    struct stat st {};
    REQUIRE(::stat(fresh.c_str(), &st) == 0);
    CHECK((st.st_mode & 07777) == 0600);
    auto again = t.create_file(fresh, "other", 0600);  // someone was first
    REQUIRE_FALSE(again);
    CHECK_THAT(again.error().message, Catch::Contains("File exists"));
    const std::string planted = dir.path + "/planted";
    REQUIRE(::symlink((dir.path + "/elsewhere").c_str(), planted.c_str()) == 0);
    CHECK_FALSE(t.create_file(planted, "key", 0600));
    CHECK_FALSE(stdfs::exists(dir.path + "/elsewhere"));  // nothing written through the link
}

TEST_CASE("local: a deadline cuts a command short and fails what comes after it", "[transport]") {
    TempDir dir;
    LocalTransport t("web-1");
    t.set_deadline(Deadline{std::chrono::steady_clock::now() + std::chrono::milliseconds(300),
                            "the host_timeout of 5m"});
    const auto started = std::chrono::steady_clock::now();
    auto slow = t.run("sleep 5", std::chrono::seconds(30));
    REQUIRE(slow);
    CHECK(slow->timed_out);
    CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(3));
    auto after = t.run("true", std::chrono::seconds(30));
    REQUIRE_FALSE(after);
    CHECK(after.error().kind == certfleet::core::ErrorKind::Timeout);
    CHECK(after.error().message == "web-1: out of time: the host_timeout of 5m passed");
    CHECK_FALSE(t.read_file(dir.path + "/x", 10));
    CHECK_FALSE(t.list_dir(dir.path));
    t.set_deadline(std::nullopt);
    CHECK(t.run("true", std::chrono::seconds(30)));
}

TEST_CASE("local read_file: a FIFO or a device is refused, never waited on", "[transport]") {
    TempDir dir;
    const std::string fifo = dir.path + "/fullchain.pem";
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    LocalTransport t("web-1");
    auto read = t.read_file(fifo, 1 << 20);  // a blocking open would hang here
    REQUIRE_FALSE(read);
    CHECK(read.error().message == "web-1: cannot read " + fifo + ": not a regular file");
    CHECK_FALSE(t.read_file("/dev/zero", 1 << 20));
}
