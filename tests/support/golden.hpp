// Golden-output checks: a rendering is compared with tests/data/golden/NAME
// byte for byte. After an intended change of output, regenerate with
//   CERTFLEET_UPDATE_GOLDEN=1 build/tests/certfleet_unit_tests "[golden]"
// and review `git diff tests/data/golden` like any other change.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <catch2/catch.hpp>

inline void check_golden(const std::string& name, const std::string& actual) {
    const auto path = std::filesystem::path(CERTFLEET_TEST_DATA) / "golden" / name;
    if (std::getenv("CERTFLEET_UPDATE_GOLDEN")) {
        std::ofstream(path, std::ios::binary) << actual;
        return;
    }
    std::ifstream in(path, std::ios::binary);
    INFO("golden file " << path.string()
                        << " (regenerate with CERTFLEET_UPDATE_GOLDEN=1 and review the diff)");
    REQUIRE(in.good());
    std::ostringstream expected;
    expected << in.rdbuf();
    CHECK(actual == expected.str());
}
