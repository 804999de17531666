// The one owner of a file descriptor: closes it when it goes out of scope,
// so every early return on an error path closes it too. Move-only.
#pragma once

#include <unistd.h>
#include <utility>

namespace certfleet::core {

class UniqueFd {
public:
    UniqueFd() = default;
    explicit UniqueFd(int fd) : m_fd(fd) {}
    UniqueFd(const UniqueFd&) = delete;
    UniqueFd& operator=(const UniqueFd&) = delete;
    UniqueFd(UniqueFd&& other) noexcept : m_fd(other.release()) {}
    UniqueFd& operator=(UniqueFd&& other) noexcept {
        if (this != &other)
            reset(other.release());
        return *this;
    }
    ~UniqueFd() { reset(); }

    int get() const { return m_fd; }
    bool valid() const { return m_fd >= 0; }

    // Closes the descriptor held (if any) and takes `fd` instead.
    void reset(int fd = -1) {
        if (m_fd >= 0)
            ::close(m_fd);
        m_fd = fd;
    }
    // Gives the descriptor up without closing it.
    int release() { return std::exchange(m_fd, -1); }
    // Closes now and returns close(2)'s result: it can report a deferred
    // write error (NFS, quota) that a file written for keeps must surface.
    int close() { return m_fd >= 0 ? ::close(release()) : 0; }

private:
    int m_fd = -1;
};

}  // namespace certfleet::core
