#include "distribute/rollout.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <mutex>
#include <set>
#include <thread>

namespace certfleet::distribute {

namespace {

size_t batch_size(const std::string& batch, size_t group_size) {
    if (batch.empty())
        return std::max<size_t>(group_size, 1);
    try {
        if (batch.back() == '%') {
            double pct = std::stod(batch.substr(0, batch.size() - 1));
            auto n = static_cast<size_t>(std::ceil(static_cast<double>(group_size) * pct / 100.0));
            return std::max<size_t>(n, 1);
        }
        long n = std::stol(batch);
        return n > 0 ? static_cast<size_t>(n) : 1;
    } catch (const std::exception&) {
        return std::max<size_t>(group_size, 1);  // validated at load time; be safe anyway
    }
}

// Runs `hosts` with at most `concurrency` threads; fills `results`.
void run_wave(const std::vector<std::string>& hosts, int concurrency,
              const std::function<bool(const std::string&)>& deploy,
              std::map<std::string, HostRun>& results, std::mutex& results_mutex) {
    std::atomic<size_t> next{0};
    auto worker = [&] {
        for (size_t i = next++; i < hosts.size(); i = next++) {
            bool ok = false;
            try {
                ok = deploy(hosts[i]);
            } catch (const std::exception&) {
                ok = false;  // a bug in one host's task must not take the fleet down
            }
            std::lock_guard lock(results_mutex);
            results[hosts[i]] = ok ? HostRun::Succeeded : HostRun::Failed;
        }
    };
    size_t threads = std::min<size_t>(hosts.size(), static_cast<size_t>(std::max(1, concurrency)));
    std::vector<std::thread> pool;
    for (size_t t = 1; t < threads; ++t)
        pool.emplace_back(worker);
    worker();
    for (auto& t : pool)
        t.join();
}

}  // namespace

GroupRollout plan_group(const std::string& name, const std::vector<std::string>& hosts,
                        const RolloutPolicy& policy) {
    GroupRollout g{name, policy, {}};
    std::vector<std::string> unique;
    std::set<std::string> seen;
    for (const auto& h : hosts)
        if (seen.insert(h).second)
            unique.push_back(h);
    size_t pos = 0;
    if (policy.canary > 0 && !unique.empty()) {
        size_t n = std::min(unique.size(), static_cast<size_t>(policy.canary));
        g.waves.emplace_back(unique.begin(), unique.begin() + static_cast<long>(n));
        pos = n;
    }
    size_t size = batch_size(policy.batch, unique.size());
    while (pos < unique.size()) {
        size_t n = std::min(size, unique.size() - pos);
        g.waves.emplace_back(unique.begin() + static_cast<long>(pos),
                             unique.begin() + static_cast<long>(pos + n));
        pos += n;
    }
    return g;
}

std::map<std::string, HostRun> execute_rollout(
    const std::vector<GroupRollout>& groups, int concurrency,
    const std::function<bool(const std::string&)>& deploy) {
    std::map<std::string, HostRun> results;
    std::mutex results_mutex;
    std::set<std::string> claimed;  // a host in several groups is deployed once
    std::vector<std::vector<std::vector<std::string>>> waves(groups.size());
    size_t max_waves = 0;
    for (size_t g = 0; g < groups.size(); ++g) {
        for (const auto& wave : groups[g].waves) {
            std::vector<std::string> mine;
            for (const auto& h : wave)
                if (claimed.insert(h).second)
                    mine.push_back(h);
            waves[g].push_back(std::move(mine));
        }
        max_waves = std::max(max_waves, waves[g].size());
    }
    std::vector<int> failures(groups.size(), 0);
    std::vector<bool> stopped(groups.size(), false);
    for (size_t k = 0; k < max_waves; ++k) {
        std::vector<std::string> batch;
        for (size_t g = 0; g < groups.size(); ++g)
            if (!stopped[g] && k < waves[g].size())
                batch.insert(batch.end(), waves[g][k].begin(), waves[g][k].end());
        run_wave(batch, concurrency, deploy, results, results_mutex);
        for (size_t g = 0; g < groups.size(); ++g) {
            if (stopped[g] || k >= waves[g].size())
                continue;
            for (const auto& h : waves[g][k])
                if (results[h] == HostRun::Failed)
                    ++failures[g];
            if (failures[g] > groups[g].policy.max_failures)
                stopped[g] = true;
        }
    }
    for (size_t g = 0; g < groups.size(); ++g)
        for (const auto& wave : waves[g])
            for (const auto& h : wave)
                if (!results.count(h))
                    results[h] = HostRun::Skipped;
    return results;
}

}  // namespace certfleet::distribute
