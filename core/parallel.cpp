#include "core/parallel.hpp"

#include <algorithm>
#include <exception>
#include <system_error>
#include <thread>
#include <vector>

#include <spdlog/spdlog.h>

namespace certfleet::core {

namespace {

std::string exception_text(const std::exception_ptr& error) {
    try {
        std::rethrow_exception(error);
    } catch (const std::exception& e) {
        return e.what();
    } catch (...) {
        return "unknown exception";
    }
}

void run_item(std::size_t i, const std::function<void(std::size_t)>& fn,
              const std::function<void(std::size_t, const std::string&)>& on_exception) {
    std::exception_ptr error;
    try {
        fn(i);
        return;
    } catch (...) {
        error = std::current_exception();
    }
    const std::string what = exception_text(error);
    try {
        on_exception(i, what);
    } catch (...) {
        spdlog::error("item {}: {} (and its error could not be recorded: {})", i, what,
                      exception_text(std::current_exception()));
    }
}

}  // namespace

std::size_t parallel_for(std::size_t n, int max_workers, const std::function<void(std::size_t)>& fn,
                         const std::function<void(std::size_t, const std::string&)>& on_exception,
                         const std::atomic<bool>* cancel) {
    std::atomic<std::size_t> next{0};
    auto worker = [&] {
        while (!(cancel != nullptr && cancel->load())) {
            const std::size_t i = next++;
            if (i >= n)
                return;
            run_item(i, fn, on_exception);
        }
    };
    const std::size_t threads = std::min(n, static_cast<std::size_t>(std::max(1, max_workers)));
    std::vector<std::thread> pool;
    for (std::size_t t = 1; t < threads; ++t) {
        try {
            pool.emplace_back(worker);
        } catch (const std::system_error& e) {
            // Out of threads: fewer workers still finish every item.
            spdlog::warn("started {} of {} worker threads: {}", t, threads, e.what());
            break;
        }
    }
    if (n > 0)
        worker();
    for (auto& t : pool)
        t.join();
    return std::min(next.load(), n);
}

}  // namespace certfleet::core
