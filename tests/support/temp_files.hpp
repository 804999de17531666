// File-system helpers shared by the unit tests: a temporary directory removed
// on scope exit, a umask guard, a file's mode and whole content.
#pragma once

#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdlib.h>
#include <string>
#include <sys/stat.h>

#include <catch2/catch.hpp>

namespace certfleet::testing {

struct TempDir {
    std::string path;
    TempDir() {
        char tmpl[] = "/tmp/certfleet-unit-XXXXXX";
        path = ::mkdtemp(tmpl);
    }
    ~TempDir() { std::filesystem::remove_all(path); }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    std::string operator/(const std::string& name) const { return path + "/" + name; }
};

// Sets the umask for one test and restores it, so modes are checked against
// a hostile umask rather than whatever the runner has.
struct UmaskGuard {
    mode_t old;
    explicit UmaskGuard(mode_t m) : old(::umask(m)) {}
    ~UmaskGuard() { ::umask(old); }
};

inline mode_t mode_of(const std::string& p) {
    struct stat st {};
    REQUIRE(::lstat(p.c_str(), &st) == 0);
    return st.st_mode & 07777;
}

inline std::string slurp(const std::string& p) {
    std::ifstream in(p);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

}  // namespace certfleet::testing
