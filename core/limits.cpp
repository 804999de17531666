#include "core/limits.hpp"

#include <algorithm>
#include <sys/resource.h>

namespace certfleet::core {

std::size_t raise_open_files_limit(std::size_t wanted) {
    rlimit limit{};
    if (::getrlimit(RLIMIT_NOFILE, &limit) != 0)
        return wanted;  // cannot tell: let the caller try
    if (limit.rlim_cur == RLIM_INFINITY)
        return wanted;
    if (limit.rlim_cur >= wanted)
        return static_cast<std::size_t>(limit.rlim_cur);
    rlimit raised = limit;
    raised.rlim_cur = limit.rlim_max == RLIM_INFINITY
                          ? static_cast<rlim_t>(wanted)
                          : std::min(limit.rlim_max, static_cast<rlim_t>(wanted));
    if (::setrlimit(RLIMIT_NOFILE, &raised) == 0)
        return static_cast<std::size_t>(raised.rlim_cur);
    return static_cast<std::size_t>(limit.rlim_cur);
}

}  // namespace certfleet::core
