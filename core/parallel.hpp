// One bounded parallel-for for every fan-out (issuance workers, rollout
// waves, TLS probes, per-host audit and status, DNS propagation checks), so
// the bound, the work distribution and the exception policy live in one place.
#pragma once

#include <atomic>
#include <cstddef>
#include <functional>
#include <string>

namespace certfleet::core {

// Runs `fn(i)` for i in [0, n) on at most `max_workers` threads (the calling
// thread is one of them; values below 1 mean 1). Workers take the next index
// from a shared counter, so a slow item never holds back the others. Returns
// when every item taken has finished.
//
// Exceptions: one thrown by `fn(i)` never reaches std::terminate; it is
// handed to `on_exception(i, what)` on the same worker, right after item i
// failed, and the other items still run. A handler rather than a returned
// vector of messages, because every call site already holds item i's result
// slot (an outcome, a probe, a host failure) and only has to fill it in: the
// conversion is one lambda next to the work instead of a second loop after
// it, and a call site that reports progress per item (audit) reports a
// failed item as soon as it fails. Like `fn`, the handler only touches item
// i's own data unless it locks. An exception from the handler itself is
// dropped (logged): it must not end the process either.
//
// Cancellation: when `cancel` is set and becomes true, no further item is
// taken (items already running finish). Items are taken in index order, so
// the return value k says that exactly [0, k) ran and [k, n) never started;
// without cancellation it is n.
std::size_t parallel_for(std::size_t n, int max_workers, const std::function<void(std::size_t)>& fn,
                         const std::function<void(std::size_t, const std::string&)>& on_exception,
                         const std::atomic<bool>* cancel = nullptr);

}  // namespace certfleet::core
