#include "inventory/secrets.hpp"

#include <array>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <pwd.h>
#include <sstream>
#include <sys/stat.h>
#include <unistd.h>

#include "core/exposure.hpp"
#include "core/fs.hpp"
#include "core/process.hpp"

namespace certfleet::inventory {

namespace {

// A password, token or TSIG key: anything larger is not one.
constexpr std::size_t kMaxSecretBytes = 64 * 1024;

std::string home_dir() {
    if (const char* home = std::getenv("HOME"); home && *home)
        return home;
    // getpwuid_r: getpwuid's static result is shared between threads.
    passwd entry{};
    passwd* found = nullptr;
    std::array<char, 4096> buffer{};
    if (getpwuid_r(getuid(), &entry, buffer.data(), buffer.size(), &found) == 0 && found &&
        found->pw_dir)
        return found->pw_dir;
    return "/";
}

bool valid_env_name(std::string_view name) {
    if (name.empty() || (name[0] >= '0' && name[0] <= '9'))
        return false;
    for (char c : name)
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '_'))
            return false;
    return true;
}

// Someone may paste the secret itself where its file name belongs; echoing
// such a value would leak it into logs and cron mail, so only values that
// plainly are paths are repeated.
std::string describe_file(const std::string& raw, const std::string& resolved,
                          const std::string& base_dir) {
    if (raw.starts_with('/') || raw.starts_with('.') || raw.starts_with('~'))
        return "'" + resolved + "'";
    return "the file (relative to " + (base_dir.empty() ? std::string(".") : base_dir) + ")";
}

// Shared by secrets and plain files: existence, type, readability.
std::string check_file(const std::string& what, const std::string& resolved, struct stat& st) {
    if (::stat(resolved.c_str(), &st) != 0) {
        if (errno == ENOENT || errno == ENOTDIR)
            return what + " does not exist";
        return what + " cannot be read: " + core::errno_text(errno);
    }
    if (!S_ISREG(st.st_mode))
        return what + " is not a regular file";
    if (::access(resolved.c_str(), R_OK) != 0)
        return what + " cannot be read: " + core::errno_text(errno);
    return {};
}

}  // namespace

bool is_env_reference(std::string_view reference) {
    return reference.starts_with("env:");
}

std::string resolve_path(const std::string& path, const std::string& base_dir) {
    namespace fs = std::filesystem;
    if (path == "~")
        return home_dir();
    if (path.starts_with("~/"))
        return (fs::path(home_dir()) / path.substr(2)).lexically_normal();
    if (path.empty() || path.starts_with('/') || base_dir.empty())
        return path;
    return (fs::path(base_dir) / path).lexically_normal();
}

core::Result<std::string> read_secret(const std::string& reference, const std::string& base_dir) {
    std::string content;
    if (is_env_reference(reference)) {
        std::string name = reference.substr(4);
        const char* value = valid_env_name(name) ? std::getenv(name.c_str()) : nullptr;
        if (!value)
            return core::fail(core::ErrorKind::Config,
                              "environment variable " + name + " is not set",
                              "export it before running certfleet");
        content = value;
        core::withhold_from_children(name);
    } else {
        // Close-on-exec (hooks and DNS programs are spawned from other
        // threads meanwhile), non-blocking, a regular file only.
        std::string path = resolve_path(reference, base_dir);
        auto text = core::read_file(path, kMaxSecretBytes);
        if (!text) {
            core::Error e = text.error();  // "cannot read PATH: why"
            e.message.insert(std::string_view("cannot read ").size(), "secret file ");
            return core::fail(std::move(e));
        }
        content = std::move(*text);
    }
    if (content.ends_with('\n'))
        content.pop_back();
    if (content.ends_with('\r'))
        content.pop_back();
    return content;
}

SecretCheck check_secret_reference(const std::string& reference, const std::string& base_dir) {
    SecretCheck check;
    if (reference.empty()) {
        check.error = "expected a file path or \"env:NAME\"";
        return check;
    }
    if (is_env_reference(reference)) {
        check.resolved = reference;
        std::string name = reference.substr(4);
        if (!valid_env_name(name)) {
            check.error = "'" + name + "' is not a valid environment variable name";
        } else if (const char* value = std::getenv(name.c_str()); !value) {
            check.error = "environment variable " + name + " is not set";
        } else if (!*value) {
            check.error = "environment variable " + name + " is empty";
        }
        if (valid_env_name(name))
            core::withhold_from_children(name);  // every load checks every reference
        return check;
    }
    check.resolved = resolve_path(reference, base_dir);
    std::string what = describe_file(reference, check.resolved, base_dir);
    struct stat st {};
    check.error = check_file(what, check.resolved, st);
    // The file exists, so the reference is a file name, not a pasted secret:
    // naming it in full is safe, and the operator needs it to fix the mode.
    if (check.error.empty())
        check.warning = core::exposed_secret_file(check.resolved, st.st_mode);
    return check;
}

std::string check_readable_file(const std::string& raw, const std::string& base_dir) {
    if (raw.empty())
        return "expected a file path";
    std::string resolved = resolve_path(raw, base_dir);
    struct stat st {};
    return check_file("'" + resolved + "'", resolved, st);
}

}  // namespace certfleet::inventory
