// The state lock: one certfleet run at a time may change the manager's state.
// flock(2) is released by the kernel when the process dies, so a crashed run
// never leaves a stale lock behind (unlike a PID file checked by existence).
#pragma once

#include <string>
#include <utility>

#include "core/result.hpp"

namespace certfleet::core {

class FileLock {
public:
    // Non-blocking. On contention: ErrorKind::Busy, "another certfleet run
    // (pid N) holds the state lock PATH; try later" (the CLI exits 75).
    // Other failures (cannot create the lock file) are ErrorKind::Io.
    static Result<FileLock> try_acquire(const std::string& path);

    FileLock(FileLock&& other) noexcept;
    FileLock& operator=(FileLock&& other) noexcept;
    FileLock(const FileLock&) = delete;
    FileLock& operator=(const FileLock&) = delete;
    ~FileLock();

    const std::string& path() const { return m_path; }
    bool held() const { return m_fd >= 0; }
    void release();

private:
    FileLock(int fd, std::string path) : m_fd(fd), m_path(std::move(path)) {}
    int m_fd = -1;
    std::string m_path;
};

}  // namespace certfleet::core
