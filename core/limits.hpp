// Process resource limits the fleet commands depend on.
#pragma once

#include <cstddef>

namespace certfleet::core {

// Raises the soft RLIMIT_NOFILE to `wanted` file descriptors when it is lower,
// never above the hard limit (an unprivileged process may do that). Returns
// the soft limit in force afterwards. Many systems start processes with a
// soft limit of 1024 for the sake of select(2); certfleet and its libraries
// (libssh2, libcurl, ldns, SQLite) only use poll(2), so more is safe.
std::size_t raise_open_files_limit(std::size_t wanted);

}  // namespace certfleet::core
