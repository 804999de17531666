// Helpers shared by the inventory unit tests: fixtures from tests/data and
// parsing of inline inventory text.
#pragma once

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "inventory/load.hpp"

namespace fs = std::filesystem;
using namespace certfleet::inventory;
using certfleet::core::KeyType;
using certfleet::core::Seconds;

namespace inventory_test {

inline std::string read_file(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

inline std::string fixture(const std::string& name) {
    return read_file(fs::path(CERTFLEET_TEST_DATA) / "inventories" / name);
}

class TempDir {
public:
    TempDir() {
        std::string pattern = (fs::temp_directory_path() / "certfleet-inv-XXXXXX").string();
        if (!mkdtemp(pattern.data()))
            throw std::runtime_error("mkdtemp failed");
        m_path = pattern;
    }
    ~TempDir() {
        std::error_code ec;
        fs::remove_all(m_path, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    const std::string& path() const { return m_path; }
    std::string mkdir(const std::string& name) {
        std::string dir = m_path + "/" + name;
        fs::create_directories(dir);
        return dir;
    }
    std::string write(const std::string& name, const std::string& content, mode_t mode = 0600) {
        std::string file = m_path + "/" + name;
        std::ofstream(file, std::ios::binary) << content;
        ::chmod(file.c_str(), mode);
        return file;
    }

private:
    std::string m_path;
};

// $HOME for one test: "~/..." paths then resolve into a temporary directory.
class HomeOverride {
public:
    explicit HomeOverride(const std::string& home) {
        if (const char* old = ::getenv("HOME"))
            m_old = old;
        ::setenv("HOME", home.c_str(), 1);
    }
    ~HomeOverride() {
        if (m_old)
            ::setenv("HOME", m_old->c_str(), 1);
        else
            ::unsetenv("HOME");
    }
    HomeOverride(const HomeOverride&) = delete;
    HomeOverride& operator=(const HomeOverride&) = delete;

private:
    std::optional<std::string> m_old;
};

// A fixture with @DIR@ replaced (for paths that must be absolute).
inline std::string fixture_in(const std::string& name, const std::string& dir) {
    std::string text = fixture(name);
    for (size_t at = text.find("@DIR@"); at != std::string::npos; at = text.find("@DIR@", at))
        text.replace(at, 5, dir);
    return text;
}

inline std::vector<std::string> formatted(const LoadResult& result) {
    std::vector<std::string> out;
    for (const auto& d : result.diagnostics)
        out.push_back(d.format());
    return out;
}

inline LoadResult parse(const std::string& text, const std::string& base_dir = "/nonexistent") {
    return parse_inventory(text, "inv.json", base_dir);
}

// The tail of the one warning for ssh hosts without ssh.known_hosts.
constexpr const char* kNoKnownHosts =
    ": certfleet never trusts an unknown host key, so deployments over SSH fail; set it here, in "
    "a group or in the host to a file with the hosts' verified keys";

// A valid skeleton for tests that only care about one section.
inline std::string with_acme(const std::string& members) {
    return R"({ "acme": { "directory": "https://acme.example.org/dir" })" +
           (members.empty() ? std::string() : ", " + members) + " }";
}

}  // namespace inventory_test

using namespace inventory_test;
