// Resolver::wait_for_propagation: the DNS-01 precheck (docs/inventory.md, dns).
#include <algorithm>
#include <map>
#include <set>
#include <thread>

#include <spdlog/spdlog.h>

#include "acme/dns/answers.hpp"
#include "acme/dns/resolver.hpp"
#include "core/parallel.hpp"
#include "core/time.hpp"

namespace certfleet::acme::dns {
namespace {

using detail::SteadyClock;
using std::chrono::milliseconds;

constexpr int kMaxParallel = 32;  // queries in flight at once
constexpr std::size_t kMaxListed = 10;

struct Check {
    ServerAddress server;
    std::string fqdn;
    std::set<std::string> expected;
    std::string state = "not checked yet";  // why it is not visible yet
};

// "" when every expected value is there, else a short reason.
std::string check_once(const Check& check, milliseconds timeout, const ResolverConfig& config) {
    if (config.check_with)
        return config.check_with(check.server.label(), check.fqdn, check.expected, timeout);
    detail::ExchangeOptions options;
    options.recursion_desired = false;
    options.timeout = timeout;
    options.attempts = 1;  // the next poll is the retry
    auto reply = detail::query(check.server, check.fqdn, LDNS_RR_TYPE_TXT, options);
    if (!reply) {
        // Protocol: garbage, or only replies to another query (wrong id or question).
        return reply.error().kind == core::ErrorKind::Protocol ? "unusable reply" : "no answer";
    }
    return detail::txt_state(reply->packet.get(), check.fqdn, check.expected);
}

void run_round(std::vector<Check>& pending, SteadyClock::time_point deadline,
               const ResolverConfig& config) {
    const auto left = std::chrono::duration_cast<milliseconds>(deadline - SteadyClock::now());
    const auto timeout = std::clamp(left, milliseconds(100), config.query_timeout);
    // The deadline bounds each query (`timeout`), not the fan-out: a round
    // ends when its last query has answered or timed out.
    core::parallel_for(
        pending.size(), kMaxParallel,
        [&](std::size_t i) { pending[i].state = check_once(pending[i], timeout, config); },
        // Not visible as far as we know; the next round asks again.
        [&](std::size_t i, const std::string& what) {
            pending[i].state = "check failed: " + what;
        });
    std::erase_if(pending, [](const Check& c) { return c.state.empty(); });
}

bool cancelled(const std::atomic<bool>* cancel) {
    return cancel != nullptr && cancel->load();
}

// Sleeps up to `d`, waking early for cancellation.
void nap(milliseconds d, const std::atomic<bool>* cancel) {
    const auto until = SteadyClock::now() + d;
    while (!cancelled(cancel)) {
        const auto now = SteadyClock::now();
        if (now >= until) {
            return;
        }
        std::this_thread::sleep_for(std::min<SteadyClock::duration>(until - now, milliseconds(50)));
    }
}

std::string lag_report(const std::vector<Check>& pending) {
    std::string out;
    for (std::size_t i = 0; i < pending.size() && i < kMaxListed; ++i) {
        if (i > 0) {
            out += "; ";
        }
        out += pending[i].fqdn + " not yet at " + pending[i].server.label() + " (" +
               pending[i].state + ")";
    }
    if (pending.size() > kMaxListed) {
        out += "; and " + std::to_string(pending.size() - kMaxListed) + " more";
    }
    return out;
}

std::string elapsed_text(SteadyClock::duration d) {
    const auto ms = std::chrono::duration_cast<milliseconds>(d).count();
    return ms < 10000 ? std::to_string(ms) + " ms"
                      : core::format_duration(core::Seconds((ms + 500) / 1000));
}

}  // namespace

core::Status Resolver::wait_for_propagation(const std::vector<ChallengeRecord>& records,
                                            const std::atomic<bool>* cancel) const {
    const auto start = SteadyClock::now();
    const auto deadline = start + m_config.propagation_timeout;

    std::map<std::string, std::set<std::string>> expected;  // name → values
    for (const auto& r : records) {
        expected[normalize_fqdn(r.fqdn)].insert(r.value);
    }
    std::vector<Check> pending;
    std::map<std::string, std::vector<ServerAddress>> servers_of_zone;
    for (const auto& [fqdn, values] : expected) {
        std::vector<ServerAddress> servers = m_servers;
        if (!m_explicit) {
            auto zone = find_zone(fqdn);
            if (!zone) {
                return zone.failure();
            }
            auto it = servers_of_zone.find(*zone);
            if (it == servers_of_zone.end()) {
                auto found = authoritative_servers(*zone);
                if (!found) {
                    return found.failure();
                }
                it = servers_of_zone.emplace(*zone, std::move(*found)).first;
            }
            servers = it->second;
        }
        for (const auto& server : servers) {
            pending.push_back(Check{server, fqdn, values});
        }
    }
    const std::size_t total = pending.size();

    // A local primary usually answers at once, so re-poll quickly at first
    // and back off towards poll_interval.
    milliseconds delay(100);
    for (int round = 1;; ++round) {
        if (cancelled(cancel)) {
            return core::fail(core::ErrorKind::Cancelled, "propagation check cancelled");
        }
        run_round(pending, deadline, m_config);
        if (pending.empty()) {
            spdlog::info("DNS-01 records visible at all {} server/name pair(s) after {}", total,
                         elapsed_text(SteadyClock::now() - start));
            return {};
        }
        spdlog::debug("propagation round {}: {}", round, lag_report(pending));
        const auto now = SteadyClock::now();
        if (now >= deadline) {
            return core::fail(
                core::ErrorKind::Timeout,
                "DNS records not visible at every authoritative server: " + lag_report(pending) +
                    " after " + elapsed_text(now - start),
                "check that the provider updated the zone's primary and that every listed "
                "server serves the zone (secondaries: NOTIFY and zone transfers); raise "
                "propagation_timeout for slow zones, or set dns.nameservers to the servers "
                "that matter");
        }
        const auto left = std::chrono::duration_cast<milliseconds>(deadline - now);
        nap(std::min({delay, m_config.poll_interval, left}), cancel);
        delay = std::min(delay * 2, m_config.poll_interval);
    }
}

}  // namespace certfleet::acme::dns
