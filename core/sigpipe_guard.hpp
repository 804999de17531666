// Writing to a pipe or socket whose reader is gone raises SIGPIPE, which would
// end the whole manager. SigpipeGuard blocks it on the calling thread for its
// lifetime and swallows one raised meanwhile (not one already pending before).
// Used around subprocess pipes and TLS probes.
#pragma once

#include <ctime>
#include <pthread.h>
#include <signal.h>

namespace certfleet::core {

class SigpipeGuard {
public:
    SigpipeGuard() {
        sigemptyset(&m_set);
        sigaddset(&m_set, SIGPIPE);
        sigset_t pending;
        sigpending(&pending);
        m_was_pending = sigismember(&pending, SIGPIPE) == 1;
        pthread_sigmask(SIG_BLOCK, &m_set, &m_old);
    }
    SigpipeGuard(const SigpipeGuard&) = delete;
    SigpipeGuard& operator=(const SigpipeGuard&) = delete;
    ~SigpipeGuard() {
        if (!m_was_pending) {
            sigset_t pending;
            sigpending(&pending);
            if (sigismember(&pending, SIGPIPE) == 1) {
                const timespec zero{0, 0};
                sigtimedwait(&m_set, nullptr, &zero);
            }
        }
        pthread_sigmask(SIG_SETMASK, &m_old, nullptr);
    }

private:
    sigset_t m_set{};
    sigset_t m_old{};
    bool m_was_pending = false;
};

}  // namespace certfleet::core
