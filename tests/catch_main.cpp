// The test runner of both test programs (tests/CMakeLists.txt: compiled once).
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
