// SshTransport's file operations over SFTP (one SFTP channel per connection).
#include <algorithm>
#include <array>
#include <utility>

#include "distribute/ssh_session.hpp"
#include "distribute/ssh_transport.hpp"

namespace certfleet::distribute {
namespace {

using core::ErrorKind;
using core::fail;

// OpenSSH's sftp-server (protocol v3) folds most errno values into
// SSH_FX_FAILURE, so ENOSPC and EROFS arrive without detail; space() is how a
// caller finds out beforehand.
std::string fx_text(unsigned long code) {
    switch (code) {
        case LIBSSH2_FX_NO_SUCH_FILE:
        case LIBSSH2_FX_NO_SUCH_PATH:
            return "No such file or directory";
        case LIBSSH2_FX_PERMISSION_DENIED:
            return "Permission denied";
        case LIBSSH2_FX_FAILURE:
            return "the SFTP server reports a failure without detail (it exists already, is not "
                   "empty, the disk is full or the file system read-only?)";
        case LIBSSH2_FX_BAD_MESSAGE:
            return "Invalid argument or name too long";
        case LIBSSH2_FX_OP_UNSUPPORTED:
            return "Operation not supported by the SFTP server";
        case LIBSSH2_FX_FILE_ALREADY_EXISTS:
            return "File exists";
        case LIBSSH2_FX_WRITE_PROTECT:
            return "Read-only file system";
        case LIBSSH2_FX_NO_SPACE_ON_FILESYSTEM:
            return "No space left on device";
        case LIBSSH2_FX_QUOTA_EXCEEDED:
            return "Disk quota exceeded";
        case LIBSSH2_FX_DIR_NOT_EMPTY:
            return "Directory not empty";
        case LIBSSH2_FX_NOT_A_DIRECTORY:
            return "Not a directory";
        case LIBSSH2_FX_LINK_LOOP:
            return "Too many levels of symbolic links";
        default:
            return "SFTP status " + std::to_string(code);
    }
}

unsigned int len32(const std::string& s) {
    return static_cast<unsigned int>(s.size());
}

// Closes the handle on every path; close() reports what a deferred write error would.
class Handle {
public:
    explicit Handle(LIBSSH2_SFTP_HANDLE* h) : m_h(h) {}
    Handle(const Handle&) = delete;
    Handle& operator=(const Handle&) = delete;
    ~Handle() {
        if (m_h != nullptr) {
            libssh2_sftp_close_handle(m_h);
        }
    }
    LIBSSH2_SFTP_HANDLE* get() const { return m_h; }
    int close() { return libssh2_sftp_close_handle(std::exchange(m_h, nullptr)); }

private:
    LIBSSH2_SFTP_HANDLE* m_h;
};

FileInfo to_file_info(const LIBSSH2_SFTP_ATTRIBUTES& a) {
    FileInfo info;
    info.exists = true;
    if ((a.flags & LIBSSH2_SFTP_ATTR_PERMISSIONS) != 0) {
        const unsigned long type = a.permissions & LIBSSH2_SFTP_S_IFMT;
        info.is_dir = type == LIBSSH2_SFTP_S_IFDIR;
        info.is_symlink = type == LIBSSH2_SFTP_S_IFLNK;
        info.is_regular = type == LIBSSH2_SFTP_S_IFREG;
        info.mode = static_cast<mode_t>(a.permissions & 07777);
    }
    if ((a.flags & LIBSSH2_SFTP_ATTR_UIDGID) != 0) {
        info.uid = static_cast<uid_t>(a.uid);
        info.gid = static_cast<gid_t>(a.gid);
    }
    if ((a.flags & LIBSSH2_SFTP_ATTR_SIZE) != 0) {
        info.size = a.filesize;
    }
    if ((a.flags & LIBSSH2_SFTP_ATTR_ACMODTIME) != 0) {
        info.mtime = static_cast<std::int64_t>(a.mtime);
    }
    return info;
}

}  // namespace

core::Failure SshTransport::sftp_failure(const std::string& what, const std::string& path) {
    const std::string prefix = m_options.host_name + ": cannot " + what + " " + path + ": ";
    if (!m_session) {
        return fail(ErrorKind::Network, prefix + "not connected");
    }
    const int rc = m_session->last_errno();
    if (rc == LIBSSH2_ERROR_SFTP_PROTOCOL && m_session->sftp_if_open() != nullptr) {
        return fail(ErrorKind::Io,
                    prefix + fx_text(libssh2_sftp_last_error(m_session->sftp_if_open())));
    }
    std::string message = prefix + m_session->last_error();
    if (SshSession::is_connection_error(rc)) {
        // Mid-request failures leave the SFTP channel out of step: the next
        // call connects again. (Open handles still refer to this session.)
        m_session->abandon();
    }
    if (rc == LIBSSH2_ERROR_TIMEOUT && !check_deadline(m_options.host_name)) {
        // Cut off by the host's deadline, not by a slow answer alone: say which.
        return fail(ErrorKind::Timeout, message + " (out of time: " + deadline()->why + " passed)",
                    "the host stopped answering or answers too slowly; check it (load, "
                    "network, a hung file system), then deploy again");
    }
    return fail(rc == LIBSSH2_ERROR_TIMEOUT ? ErrorKind::Timeout : ErrorKind::Network,
                std::move(message), "check the connection to the host and its sshd");
}

core::Status SshTransport::open_sftp() {
    if (auto s = ensure_connected(); !s) {
        return s;
    }
    auto sftp = m_session->sftp();
    if (!sftp) {
        if (SshSession::is_connection_error(m_session->last_errno())) {
            m_session->abandon();
        }
        return sftp.failure();
    }
    return {};
}

core::Status SshTransport::write_file(const std::string& path, std::string_view content,
                                      mode_t mode) {
    // Like O_NOFOLLOW locally: never write key material through a symlink.
    auto existing = stat(path);
    if (!existing) {
        return existing.failure();
    }
    if (existing->is_symlink) {
        return fail(ErrorKind::Io, m_options.host_name + ": cannot write " + path +
                                       ": it is a symbolic link (refusing to follow it)");
    }
    return write_with(path, content, mode, LIBSSH2_FXF_TRUNC);
}

core::Status SshTransport::create_file(const std::string& path, std::string_view content,
                                       mode_t mode) {
    // FXF_EXCL: sftp-server opens with O_EXCL, which never follows a symlink.
    return write_with(path, content, mode, LIBSSH2_FXF_EXCL);
}

core::Status SshTransport::write_with(const std::string& path, std::string_view content,
                                      mode_t mode, unsigned long create_flag) {
    if (auto s = open_sftp(); !s) {
        return s.failure();
    }
    LIBSSH2_SFTP* sftp = m_session->sftp_if_open();
    // sftp-server reports ENOSPC and EROFS as a bare SSH_FX_FAILURE: ask the
    // file system what it was, so the operator reads "No space left on device".
    auto write_failure = [&](const std::string& what) -> core::Failure {
        const bool vague = m_session->last_errno() == LIBSSH2_ERROR_SFTP_PROTOCOL &&
                           libssh2_sftp_last_error(sftp) == LIBSSH2_FX_FAILURE;
        core::Failure failure = sftp_failure(what, path);
        const auto slash = path.find_last_of('/');
        const std::string dir = slash == std::string::npos ? "." : path.substr(0, slash + 1);
        LIBSSH2_SFTP_STATVFS st{};
        if (vague && libssh2_sftp_statvfs(sftp, dir.c_str(), dir.size(), &st) == 0) {
            const std::string prefix = m_options.host_name + ": cannot " + what + " " + path + ": ";
            if ((st.f_flag & LIBSSH2_SFTP_ST_RDONLY) != 0) {
                failure.error.message = prefix + "Read-only file system";
            } else if (st.f_bavail * st.f_frsize < content.size() + 65536) {
                failure.error.message = prefix + "No space left on device";
            }
        }
        return failure;
    };
    Handle file(libssh2_sftp_open_ex(sftp, path.c_str(), len32(path),
                                     LIBSSH2_FXF_WRITE | LIBSSH2_FXF_CREAT | create_flag,
                                     static_cast<long>(mode & 07777), LIBSSH2_SFTP_OPENFILE));
    if (file.get() == nullptr) {
        return write_failure("write");
    }
    // The server's umask narrowed the mode, and an existing file keeps its
    // old one: set it exactly before a byte of content is written.
    LIBSSH2_SFTP_ATTRIBUTES attrs{};
    attrs.flags = LIBSSH2_SFTP_ATTR_PERMISSIONS;
    attrs.permissions = mode & 07777;
    if (libssh2_sftp_fstat_ex(file.get(), &attrs, 1) != 0) {
        return sftp_failure("chmod", path);
    }
    std::size_t done = 0;
    while (done < content.size()) {
        if (auto s = ensure_connected(); !s) {  // the deadline, between chunks
            return s;
        }
        ssize_t n = libssh2_sftp_write(file.get(), content.data() + done, content.size() - done);
        if (n < 0) {
            return write_failure("write");
        }
        done += static_cast<std::size_t>(n);
    }
    if (libssh2_sftp_fsync(file.get()) != 0) {
        return write_failure("fsync");
    }
    if (file.close() != 0) {
        return write_failure("write");
    }
    return {};
}

core::Result<std::string> SshTransport::read_file(const std::string& path, std::size_t max_bytes) {
    if (auto s = open_sftp(); !s) {
        return s.failure();
    }
    LIBSSH2_SFTP* sftp = m_session->sftp_if_open();
    Handle file(libssh2_sftp_open_ex(sftp, path.c_str(), len32(path), LIBSSH2_FXF_READ, 0,
                                     LIBSSH2_SFTP_OPENFILE));
    if (file.get() == nullptr) {
        return sftp_failure("read", path);
    }
    std::string data;
    std::array<char, 32768> buf{};
    for (;;) {
        if (auto s = ensure_connected(); !s) {  // the deadline, between chunks
            return s.failure();
        }
        ssize_t n = libssh2_sftp_read(file.get(), buf.data(), buf.size());
        if (n < 0) {
            return sftp_failure("read", path);
        }
        if (n == 0) {
            break;
        }
        data.append(buf.data(), static_cast<std::size_t>(n));
        if (data.size() > max_bytes) {
            return fail(ErrorKind::Io, m_options.host_name + ": cannot read " + path +
                                           ": larger than " + std::to_string(max_bytes) + " bytes");
        }
    }
    return data;
}

core::Result<FileInfo> SshTransport::stat(const std::string& path) {
    if (auto s = open_sftp(); !s) {
        return s.failure();
    }
    LIBSSH2_SFTP* sftp = m_session->sftp_if_open();
    LIBSSH2_SFTP_ATTRIBUTES attrs{};
    if (libssh2_sftp_stat_ex(sftp, path.c_str(), len32(path), LIBSSH2_SFTP_LSTAT, &attrs) != 0) {
        if (m_session->last_errno() == LIBSSH2_ERROR_SFTP_PROTOCOL &&
            libssh2_sftp_last_error(sftp) == LIBSSH2_FX_NO_SUCH_FILE) {
            return FileInfo{};
        }
        return sftp_failure("stat", path);
    }
    return to_file_info(attrs);
}

// libssh2 1.10 misparses the status reply to SSH_FXP_SYMLINK and
// SSH_FXP_READLINK: it reports the request id as the SFTP error code (so only
// the very first request of a session "succeeds"). Successful READLINK
// replies (SSH_FXP_NAME) are parsed correctly; every status is ignored and
// the outcome is established with lstat instead.
core::Result<std::string> SshTransport::read_link(const std::string& path) {
    if (auto s = open_sftp(); !s) {
        return s.failure();
    }
    LIBSSH2_SFTP* sftp = m_session->sftp_if_open();
    std::array<char, 4097> buf{};
    int n = libssh2_sftp_symlink_ex(sftp, path.c_str(), len32(path), buf.data(),
                                    static_cast<unsigned int>(buf.size()), LIBSSH2_SFTP_READLINK);
    if (n >= 0) {
        return std::string(buf.data(), static_cast<std::size_t>(n));
    }
    if (m_session->last_errno() != LIBSSH2_ERROR_SFTP_PROTOCOL) {
        return sftp_failure("read link", path);
    }
    auto info = stat(path);
    if (!info) {
        return info.failure();
    }
    return fail(ErrorKind::Io, m_options.host_name + ": cannot read link " + path + ": " +
                                   (!info->exists       ? "No such file or directory"
                                    : !info->is_symlink ? "not a symbolic link"
                                                        : "refused by the SFTP server"));
}

core::Result<std::vector<std::string>> SshTransport::list_dir(const std::string& path) {
    auto entries = list_dir_info(path);
    if (!entries) {
        return entries.failure();
    }
    std::vector<std::string> names;
    names.reserve(entries->size());
    for (auto& [name, _] : *entries) {
        names.push_back(std::move(name));
    }
    return names;
}

core::Result<std::vector<std::pair<std::string, FileInfo>>> SshTransport::list_dir_info(
    const std::string& path) {
    if (auto s = open_sftp(); !s) {
        return s.failure();
    }
    LIBSSH2_SFTP* sftp = m_session->sftp_if_open();
    Handle dir(libssh2_sftp_open_ex(sftp, path.c_str(), len32(path), 0, 0, LIBSSH2_SFTP_OPENDIR));
    if (dir.get() == nullptr) {
        return sftp_failure("list", path);
    }
    std::vector<std::pair<std::string, FileInfo>> entries;
    std::array<char, 4096> buf{};
    for (;;) {
        LIBSSH2_SFTP_ATTRIBUTES attrs{};
        int n = libssh2_sftp_readdir_ex(dir.get(), buf.data(), buf.size(), nullptr, 0, &attrs);
        if (n < 0) {
            return sftp_failure("list", path);
        }
        if (n == 0) {
            break;
        }
        std::string name(buf.data(), static_cast<std::size_t>(n));
        if (name != "." && name != "..") {
            if (entries.size() >= kMaxDirEntries) {
                return too_many_entries(m_options.host_name, path);
            }
            // OpenSSH's sftp-server lstats each entry for readdir.
            entries.emplace_back(std::move(name), to_file_info(attrs));
        }
    }
    // Same order as the local transport.
    std::sort(entries.begin(), entries.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
    return entries;
}

core::Status SshTransport::make_dir(const std::string& path, mode_t mode) {
    if (auto s = open_sftp(); !s) {
        return s.failure();
    }
    LIBSSH2_SFTP* sftp = m_session->sftp_if_open();
    if (libssh2_sftp_mkdir_ex(sftp, path.c_str(), len32(path), static_cast<long>(mode & 07777)) ==
        0) {
        // mkdir applied the server's umask: set the mode the caller asked for.
        LIBSSH2_SFTP_ATTRIBUTES attrs{};
        attrs.flags = LIBSSH2_SFTP_ATTR_PERMISSIONS;
        attrs.permissions = mode & 07777;
        if (libssh2_sftp_stat_ex(sftp, path.c_str(), len32(path), LIBSSH2_SFTP_SETSTAT, &attrs) !=
            0) {
            return sftp_failure("chmod", path);
        }
        return {};
    }
    if (m_session->last_errno() != LIBSSH2_ERROR_SFTP_PROTOCOL) {
        return sftp_failure("create directory", path);
    }
    // SFTP v3 has no "exists" status: look.
    const unsigned long code = libssh2_sftp_last_error(sftp);
    auto info = stat(path);
    if (info && info->is_dir) {
        return {};
    }
    if (info && info->exists) {
        return fail(ErrorKind::Io, m_options.host_name + ": cannot create directory " + path +
                                       ": it exists and is not a directory");
    }
    return fail(ErrorKind::Io,
                m_options.host_name + ": cannot create directory " + path + ": " + fx_text(code));
}

core::Status SshTransport::symlink(const std::string& target, const std::string& link_path) {
    const std::string what = link_path + " -> " + target;
    // symlink(2) refuses an existing path; the SFTP reply cannot say so (see read_link).
    auto before = stat(link_path);
    if (!before) {
        return before.failure();
    }
    if (before->exists) {
        return fail(ErrorKind::Io,
                    m_options.host_name + ": cannot create symlink " + what + ": File exists");
    }
    if (auto s = open_sftp(); !s) {
        return s;
    }
    LIBSSH2_SFTP* sftp = m_session->sftp_if_open();
    // SSH_FXP_SYMLINK is specified as (linkpath, targetpath), but OpenSSH's
    // sftp-server (and internal-sftp) read it as (targetpath, linkpath) and
    // libssh2 sends its arguments in order: the target goes first.
    std::string link_copy = link_path;  // libssh2 takes a non-const buffer
    if (libssh2_sftp_symlink_ex(sftp, target.c_str(), len32(target), link_copy.data(),
                                len32(link_copy), LIBSSH2_SFTP_SYMLINK) != 0 &&
        m_session->last_errno() != LIBSSH2_ERROR_SFTP_PROTOCOL) {
        return sftp_failure("create symlink", what);
    }
    auto after = stat(link_path);
    if (!after) {
        return after.failure();
    }
    if (!after->is_symlink) {
        return fail(ErrorKind::Io, m_options.host_name + ": cannot create symlink " + what +
                                       ": refused by the SFTP server (does the directory exist, "
                                       "is it writable, is the file system full or read-only?)");
    }
    auto points_to = read_link(link_path);
    if (!points_to) {
        return points_to.failure();
    }
    if (*points_to != target) {
        return fail(ErrorKind::Io, m_options.host_name + ": cannot create symlink " + what +
                                       ": it points to " + *points_to +
                                       " (raced with another writer?)");
    }
    return {};
}

core::Status SshTransport::remove(const std::string& path) {
    if (auto s = open_sftp(); !s) {
        return s.failure();
    }
    LIBSSH2_SFTP* sftp = m_session->sftp_if_open();
    if (libssh2_sftp_unlink_ex(sftp, path.c_str(), len32(path)) != 0) {
        if (m_session->last_errno() == LIBSSH2_ERROR_SFTP_PROTOCOL &&
            libssh2_sftp_last_error(sftp) == LIBSSH2_FX_NO_SUCH_FILE) {
            return {};
        }
        return sftp_failure("remove", path);
    }
    return {};
}

core::Result<SpaceInfo> SshTransport::space(const std::string& path) {
    if (auto s = open_sftp(); !s) {
        return s.failure();
    }
    LIBSSH2_SFTP* sftp = m_session->sftp_if_open();
    LIBSSH2_SFTP_STATVFS st{};
    if (libssh2_sftp_statvfs(sftp, path.c_str(), path.size(), &st) != 0) {
        return sftp_failure("check free space of", path);
    }
    SpaceInfo info;
    info.available_bytes = st.f_bavail * st.f_frsize;
    info.read_only = (st.f_flag & LIBSSH2_SFTP_ST_RDONLY) != 0;
    return info;
}

}  // namespace certfleet::distribute
