#include "core/fs.hpp"

#include <filesystem>
#include <fstream>
#include <signal.h>
#include <sstream>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "core/lock.hpp"
#include "support/temp_files.hpp"

using namespace certfleet::core;
namespace stdfs = std::filesystem;

using namespace certfleet::testing;

namespace {

size_t entries(const std::string& dir) {
    return static_cast<size_t>(
        std::distance(stdfs::directory_iterator(dir), stdfs::directory_iterator()));
}

}  // namespace

TEST_CASE("write_file_atomic sets the exact mode regardless of umask", "[fs]") {
    TempDir d;
    {
        UmaskGuard u(0);
        REQUIRE(write_file_atomic(d.path + "/key.pem", "secret", 0600));
        CHECK(mode_of(d.path + "/key.pem") == 0600);
    }
    {
        UmaskGuard u(077);
        REQUIRE(write_file_atomic(d.path + "/cert.pem", "cert", 0640));
        CHECK(mode_of(d.path + "/cert.pem") == 0640);
    }
    REQUIRE(write_file_atomic(d.path + "/key.pem", "new secret", 0600));
    CHECK(slurp(d.path + "/key.pem") == "new secret");
    CHECK(entries(d.path) == 2);  // no temp files left behind
}

TEST_CASE("write_file_atomic errors name the path and the errno text", "[fs]") {
    TempDir d;
    REQUIRE(write_file_atomic(d.path + "/file", "x", 0600));

    auto not_dir = write_file_atomic(d.path + "/file/child", "y", 0600);
    REQUIRE_FALSE(not_dir);
    CHECK(not_dir.error().kind == ErrorKind::Io);
    CHECK_THAT(not_dir.error().message, Catch::Contains(d.path + "/file/child"));
    CHECK_THAT(not_dir.error().message, Catch::Contains("Not a directory"));

    auto missing = write_file_atomic(d.path + "/nope/child", "y", 0600);
    REQUIRE_FALSE(missing);
    CHECK_THAT(missing.error().message, Catch::Contains(d.path + "/nope/child"));
    CHECK_THAT(missing.error().message, Catch::Contains("No such file or directory"));
    CHECK(slurp(d.path + "/file") == "x");
}

TEST_CASE("a failed rename removes the temp file and leaves the target alone", "[fs]") {
    TempDir d;
    stdfs::create_directory(d.path + "/target");
    REQUIRE(write_file_atomic(d.path + "/target/inner", "keep", 0600));
    auto st = write_file_atomic(d.path + "/target", "clobber", 0600);
    REQUIRE_FALSE(st);
    CHECK_THAT(st.error().message, Catch::Contains(d.path + "/target"));
    CHECK(entries(d.path) == 1);
    CHECK(slurp(d.path + "/target/inner") == "keep");
}

TEST_CASE("a failed write (file too large) keeps the old content and no temp file", "[fs]") {
    // Root ignores permission bits, but not RLIMIT_FSIZE: a portable stand-in
    // for a full disk.
    TempDir d;
    const std::string path = d.path + "/fullchain.pem";
    REQUIRE(write_file_atomic(path, "old content", 0640));
    struct rlimit old_limit {};
    REQUIRE(::getrlimit(RLIMIT_FSIZE, &old_limit) == 0);
    auto old_handler = ::signal(SIGXFSZ, SIG_IGN);
    struct rlimit small = old_limit;
    small.rlim_cur = 1024;
    REQUIRE(::setrlimit(RLIMIT_FSIZE, &small) == 0);
    auto st = write_file_atomic(path, std::string(4096, 'x'), 0640);
    ::setrlimit(RLIMIT_FSIZE, &old_limit);
    ::signal(SIGXFSZ, old_handler);
    REQUIRE_FALSE(st);
    CHECK_THAT(st.error().message, Catch::Contains(path));
    CHECK_THAT(st.error().message, Catch::Contains("File too large"));
    CHECK(slurp(path) == "old content");
    CHECK(entries(d.path) == 1);
}

TEST_CASE("make_dirs creates with the exact mode and leaves existing dirs alone", "[fs]") {
    TempDir d;
    UmaskGuard u(0);
    ::chmod(d.path.c_str(), 0755);
    REQUIRE(make_dirs(d.path + "/a/b/c", 0750));
    CHECK(mode_of(d.path + "/a") == 0750);
    CHECK(mode_of(d.path + "/a/b/c") == 0750);
    CHECK(mode_of(d.path) == 0755);
    REQUIRE(make_dirs(d.path + "/a/b/c", 0700));  // exists: fine, unchanged
    CHECK(mode_of(d.path + "/a/b/c") == 0750);
    REQUIRE(write_file_atomic(d.path + "/f", "", 0600));
    auto st = make_dirs(d.path + "/f/g", 0750);
    REQUIRE_FALSE(st);
    CHECK_THAT(st.error().message, Catch::Contains(d.path + "/f"));
}

TEST_CASE("replace_symlink swaps atomically; read_symlink and read_file", "[fs]") {
    TempDir d;
    const std::string link = d.path + "/current";
    CHECK_FALSE(read_symlink(link));
    REQUIRE(replace_symlink(link, "versions/a"));
    CHECK(read_symlink(link) == "versions/a");
    REQUIRE(replace_symlink(link, "versions/b"));
    CHECK(read_symlink(link) == "versions/b");
    CHECK(entries(d.path) == 1);

    REQUIRE(write_file_atomic(d.path + "/data", "0123456789", 0600));
    CHECK(read_file(d.path + "/data").value() == "0123456789");
    auto big = read_file(d.path + "/data", 4);
    REQUIRE_FALSE(big);
    CHECK_THAT(big.error().message, Catch::Contains("larger than 4 bytes"));
    CHECK_FALSE(read_file(d.path + "/missing"));
    CHECK_FALSE(read_symlink(d.path + "/data"));
}

TEST_CASE("remove_tree does not follow symlinks and accepts a missing path", "[fs]") {
    TempDir d;
    REQUIRE(make_dirs(d.path + "/outside", 0750));
    REQUIRE(write_file_atomic(d.path + "/outside/precious", "x", 0600));
    REQUIRE(make_dirs(d.path + "/tree/sub", 0750));
    REQUIRE(replace_symlink(d.path + "/tree/sub/link", d.path + "/outside"));
    REQUIRE(remove_tree(d.path + "/tree"));
    CHECK_FALSE(stdfs::exists(d.path + "/tree"));
    CHECK(stdfs::exists(d.path + "/outside/precious"));
    CHECK(remove_tree(d.path + "/tree"));
}

TEST_CASE("the state lock excludes a second holder and names the first", "[fs][lock]") {
    TempDir d;
    const std::string path = d.path + "/lock";
    auto first = FileLock::try_acquire(path);
    REQUIRE(first);
    CHECK(mode_of(path) == 0600);
    // flock conflicts between separate open file descriptions, even in one process.
    auto second = FileLock::try_acquire(path);
    REQUIRE_FALSE(second);
    CHECK(second.error().kind == ErrorKind::Busy);
    CHECK(second.error().message == "another certfleet run (pid " + std::to_string(::getpid()) +
                                        ") holds the state lock " + path + "; try later");

    FileLock moved = std::move(*first);
    CHECK(moved.held());
    CHECK_FALSE(FileLock::try_acquire(path));
    moved.release();
    auto third = FileLock::try_acquire(path);
    REQUIRE(third);
    CHECK(third->path() == path);

    auto bad = FileLock::try_acquire(d.path + "/missing/lock");
    REQUIRE_FALSE(bad);
    CHECK(bad.error().kind == ErrorKind::Io);
}

TEST_CASE("read_file refuses a FIFO at once instead of waiting for a writer", "[fs]") {
    TempDir dir;
    const std::string fifo = dir.path + "/swapped-in";
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    const auto started = std::chrono::steady_clock::now();
    auto r = read_file(fifo);  // a blocking open(2) would never return
    REQUIRE_FALSE(r);
    CHECK_THAT(r.error().message, Catch::Contains("not a regular file"));
    CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(5));
    CHECK_FALSE(read_file(dir.path));  // a directory neither
}
