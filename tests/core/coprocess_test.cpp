// LineCoprocess: one child for many request/answer lines, a deadline per
// exchange (the child is killed at it), a child that dies mid-conversation,
// and its stderr kept for the error message.
#include "core/coprocess.hpp"

#include <catch2/catch.hpp>

using namespace certfleet;
using std::chrono::milliseconds;

namespace {

std::unique_ptr<core::LineCoprocess> start(const std::string& script) {
    core::ProcessOptions options;
    options.argv = {"/bin/sh", "-c", script};
    options.kill_grace = milliseconds(500);
    auto child = core::LineCoprocess::start(options);
    REQUIRE(child);
    return std::move(*child);
}

}  // namespace

TEST_CASE("coprocess: many exchanges with one child", "[process][coprocess]") {
    auto child = start("echo started >&2; while read -r line; do echo \"got $line $$\"; done");
    auto first = child->exchange("one", milliseconds(2000));
    REQUIRE(first);
    auto second = child->exchange("two", milliseconds(2000));
    REQUIRE(second);
    CHECK(first->starts_with("got one "));
    CHECK(second->starts_with("got two "));
    CHECK(first->substr(8) == second->substr(8));  // the same process ($$) answered both
    CHECK(child->alive());
    CHECK(child->stderr_tail() == "started\n");
}

TEST_CASE("coprocess: no answer in time kills the child, bounded", "[process][coprocess]") {
    auto child = start("read -r line; sleep 30");
    const auto begin = std::chrono::steady_clock::now();
    auto answer = child->exchange("hello", milliseconds(300));
    REQUIRE_FALSE(answer);
    CHECK(answer.error().kind == core::ErrorKind::Timeout);
    CHECK(std::chrono::steady_clock::now() - begin < std::chrono::seconds(3));
    CHECK_FALSE(child->alive());
    CHECK_FALSE(child->exchange("again", milliseconds(300)));
}

TEST_CASE("coprocess: a child that exits without answering is reported with its status",
          "[process][coprocess]") {
    auto child = start("read -r line; echo 'it broke' >&2; exit 3");
    auto answer = child->exchange("hello", milliseconds(2000));
    REQUIRE_FALSE(answer);
    CHECK(answer.error().message.find("exit code 3") != std::string::npos);
    CHECK(child->stderr_tail().find("it broke") != std::string::npos);
    CHECK_FALSE(child->alive());
}

TEST_CASE("coprocess: a missing program fails to start", "[process][coprocess]") {
    core::ProcessOptions options;
    options.argv = {"/nonexistent/certfleet-test-program"};
    CHECK_FALSE(core::LineCoprocess::start(options));
}
