#include "core/fs.hpp"

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <fcntl.h>
#include <filesystem>
#include <random>
#include <sys/stat.h>
#include <system_error>
#include <unistd.h>
#include <vector>

#include <openssl/crypto.h>

#include "core/fd.hpp"

namespace certfleet::core {

namespace {

Failure io_failure(const std::string& what, const std::string& path, int err) {
    return fail(ErrorKind::Io, what + " " + path + ": " + errno_text(err));
}

std::string parent_dir(const std::string& path) {
    auto slash = path.find_last_of('/');
    if (slash == std::string::npos)
        return ".";
    if (slash == 0)
        return "/";
    return path.substr(0, slash);
}

std::string base_name(const std::string& path) {
    auto slash = path.find_last_of('/');
    return slash == std::string::npos ? path : path.substr(slash + 1);
}

// Unique enough among concurrent writers in one directory; O_EXCL catches the rest.
std::string temp_sibling(const std::string& path, const char* tag) {
    static std::atomic<unsigned> counter{0};
    static const unsigned long long seed = std::random_device{}();
    char buf[64];
    std::snprintf(buf, sizeof buf, ".tmp-%s-%d-%llx-%u", tag, static_cast<int>(::getpid()),
                  seed & 0xffffffULL, counter.fetch_add(1));
    std::string dir = parent_dir(path);
    return (dir == "/" ? "" : dir) + "/." + base_name(path) + buf;
}

Status write_all(int fd, std::string_view content) {
    const char* p = content.data();
    size_t left = content.size();
    while (left > 0) {
        ssize_t n = ::write(fd, p, left);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return fail(ErrorKind::Io, errno_text(errno));
        }
        p += n;
        left -= static_cast<size_t>(n);
    }
    return {};
}

}  // namespace

Status fsync_dir(const std::string& path) {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (fd.get() < 0)
        return io_failure("cannot open directory", path, errno);
    if (::fsync(fd.get()) != 0 && errno != EINVAL) {
        return io_failure("cannot fsync directory", path, errno);
    }
    return {};
}

Status write_file_atomic(const std::string& path, std::string_view content, mode_t mode) {
    if (path.empty() || path.back() == '/') {
        return fail(ErrorKind::Io, "cannot write \"" + path + "\": not a file path");
    }
    std::string tmp;
    int raw = -1;
    for (int attempt = 0; attempt < 16 && raw < 0; ++attempt) {
        tmp = temp_sibling(path, "w");
        raw = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
        if (raw < 0 && errno != EEXIST)
            break;
    }
    if (raw < 0)
        return io_failure("cannot write", path, errno);
    UniqueFd fd(raw);

    auto abandon = [&](const std::string& what, int err) -> Status {
        ::unlink(tmp.c_str());
        return fail(ErrorKind::Io, "cannot write " + path + ": " + what + errno_text(err));
    };
    // open() applied the umask; the requested mode must hold exactly.
    if (::fchmod(fd.get(), mode) != 0)
        return abandon("chmod: ", errno);
    if (auto st = write_all(fd.get(), content); !st) {
        ::unlink(tmp.c_str());
        return fail(ErrorKind::Io, "cannot write " + path + ": " + st.error().message);
    }
    if (::fsync(fd.get()) != 0)
        return abandon("fsync: ", errno);
    if (fd.close() != 0)
        return abandon("close: ", errno);
    if (::rename(tmp.c_str(), path.c_str()) != 0)
        return abandon("rename: ", errno);
    return fsync_dir(parent_dir(path));
}

Status make_dirs(const std::string& path, mode_t mode) {
    if (path.empty())
        return fail(ErrorKind::Io, "cannot create directory: empty path");
    std::vector<std::string> prefixes;
    for (size_t pos = path.find('/', 1); pos != std::string::npos; pos = path.find('/', pos + 1)) {
        prefixes.push_back(path.substr(0, pos));
    }
    prefixes.push_back(path);
    for (const auto& dir : prefixes) {
        if (dir.empty() || dir.back() == '/')
            continue;
        if (::mkdir(dir.c_str(), mode) == 0) {
            // mkdir honours the umask; a created directory gets exactly `mode`.
            if (::chmod(dir.c_str(), mode) != 0)
                return io_failure("cannot chmod", dir, errno);
            continue;
        }
        int err = errno;
        struct stat st {};
        if (err == EEXIST && ::stat(dir.c_str(), &st) == 0 && S_ISDIR(st.st_mode))
            continue;
        if (err == EEXIST)
            err = ENOTDIR;
        return io_failure("cannot create directory", dir, err);
    }
    return {};
}

Status replace_symlink(const std::string& link_path, const std::string& target) {
    std::string tmp;
    int rc = -1;
    for (int attempt = 0; attempt < 16 && rc != 0; ++attempt) {
        tmp = temp_sibling(link_path, "l");
        rc = ::symlink(target.c_str(), tmp.c_str());
        if (rc != 0 && errno != EEXIST)
            break;
    }
    if (rc != 0)
        return io_failure("cannot create symlink", link_path, errno);
    if (::rename(tmp.c_str(), link_path.c_str()) != 0) {
        int err = errno;
        ::unlink(tmp.c_str());
        return io_failure("cannot replace symlink", link_path, err);
    }
    return fsync_dir(parent_dir(link_path));
}

// O_NONBLOCK: a FIFO (or device) put where a file was expected must not
// hang the run in open(2); it is refused by the fstat below. The stack
// buffer is wiped: callers read keys and passwords through here.
Result<std::string> read_file(const std::string& path, size_t max_bytes) {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK));
    if (fd.get() < 0)
        return io_failure("cannot read", path, errno);
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0)
        return io_failure("cannot read", path, errno);
    if (!S_ISREG(st.st_mode))
        return fail(ErrorKind::Io, "cannot read " + path + ": not a regular file");
    std::string out;
    char buf[16384];
    for (;;) {
        ssize_t n = ::read(fd.get(), buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            const int err = errno;
            OPENSSL_cleanse(buf, sizeof buf);
            return io_failure("cannot read", path, err);
        }
        if (n == 0)
            break;
        if (out.size() + static_cast<size_t>(n) > max_bytes) {
            OPENSSL_cleanse(buf, sizeof buf);
            return fail(ErrorKind::Io, "cannot read " + path + ": larger than " +
                                           std::to_string(max_bytes) + " bytes");
        }
        out.append(buf, static_cast<size_t>(n));
    }
    OPENSSL_cleanse(buf, sizeof buf);
    return out;
}

std::optional<std::string> read_symlink(const std::string& path) {
    std::vector<char> buf(256);
    for (;;) {
        ssize_t n = ::readlink(path.c_str(), buf.data(), buf.size());
        if (n < 0)
            return std::nullopt;
        if (static_cast<size_t>(n) < buf.size())
            return std::string(buf.data(), static_cast<size_t>(n));
        buf.resize(buf.size() * 2);
    }
}

Status remove_tree(const std::string& path) {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);  // does not follow symlinks
    if (ec && ec != std::errc::no_such_file_or_directory) {
        return fail(ErrorKind::Io, "cannot remove " + path + ": " + ec.message());
    }
    return {};
}

}  // namespace certfleet::core
