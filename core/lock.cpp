#include "core/lock.hpp"

#include <cerrno>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <system_error>
#include <unistd.h>
#include <utility>

namespace certfleet::core {

namespace {

std::string read_holder_pid(int fd) {
    char buf[32] = {};
    ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
    std::string pid;
    for (ssize_t i = 0; i < n && buf[i] >= '0' && buf[i] <= '9'; ++i)
        pid += buf[i];
    return pid.empty() ? "unknown" : pid;
}

}  // namespace

Result<FileLock> FileLock::try_acquire(const std::string& path) {
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        return fail(ErrorKind::Io, "cannot open the state lock " + path + ": " +
                                       std::generic_category().message(errno));
    }
    int rc;
    do {
        rc = ::flock(fd, LOCK_EX | LOCK_NB);
    } while (rc != 0 && errno == EINTR);
    if (rc != 0) {
        int err = errno;
        std::string pid = err == EWOULDBLOCK ? read_holder_pid(fd) : "";
        ::close(fd);
        if (err != EWOULDBLOCK) {
            return fail(ErrorKind::Io,
                        "cannot lock " + path + ": " + std::generic_category().message(err));
        }
        return fail(ErrorKind::Busy, "another certfleet run (pid " + pid +
                                         ") holds the state lock " + path + "; try later");
    }
    // The PID is only for the contention message; failing to record it is harmless.
    ::fchmod(fd, 0600);
    std::string pid = std::to_string(::getpid()) + "\n";
    if (::ftruncate(fd, 0) == 0) {
        [[maybe_unused]] ssize_t n = ::pwrite(fd, pid.data(), pid.size(), 0);
    }
    return FileLock(fd, path);
}

FileLock::FileLock(FileLock&& other) noexcept
    : m_fd(std::exchange(other.m_fd, -1)), m_path(std::move(other.m_path)) {}

FileLock& FileLock::operator=(FileLock&& other) noexcept {
    if (this != &other) {
        release();
        m_fd = std::exchange(other.m_fd, -1);
        m_path = std::move(other.m_path);
    }
    return *this;
}

FileLock::~FileLock() {
    release();
}

void FileLock::release() {
    if (m_fd < 0)
        return;
    // Closing drops the flock; the file stays so its inode (and lock) is stable.
    ::close(m_fd);
    m_fd = -1;
}

}  // namespace certfleet::core
