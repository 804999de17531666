#include "distribute/local_transport.hpp"

#include <algorithm>
#include <cerrno>
#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <memory>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <system_error>
#include <unistd.h>
#include <utility>
#include <vector>

#include "core/fd.hpp"
#include "core/fs.hpp"
#include "core/process.hpp"

namespace certfleet::distribute {
namespace {

using core::ErrorKind;
using core::fail;

std::string errno_text(int err) {
    return std::generic_category().message(err);
}

// "cdn-1: cannot write /etc/certfleet/live/x: No space left on device"
core::Failure io_error(const std::string& host, const std::string& what, const std::string& path,
                       int err) {
    return fail(ErrorKind::Io, host + ": cannot " + what + " " + path + ": " + errno_text(err));
}

// Errors from core/ name the path but not the host.
core::Status with_host(const std::string& host, core::Status status) {
    if (status) {
        return status;
    }
    core::Error e = status.error();
    e.message = host + ": " + e.message;
    return core::Failure{std::move(e)};
}

}  // namespace

LocalTransport::LocalTransport(std::string host_name) : m_host_name(std::move(host_name)) {}

std::string LocalTransport::describe() const {
    return m_host_name + " (local)";
}

core::Status LocalTransport::connect() {
    return {};
}

std::optional<uid_t> LocalTransport::user_id() {
    return ::geteuid();
}

core::Result<CommandOutput> LocalTransport::run(const std::string& command, core::Seconds timeout) {
    if (auto s = check_deadline(m_host_name); !s) {
        return s.failure();
    }
    core::ProcessOptions options;
    options.argv = {"/bin/sh", "-c", command};
    options.timeout =
        within_deadline(std::chrono::duration_cast<std::chrono::milliseconds>(timeout));
    auto result = core::run_process(options);
    if (!result) {
        core::Error e = result.error();
        e.message = m_host_name + ": cannot run /bin/sh: " + e.message;
        return core::Failure{std::move(e)};
    }
    CommandOutput out;
    out.timed_out = result->timed_out;
    // A shell reports death by signal N as 128+N; do the same.
    out.exit_code = result->signal != 0 ? 128 + result->signal : result->exit_code;
    out.out = std::move(result->out);
    out.err = std::move(result->err);
    return out;
}

core::Status LocalTransport::write_file(const std::string& path, std::string_view content,
                                        mode_t mode) {
    return write_with(path, content, mode, O_TRUNC);
}

core::Status LocalTransport::create_file(const std::string& path, std::string_view content,
                                         mode_t mode) {
    return write_with(path, content, mode, O_EXCL);
}

core::Status LocalTransport::write_with(const std::string& path, std::string_view content,
                                        mode_t mode, int create_flag) {
    // O_NOFOLLOW: never write key material through a symlink someone planted.
    core::UniqueFd fd(::open(
        path.c_str(), O_WRONLY | O_CREAT | create_flag | O_CLOEXEC | O_NOFOLLOW, mode & 07777));
    if (fd.get() < 0) {
        return io_error(m_host_name, "write", path, errno);
    }
    // The umask may have narrowed the mode and an existing file keeps its old
    // one: set it exactly before a byte of content is written.
    if (::fchmod(fd.get(), mode & 07777) != 0) {
        return io_error(m_host_name, "chmod", path, errno);
    }
    std::size_t done = 0;
    while (done < content.size()) {
        ssize_t n = ::write(fd.get(), content.data() + done, content.size() - done);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return io_error(m_host_name, "write", path, errno);
        }
        done += static_cast<std::size_t>(n);
    }
    if (::fsync(fd.get()) != 0) {
        return io_error(m_host_name, "fsync", path, errno);
    }
    if (fd.close() != 0) {
        return io_error(m_host_name, "write", path, errno);
    }
    return {};
}

core::Result<std::string> LocalTransport::read_file(const std::string& path,
                                                    std::size_t max_bytes) {
    if (auto s = check_deadline(m_host_name); !s) {
        return s.failure();
    }
    // Non-blocking open, and only a regular file is read: a FIFO or device
    // put where a certificate was expected must not hang the run.
    core::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK));
    if (fd.get() < 0) {
        return io_error(m_host_name, "read", path, errno);
    }
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) {
        return io_error(m_host_name, "read", path, errno);
    }
    if (!S_ISREG(st.st_mode)) {
        return fail(ErrorKind::Io, m_host_name + ": cannot read " + path + ": not a regular file");
    }
    std::string data;
    char buf[65536];
    for (;;) {
        ssize_t n = ::read(fd.get(), buf, sizeof buf);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return io_error(m_host_name, "read", path, errno);
        }
        if (n == 0) {
            break;
        }
        data.append(buf, static_cast<std::size_t>(n));
        if (data.size() > max_bytes) {
            return fail(ErrorKind::Io, m_host_name + ": cannot read " + path + ": larger than " +
                                           std::to_string(max_bytes) + " bytes");
        }
    }
    return data;
}

core::Result<FileInfo> LocalTransport::stat(const std::string& path) {
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) {
        if (errno == ENOENT || errno == ENOTDIR) {
            return FileInfo{};
        }
        return io_error(m_host_name, "stat", path, errno);
    }
    FileInfo info;
    info.exists = true;
    info.is_dir = S_ISDIR(st.st_mode);
    info.is_symlink = S_ISLNK(st.st_mode);
    info.is_regular = S_ISREG(st.st_mode);
    info.mode = st.st_mode & 07777;
    info.mtime = static_cast<std::int64_t>(st.st_mtim.tv_sec);
    info.uid = st.st_uid;
    info.gid = st.st_gid;
    info.size = static_cast<std::uint64_t>(st.st_size);
    return info;
}

core::Result<std::string> LocalTransport::read_link(const std::string& path) {
    std::string buf(256, '\0');
    for (;;) {
        ssize_t n = ::readlink(path.c_str(), buf.data(), buf.size());
        if (n < 0) {
            return io_error(m_host_name, "read link", path, errno);
        }
        if (static_cast<std::size_t>(n) < buf.size()) {
            buf.resize(static_cast<std::size_t>(n));
            return buf;
        }
        if (buf.size() >= 65536) {
            return fail(ErrorKind::Io,
                        m_host_name + ": cannot read link " + path + ": target longer than 64 KiB");
        }
        buf.resize(buf.size() * 4);
    }
}

core::Result<std::vector<std::string>> LocalTransport::list_dir(const std::string& path) {
    if (auto s = check_deadline(m_host_name); !s) {
        return s.failure();
    }
    std::unique_ptr<DIR, int (*)(DIR*)> dir(::opendir(path.c_str()), &::closedir);
    if (!dir) {
        return io_error(m_host_name, "list", path, errno);
    }
    std::vector<std::string> names;
    for (;;) {
        errno = 0;
        const dirent* entry = ::readdir(dir.get());
        if (entry == nullptr) {
            if (errno != 0) {
                return io_error(m_host_name, "list", path, errno);
            }
            break;
        }
        std::string name = entry->d_name;
        if (name != "." && name != "..") {
            if (names.size() >= kMaxDirEntries) {
                return too_many_entries(m_host_name, path);
            }
            names.push_back(std::move(name));
        }
    }
    // readdir order is arbitrary; sorted output keeps plans and logs stable.
    std::sort(names.begin(), names.end());
    return names;
}

core::Status LocalTransport::make_dir(const std::string& path, mode_t mode) {
    if (::mkdir(path.c_str(), mode & 07777) == 0) {
        // mkdir(2) applies the umask: set the mode the caller asked for.
        if (::chmod(path.c_str(), mode & 07777) != 0) {
            return io_error(m_host_name, "chmod", path, errno);
        }
        return {};
    }
    const int err = errno;
    if (err == EEXIST) {
        struct stat st {};
        if (::lstat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
            return {};
        }
        return fail(ErrorKind::Io, m_host_name + ": cannot create directory " + path +
                                       ": it exists and is not a directory");
    }
    return io_error(m_host_name, "create directory", path, err);
}

core::Status LocalTransport::rename(const std::string& from, const std::string& to) {
    if (::rename(from.c_str(), to.c_str()) != 0) {
        return io_error(m_host_name, "rename " + from + " to", to, errno);
    }
    return {};
}

core::Status LocalTransport::symlink(const std::string& target, const std::string& link_path) {
    if (::symlink(target.c_str(), link_path.c_str()) != 0) {
        return io_error(m_host_name, "create symlink", link_path + " -> " + target, errno);
    }
    return {};
}

core::Status LocalTransport::remove(const std::string& path) {
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
        return io_error(m_host_name, "remove", path, errno);
    }
    return {};
}

core::Status LocalTransport::remove_tree(const std::string& path) {
    return with_host(m_host_name, core::remove_tree(path));
}

core::Status LocalTransport::set_group(const std::string& path, const std::string& group) {
    // getgrnam_r: many transports work in parallel threads.
    long size_hint = ::sysconf(_SC_GETGR_R_SIZE_MAX);
    std::vector<char> buf(size_hint > 0 ? static_cast<std::size_t>(size_hint) : 16384);
    struct group entry {};
    struct group* found = nullptr;
    int rc = 0;
    while ((rc = ::getgrnam_r(group.c_str(), &entry, buf.data(), buf.size(), &found)) == ERANGE &&
           buf.size() < (std::size_t{1} << 20)) {
        buf.resize(buf.size() * 2);
    }
    if (rc != 0) {
        return fail(ErrorKind::Io,
                    m_host_name + ": cannot look up group " + group + ": " + errno_text(rc));
    }
    if (found == nullptr) {
        return fail(
            ErrorKind::Config,
            m_host_name + ": cannot set group of " + path + ": no group " + group + " on this host",
            "create the group or fix key_group in the inventory");
    }
    if (::lchown(path.c_str(), static_cast<uid_t>(-1), found->gr_gid) != 0) {
        return io_error(m_host_name, "set group " + group + " on", path, errno);
    }
    return {};
}

core::Status LocalTransport::fsync_dir(const std::string& path) {
    return with_host(m_host_name, core::fsync_dir(path));
}

core::Result<SpaceInfo> LocalTransport::space(const std::string& path) {
    struct statvfs st {};
    if (::statvfs(path.c_str(), &st) != 0) {
        return io_error(m_host_name, "check free space of", path, errno);
    }
    SpaceInfo info;
    info.available_bytes = static_cast<std::uint64_t>(st.f_bavail) * st.f_frsize;
    info.read_only = (st.f_flag & ST_RDONLY) != 0;
    return info;
}

}  // namespace certfleet::distribute
