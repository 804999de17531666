// core::parallel_for: the bound, every index once, exceptions as item errors,
// cancellation.
#include "core/parallel.hpp"

#include <atomic>
#include <chrono>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

using certfleet::core::parallel_for;

namespace {

// Catch2's assertions are not thread-safe: workers only count, the test checks.
std::atomic<int> unexpected_exceptions{0};
auto no_exception = [](std::size_t, const std::string&) { ++unexpected_exceptions; };

}  // namespace

TEST_CASE("parallel_for: never more than max_workers at once, every index once", "[parallel]") {
    constexpr std::size_t kItems = 64;
    constexpr int kWorkers = 4;
    std::vector<std::atomic<int>> runs(kItems);
    std::atomic<int> running{0}, most{0};
    auto ran = parallel_for(
        kItems, kWorkers,
        [&](std::size_t i) {
            const int now = ++running;
            for (int seen = most.load(); now > seen && !most.compare_exchange_weak(seen, now);) {
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(2));
            ++runs[i];
            --running;
        },
        no_exception);
    CHECK(ran == kItems);
    CHECK(most.load() <= kWorkers);
    CHECK(most.load() > 1);  // it does run in parallel
    for (std::size_t i = 0; i < kItems; ++i) {
        INFO("index " << i);
        CHECK(runs[i].load() == 1);
    }
    CHECK(unexpected_exceptions.load() == 0);
}

TEST_CASE("parallel_for: an exception becomes that item's error, the others still run",
          "[parallel]") {
    std::vector<std::string> errors(10);
    std::vector<int> done(10, 0);
    auto ran = parallel_for(
        10, 3,
        [&](std::size_t i) {
            if (i == 2)
                throw std::runtime_error("item two broke");
            if (i == 7)
                throw 42;  // not even a std::exception
            done[i] = 1;
        },
        [&](std::size_t i, const std::string& what) { errors[i] = what; });
    CHECK(ran == 10);
    CHECK(errors[2] == "item two broke");
    CHECK(errors[7] == "unknown exception");
    for (std::size_t i : {0, 1, 3, 4, 5, 6, 8, 9}) {
        INFO("index " << i);
        CHECK(done[i] == 1);
        CHECK(errors[i].empty());
    }
}

TEST_CASE("parallel_for: an exception from the handler does not end the process", "[parallel]") {
    std::atomic<int> done{0};
    parallel_for(
        4, 2,
        [&](std::size_t i) {
            if (i == 0)
                throw std::runtime_error("first");
            ++done;
        },
        [](std::size_t, const std::string&) { throw std::logic_error("handler broke too"); });
    CHECK(done.load() == 3);
}

TEST_CASE("parallel_for: cancellation stops taking items; the rest never start", "[parallel]") {
    std::atomic<bool> cancel{false};
    std::vector<std::atomic<int>> runs(100);
    auto ran = parallel_for(
        100, 2,
        [&](std::size_t i) {
            ++runs[i];
            if (i == 5)
                cancel = true;
        },
        no_exception, &cancel);
    CHECK(ran >= 6);
    CHECK(ran < 100);
    for (std::size_t i = 0; i < 100; ++i) {
        INFO("index " << i);
        CHECK(runs[i].load() == (i < ran ? 1 : 0));
    }

    // Cancelled before the start: nothing runs.
    std::atomic<int> any{0};
    CHECK(parallel_for(
              5, 3, [&](std::size_t) { ++any; }, no_exception, &cancel) == 0);
    CHECK(any.load() == 0);
}

TEST_CASE("parallel_for: no items, and more workers than items", "[parallel]") {
    int calls = 0;
    CHECK(parallel_for(
              0, 8, [&](std::size_t) { ++calls; }, no_exception) == 0);
    CHECK(calls == 0);

    std::mutex mutex;
    std::set<std::thread::id> threads;
    std::vector<int> runs(3, 0);
    CHECK(parallel_for(
              3, 64,
              [&](std::size_t i) {
                  std::this_thread::sleep_for(std::chrono::milliseconds(5));
                  std::lock_guard lock(mutex);
                  threads.insert(std::this_thread::get_id());
                  ++runs[i];
              },
              no_exception) == 3);
    CHECK(runs == std::vector<int>{1, 1, 1});
    CHECK(threads.size() <= 3);

    // max_workers below 1 means 1: the caller's thread alone.
    threads.clear();
    parallel_for(
        4, 0,
        [&](std::size_t) {
            std::lock_guard lock(mutex);
            threads.insert(std::this_thread::get_id());
        },
        no_exception);
    CHECK(threads == std::set<std::thread::id>{std::this_thread::get_id()});
}
