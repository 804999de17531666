#include "distribute/rollout.hpp"

#include <algorithm>
#include <cmath>
#include <set>

#include "core/parallel.hpp"

namespace certfleet::distribute {

namespace {

// Runs `hosts` with at most `concurrency` at once; fills `results`.
void run_wave(const std::vector<std::string>& hosts, int concurrency, const DeployFn& deploy,
              const HostExceptionFn& on_exception, std::map<std::string, HostRun>& results) {
    std::vector<HostRun> fates(hosts.size(), HostRun::Failed);
    core::parallel_for(
        hosts.size(), concurrency,
        [&](std::size_t i) { fates[i] = deploy(hosts[i]) ? HostRun::Succeeded : HostRun::Failed; },
        // A bug in one host's task must not take the fleet down: that host failed.
        [&](std::size_t i, const std::string& what) {
            fates[i] = HostRun::Failed;
            if (on_exception)
                on_exception(hosts[i], what);
        });
    for (std::size_t i = 0; i < hosts.size(); ++i)
        results[hosts[i]] = fates[i];
}

}  // namespace

size_t BatchSize::hosts(size_t group_size) const {
    if (unit == Unit::Hosts)
        return static_cast<size_t>(std::max(value, 1));
    const double share = static_cast<double>(group_size) * std::max(value, 1) / 100.0;
    return std::max<size_t>(static_cast<size_t>(std::ceil(share)), 1);
}

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
    size_t size = policy.batch.hosts(unique.size());
    while (pos < unique.size()) {
        size_t n = std::min(size, unique.size() - pos);
        g.waves.emplace_back(unique.begin() + static_cast<long>(pos),
                             unique.begin() + static_cast<long>(pos + n));
        pos += n;
    }
    return g;
}

std::map<std::string, HostRun> execute_rollout(const std::vector<GroupRollout>& groups,
                                               int concurrency, const DeployFn& deploy,
                                               const HostExceptionFn& on_exception) {
    std::map<std::string, HostRun> results;
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
        run_wave(batch, concurrency, deploy, on_exception, results);
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
