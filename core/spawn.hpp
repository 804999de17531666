// Starting a child process (internal to core: run_process and LineCoprocess
// share it): pipes, the environment it gets, its own process group and a
// clean signal state.
#pragma once

#include <chrono>
#include <sys/types.h>

#include "core/fd.hpp"
#include "core/process.hpp"
#include "core/result.hpp"

namespace certfleet::core::detail {

struct Pipe {
    UniqueFd read_end;
    UniqueFd write_end;
};

// O_CLOEXEC on both ends so concurrent spawns in other threads never inherit
// them; posix_spawn's dup2 onto 0/1/2 clears the flag for the child's copy.
bool make_pipe(Pipe& p);
void set_nonblocking(int fd);

struct Child {
    pid_t pid = -1;
    std::chrono::steady_clock::time_point started;
};

// stdin from `in` when options.stdin_data is set (else /dev/null), stdout
// and stderr into `out` and `err`; own process group, default signals.
Result<Child> spawn_child(const ProcessOptions& options, const Pipe& in, const Pipe& out,
                          const Pipe& err);

}  // namespace certfleet::core::detail
