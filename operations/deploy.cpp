#include "operations/deploy.hpp"

#include <algorithm>
#include <mutex>

#include <spdlog/spdlog.h>

#include "core/limits.hpp"
#include "distribute/rollout.hpp"
#include "fleet/hosts.hpp"
#include "state/store_index.hpp"

namespace certfleet::operations {

namespace {

bool contains(const std::vector<std::string>& v, const std::string& x) {
    return std::find(v.begin(), v.end(), x) != v.end();
}

const char* result_name(distribute::DeployResult r) {
    switch (r) {
        case distribute::DeployResult::Deployed:
            return "deployed";
        case distribute::DeployResult::Unchanged:
            return "unchanged";
        case distribute::DeployResult::RolledBack:
            return "rolled_back";
        case distribute::DeployResult::Failed:
            return "failed";
    }
    return "failed";
}

// Hosts of `cert` that this invocation may touch, split by rollout group:
// a host goes with the first declared group it lists.
std::vector<distribute::GroupRollout> plan_certificate(const inventory::Inventory& inv,
                                                       const inventory::CertificateSpec& cert,
                                                       const DeployOptions& options) {
    std::map<std::string, std::vector<std::string>> by_group;
    for (const auto& name : inventory::deploy_hosts(inv, cert)) {
        const auto& host = inv.hosts.at(name);
        if (!options.hosts.empty() && !contains(options.hosts, name))
            continue;
        if (!options.groups.empty() &&
            std::none_of(host.groups.begin(), host.groups.end(),
                         [&](const std::string& g) { return contains(options.groups, g); }))
            continue;
        std::string group;
        for (const auto& g : host.groups)
            if (auto it = inv.groups.find(g); it != inv.groups.end() && it->second.declared) {
                group = g;
                break;
            }
        by_group[group].push_back(name);
    }
    std::vector<distribute::GroupRollout> plans;
    for (const auto& [group, hosts] : by_group) {
        distribute::RolloutPolicy policy;
        if (auto it = inv.groups.find(group); it != inv.groups.end())
            policy = {it->second.rollout.canary, it->second.rollout.batch,
                      it->second.rollout.max_failures};
        plans.push_back(distribute::plan_group(group, hosts, policy));
    }
    return plans;
}

std::string wave_label(const distribute::GroupRollout& g, size_t k) {
    std::string group = g.name.empty() ? "hosts" : g.name;
    if (k == 0 && g.policy.canary > 0)
        return group + " canary";
    return group + " wave " + std::to_string(k + 1) + "/" + std::to_string(g.waves.size());
}

// Each host in flight holds a connection and a TLS probe, and as many again
// may stay open idle (TransportPool); a soft limit of 1024 descriptors is too
// few for --concurrency 512. Raised up to the hard limit; beyond it, fewer
// hosts run at once.
int bounded_concurrency(int wanted) {
    constexpr size_t kReserve = 64;  // ledger, lock, logs, hooks' pipes
    const size_t need = 3 * static_cast<size_t>(std::max(1, wanted)) + kReserve;
    const size_t limit = core::raise_open_files_limit(need);
    if (limit >= need)
        return wanted;
    const int fits = static_cast<int>(std::max<size_t>(limit, kReserve + 3) - kReserve) / 3;
    spdlog::warn(
        "--concurrency {} needs about {} file descriptors, the limit is {} (ulimit -n): "
        "deploying to {} hosts at once",
        wanted, need, limit, fits);
    return fits;
}

}  // namespace

int DeployReport::exit_code() const {
    int failed = 0, ok = 0;
    for (const auto& h : hosts) {
        if (h.result == "failed" || h.result == "rolled_back")
            ++failed;
        else if (h.result == "deployed" || h.result == "unchanged")
            ++ok;
    }
    if (failed == 0)
        return 0;
    return ok == 0 ? 2 : 1;
}

DeployReport run_deploy(Context& ctx, const DeployOptions& options) {
    DeployReport report;
    std::vector<std::pair<std::string, std::vector<distribute::GroupRollout>>> certificates;
    std::map<std::string, int> pending;  // per host: certificates still to deploy there
    std::vector<std::string> names;
    for (const auto& [name, cert] : ctx.inventory.certificates) {
        if (!options.names.empty() && !contains(options.names, name))
            continue;
        auto plans = plan_certificate(ctx.inventory, cert, options);
        if (plans.empty())
            continue;
        for (const auto& g : plans)
            for (const auto& wave : g.waves)
                for (const auto& h : wave)
                    ++pending[h];
        names.push_back(name);
        certificates.emplace_back(name, std::move(plans));
    }
    // A plan needs no PEM parsing: the ledger knows every issued version.
    state::FleetIndex index;
    if (options.dry_run)
        index = state::index_fleet(ctx.store, ctx.ledger, names);
    const int concurrency = options.dry_run ? 1 : bounded_concurrency(options.concurrency);
    fleet::TransportPool pool(ctx.inventory, static_cast<size_t>(concurrency));
    std::mutex mutex;
    for (auto& entry : certificates) {
        // Plain references, not a structured binding: the lambdas below
        // capture them (clang 14, used by clang-tidy, cannot capture bindings).
        const std::string& name = entry.first;
        auto& plans = entry.second;
        const auto& cert = ctx.inventory.certificates.at(name);

        std::map<std::string, std::string> waves;
        for (const auto& g : plans)
            for (size_t k = 0; k < g.waves.size(); ++k)
                for (const auto& h : g.waves[k])
                    waves.emplace(h, wave_label(g, k));

        auto current = options.dry_run ? index.current[name] : ctx.store.current(name);
        auto add = [&](HostOutcome o) {
            std::lock_guard lock(mutex);
            o.wave = waves[o.host];
            report.hosts.push_back(std::move(o));
        };
        if (options.dry_run || !current) {
            for (const auto& [host, wave] : waves)
                add({host, name, current ? "planned" : "skipped", current ? current->version : "",
                     "", current ? "" : "certificate '" + name + "' has not been issued yet",
                     current ? "" : "run `certfleet issue " + name + "` first", "", false});
            continue;
        }
        auto key = ctx.store.read_private_key(name, current->version);
        if (!key) {
            for (const auto& [host, wave] : waves)
                add({host, name, "failed", "", "", key.error().message, key.error().hint, "",
                     false});
            continue;
        }
        distribute::Material material{name,
                                      current->version,
                                      current->cert_pem,
                                      current->chain_pem,
                                      current->fullchain_pem,
                                      *key,
                                      current->info.serial_hex};

        auto fates = distribute::execute_rollout(plans, concurrency, [&](const std::string& host) {
            if (ctx.cancel && ctx.cancel->load())
                return false;
            const auto& h = ctx.inventory.hosts.at(host);
            if (ctx.progress)
                ctx.progress(name, host + ": deploying " + current->version);
            auto outcome = distribute::deploy_version(pool.get(host),
                                                      fleet::host_target(ctx.inventory, h, cert),
                                                      material, options.force);
            bool more_work = false;
            {
                std::lock_guard lock(mutex);
                more_work = --pending.at(host) > 0;
            }
            pool.release(host, more_work);
            HostOutcome o{host,
                          name,
                          result_name(outcome.result),
                          outcome.version,
                          outcome.served_serial,
                          outcome.error,
                          outcome.hint,
                          "",
                          outcome.adopted};
            if (!outcome.error.empty())
                spdlog::error("{} on {}: {}", name, host, outcome.error);
            else if (ctx.progress)
                ctx.progress(name, host + ": " + o.result);
            {
                std::lock_guard lock(mutex);
                (void)ctx.ledger.record_event(
                    name, host, o.result,
                    "version " + o.version + (o.error.empty() ? "" : ": " + o.error));
            }
            if (ctx.hooks &&
                (o.result == "deployed" || o.result == "failed" || o.result == "rolled_back")) {
                auto target = fleet::host_target(ctx.inventory, h, cert);
                std::string base = target.cert_root + "/" + name;
                ctx.hooks->fire({o.result == "deployed" ? "deploy" : "failure", name, cert.domains,
                                 material.serial_hex, core::format_rfc3339(current->info.not_after),
                                 base + "/fullchain.pem", base + "/privkey.pem", host,
                                 o.error.empty() ? "deployed version " + o.version : o.error});
            }
            bool ok = outcome.result == distribute::DeployResult::Deployed ||
                      outcome.result == distribute::DeployResult::Unchanged;
            add(std::move(o));
            return ok;
        });
        for (const auto& [host, fate] : fates)
            if (fate == distribute::HostRun::Skipped)
                add({host, name, "skipped", "", "",
                     "not attempted: the rollout stopped after failures in its group",
                     "fix the failed hosts, then run `certfleet deploy " + name + "` again", "",
                     false});
    }
    std::sort(report.hosts.begin(), report.hosts.end(),
              [](const HostOutcome& a, const HostOutcome& b) {
                  return std::tie(a.certificate, a.host) < std::tie(b.certificate, b.host);
              });
    return report;
}

HostOutcome run_rollback(Context& ctx, const RollbackOptions& options) {
    const auto& cert = ctx.inventory.certificates.at(options.certificate);
    const auto& host = ctx.inventory.hosts.at(options.host);
    auto transport = fleet::make_transport(host);
    auto outcome = distribute::rollback(*transport, fleet::host_target(ctx.inventory, host, cert),
                                        options.certificate, options.version);
    HostOutcome o{options.host,
                  options.certificate,
                  result_name(outcome.result),
                  outcome.version,
                  outcome.served_serial,
                  outcome.error,
                  outcome.hint,
                  "",
                  false};
    if (outcome.result == distribute::DeployResult::Deployed)
        o.result = "rolled_back";
    (void)ctx.ledger.record_event(
        options.certificate, options.host,
        o.result == "rolled_back" ? "rollback" : "rollback_failed",
        "to version " + o.version + (o.error.empty() ? "" : ": " + o.error));
    return o;
}

}  // namespace certfleet::operations
