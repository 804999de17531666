// core::raise_open_files_limit: the soft RLIMIT_NOFILE goes up to what a
// deployment's --concurrency needs, never past the hard limit, never down.
#include "core/limits.hpp"

#include <sys/resource.h>

#include <catch2/catch.hpp>

using certfleet::core::raise_open_files_limit;

TEST_CASE("the soft descriptor limit is raised up to the hard limit, never lowered", "[core]") {
    rlimit saved{};
    REQUIRE(::getrlimit(RLIMIT_NOFILE, &saved) == 0);
    if (saved.rlim_max != RLIM_INFINITY && saved.rlim_max < 512) {
        WARN("hard descriptor limit below 512: nothing to raise");
        return;
    }
    rlimit low = saved;
    low.rlim_cur = 256;
    REQUIRE(::setrlimit(RLIMIT_NOFILE, &low) == 0);

    CHECK(raise_open_files_limit(100) == 256);  // enough already: unchanged
    CHECK(raise_open_files_limit(400) == 400);
    rlimit now{};
    REQUIRE(::getrlimit(RLIMIT_NOFILE, &now) == 0);
    CHECK(now.rlim_cur == 400);
    if (saved.rlim_max != RLIM_INFINITY) {
        CHECK(raise_open_files_limit(saved.rlim_max + 1000) == saved.rlim_max);
    }
    REQUIRE(::setrlimit(RLIMIT_NOFILE, &saved) == 0);
}
