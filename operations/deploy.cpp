#include "operations/deploy.hpp"

#include <algorithm>
#include <functional>
#include <mutex>

#include <spdlog/spdlog.h>

#include "core/limits.hpp"
#include "core/parallel.hpp"
#include "distribute/rollout.hpp"
#include "fleet/hosts.hpp"
#include "operations/fleet_status.hpp"
#include "state/store_index.hpp"

namespace certfleet::operations {

namespace {

// What one host's deployment (or rollback) reports, before its wave and any
// ledger error are known.
HostOutcome host_outcome(const std::string& host, const std::string& certificate,
                         const distribute::DeployOutcome& outcome) {
    HostOutcome o;
    o.host = host;
    o.certificate = certificate;
    o.result = outcome.result;
    o.version = outcome.version;
    o.served_serial = outcome.served_serial;
    o.error = outcome.error;
    o.hint = outcome.hint;
    o.adopted = outcome.adopted;
    return o;
}

bool contains(const std::vector<std::string>& v, const std::string& x) {
    return std::find(v.begin(), v.end(), x) != v.end();
}

// The ledger's name for what deploy_version did to a host (it never gives
// Skipped or Planned: those hosts were not touched and get no event).
state::EventKind event_kind_of(HostResult result) {
    switch (result) {
        case HostResult::Deployed:
            return state::EventKind::Deployed;
        case HostResult::Unchanged:
            return state::EventKind::Unchanged;
        case HostResult::RolledBack:
            return state::EventKind::RolledBack;
        default:
            return state::EventKind::Failed;
    }
}

// Records what a host did. check, status and audit judge the host by this
// event, so a write that fails is the operator's to see: logged, and kept in
// the outcome (output and exit code) with the next step.
void record_host_event(Context& ctx, HostOutcome& o, const state::EventRecord& event,
                       const std::string& next_step) {
    auto st = ctx.ledger.record_event(event);
    if (st)
        return;
    o.ledger_error = "the ledger could not record '" +
                     std::string(state::event_kind_name(event.kind)) + "' for " + o.certificate +
                     " on " + o.host + ": " + st.error().message + "; next step: " + next_step;
    spdlog::error("{}", o.ledger_error);
}

// Hosts of `cert` that this invocation may touch, split by rollout group:
// a host goes with the first declared group it lists.
// `left_alone` takes out hosts this command must not touch (pinned ones).
std::vector<distribute::GroupRollout> plan_certificate(
    const inventory::Inventory& inv, const inventory::CertificateSpec& cert,
    const DeployOptions& options, const std::function<bool(const std::string&)>& left_alone) {
    std::map<std::string, std::vector<std::string>> by_group;
    for (const auto& name : inventory::deploy_hosts(inv, cert)) {
        const auto& host = inv.hosts.at(name);
        if (!options.hosts.empty() && !contains(options.hosts, name))
            continue;
        if (!options.groups.empty() &&
            std::none_of(host.groups.begin(), host.groups.end(),
                         [&](const std::string& g) { return contains(options.groups, g); }))
            continue;
        if (left_alone(name))
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
            policy = fleet::rollout_policy(it->second.rollout);
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
        if (h.result == HostResult::Failed || h.result == HostResult::RolledBack)
            ++failed;
        else if (h.result == HostResult::Deployed || h.result == HostResult::Unchanged)
            ++ok;
    }
    const bool unrecorded = std::any_of(
        hosts.begin(), hosts.end(), [](const HostOutcome& h) { return !h.ledger_error.empty(); });
    if (failed == 0)
        return unrecorded ? 1 : 0;
    return ok == 0 ? 2 : 1;
}

namespace {

// One certificate's rollout: its groups' waves, and each host's wave label.
struct CertificatePlan {
    std::string name;
    std::vector<distribute::GroupRollout> groups;
    std::map<std::string, std::string> wave_of_host;  // "cdn canary", "cdn wave 2/3"
};

struct DeployPlan {
    std::vector<CertificatePlan> certificates;
    std::map<std::string, int> pending;  // per host: certificates still to deploy there
    std::vector<HostOutcome> pinned;     // held by a rollback: reported, not touched
};

using HostEvents = std::map<std::pair<std::string, std::string>, state::EventRecord>;

HostOutcome pinned_outcome(const state::EventRecord& rollback) {
    HostOutcome o;
    o.host = rollback.host;
    o.certificate = rollback.cert;
    o.result = HostResult::Pinned;
    o.version = rollback.version;
    o.error = "pinned to version " + rollback.version + " by a rollback at " +
              core::format_rfc3339(rollback.at) + "; left alone";
    o.hint = "`certfleet rollback " + rollback.cert + " --host " + rollback.host +
             " --unpin` lets the next deploy bring it current; `certfleet deploy " + rollback.cert +
             " --host " + rollback.host + " --force` does it now";
    return o;
}

DeployPlan plan_deploy(const inventory::Inventory& inv, const DeployOptions& options,
                       const HostEvents& newest) {
    DeployPlan plan;
    for (const auto& [name, cert] : inv.certificates) {
        if (!options.names.empty() && !contains(options.names, name))
            continue;
        auto pinned = [&, cert_name = name](const std::string& host) {
            auto it = newest.find({cert_name, host});
            if (options.force || it == newest.end() || !state::pins_host(it->second.kind))
                return false;
            plan.pinned.push_back(pinned_outcome(it->second));
            return true;
        };
        CertificatePlan c{name, plan_certificate(inv, cert, options, pinned), {}};
        if (c.groups.empty())
            continue;
        for (const auto& g : c.groups)
            for (size_t k = 0; k < g.waves.size(); ++k)
                for (const auto& h : g.waves[k]) {
                    c.wave_of_host.emplace(h, wave_label(g, k));
                    ++plan.pending[h];
                }
        plan.certificates.push_back(std::move(c));
    }
    return plan;
}

// What every host's deployment in this command shares.
struct DeployRun {
    Context& ctx;
    const DeployOptions& options;
    fleet::TransportPool& pool;
    std::map<std::string, int>& pending;
    DeployReport& report;
    int concurrency;        // hosts at once
    std::mutex mutex;       // guards pending, report, the counts and the ledger
    std::size_t total = 0;  // (certificate, host) pairs to deploy: the live view's n
    std::size_t done = 0, failed = 0;

    // "cdn wave 2/4: cdn-fra-1: deployed [3/8 done, 1 failed]" on a terminal.
    void show(const CertificatePlan& c, const std::string& host, const std::string& what,
              bool finished, bool ok) {
        if (!ctx.progress)
            return;
        std::string counts;
        {
            std::lock_guard lock(mutex);
            done += finished ? 1 : 0;
            failed += finished && !ok ? 1 : 0;
            counts = " [" + std::to_string(done) + "/" + std::to_string(total) + " done, " +
                     std::to_string(failed) + " failed]";
        }
        auto wave = c.wave_of_host.find(host);
        ctx.progress(c.name, (wave == c.wave_of_host.end() ? "" : wave->second + ": ") + host +
                                 ": " + what + counts);
    }

    void add(const CertificatePlan& c, HostOutcome o) {
        std::lock_guard lock(mutex);
        auto wave = c.wave_of_host.find(o.host);
        o.wave = wave == c.wave_of_host.end() ? std::string() : wave->second;
        report.hosts.push_back(std::move(o));
    }
    void add_to_every_host(const CertificatePlan& c, const HostOutcome& o) {
        for (const auto& [host, wave] : c.wave_of_host) {
            HostOutcome mine = o;
            mine.host = host;
            add(c, std::move(mine));
        }
    }
};

// One certificate's material, ready for its hosts.
struct CertificateTask {
    const CertificatePlan& plan;
    const inventory::CertificateSpec& cert;
    const state::StoredVersion& current;
    const distribute::Material& material;
};

// The ledger's event and the user's deploy / failure hook for one host.
void record_host(DeployRun& run, const CertificateTask& task, HostOutcome& o) {
    Context& ctx = run.ctx;
    const std::string& name = task.plan.name;
    {
        std::lock_guard lock(run.mutex);
        record_host_event(
            ctx, o,
            {name, o.host, event_kind_of(o.result), task.material.version,
             "version " + o.version + (o.error.empty() ? "" : ": " + o.error), ctx.clock.now()},
            "make " + ctx.ledger.path() + " writable, then run `certfleet deploy " + name +
                " --host " + o.host + "`: it records the host's state again");
    }
    if (ctx.hooks && (o.result == HostResult::Deployed || o.result == HostResult::Failed ||
                      o.result == HostResult::RolledBack)) {
        auto target = fleet::host_target(ctx.inventory, ctx.inventory.hosts.at(o.host), task.cert);
        std::string base = target.cert_root + "/" + name;
        ctx.hooks->fire({o.result == HostResult::Deployed ? "deploy" : "failure", name,
                         task.cert.domains, task.material.serial_hex,
                         core::format_rfc3339(task.current.info.not_after), base + "/fullchain.pem",
                         base + "/privkey.pem", o.host,
                         o.error.empty() ? "deployed version " + o.version : o.error});
    }
}

// Why no further host may start: SIGINT / SIGTERM, or the run's time limit.
std::optional<std::string> stop_reason(const DeployRun& run) {
    if (run.ctx.cancel && run.ctx.cancel->load())
        return "certfleet was interrupted";
    const auto& limit = run.options.time_limit;
    if (limit && std::chrono::steady_clock::now() >= limit->at)
        return limit->why + " passed";
    return std::nullopt;
}

// A host the rollout had not reached when it had to stop: untouched.
HostOutcome not_started(const std::string& host, const std::string& cert,
                        const std::string& reason) {
    HostOutcome o;
    o.host = host;
    o.certificate = cert;
    o.result = HostResult::NotStarted;
    o.error = "not started: " + reason + " before this host; it is untouched";
    o.hint = "run `certfleet deploy " + cert + "` to finish the rollout";
    return o;
}

// One host of one certificate; true when it serves the version afterwards.
bool deploy_host(DeployRun& run, const CertificateTask& task, const std::string& host) {
    Context& ctx = run.ctx;
    const std::string& name = task.plan.name;
    if (auto reason = stop_reason(run)) {
        run.add(task.plan, not_started(host, name, *reason));
        return false;
    }
    run.show(task.plan, host, "deploying " + task.current.version, false, false);
    const auto& inv_host = ctx.inventory.hosts.at(host);
    distribute::Transport& transport = run.pool.get(host);
    transport.set_deadline(fleet::host_deadline(inv_host, run.options.time_limit));
    auto outcome = distribute::deploy_version(
        transport, fleet::host_target(ctx.inventory, inv_host, task.cert), task.material,
        run.options.force);
    transport.set_deadline(std::nullopt);
    bool more_work = false;
    {
        std::lock_guard lock(run.mutex);
        more_work = --run.pending.at(host) > 0;
    }
    run.pool.release(host, more_work);
    HostOutcome o = host_outcome(host, name, outcome);
    bool ok = outcome.result == distribute::DeployResult::Deployed ||
              outcome.result == distribute::DeployResult::Unchanged;
    if (!outcome.error.empty())
        spdlog::error("{} on {}: {}", name, host, outcome.error);
    run.show(task.plan, host, std::string(deploy_result_name(o.result)), true, ok);
    record_host(run, task, o);
    run.add(task.plan, std::move(o));
    return ok;
}

HostOutcome not_issued(const std::string& cert) {
    return {"",
            cert,
            HostResult::Skipped,
            "",
            "",
            "certificate '" + cert + "' has not been issued yet",
            "run `certfleet issue " + cert + "` first",
            "",
            false,
            ""};
}

// --dry-run: a read-only look at each host (one connection, no change), so
// only hosts that would change are "planned".
HostOutcome planned_for(const Context& ctx, const std::string& cert, const std::string& host,
                        const state::StoredVersion& current) {
    HostOutcome o;
    o.host = host;
    o.certificate = cert;
    o.version = current.version;
    o.result = HostResult::Planned;
    const auto& inv = ctx.inventory;
    auto transport = fleet::make_transport(inv.hosts.at(host));
    auto target = fleet::host_target(inv, inv.hosts.at(host), inv.certificates.at(cert));
    auto state = distribute::inspect(*transport, target.cert_root, cert);
    if (!state)
        o.note = "could not look at the host (" + state.error().message + "); would try " +
                 current.version;
    else if (state->current_version == current.version)
        o.result = HostResult::Unchanged;
    else if (state->plain_files)
        o.note = "would adopt its hand-managed files, then deploy " + current.version;
    else
        o.note = "has " + state->current_version.value_or("nothing") + "; would deploy " +
                 current.version;
    return o;
}

void plan_hosts(DeployRun& run, const CertificatePlan& c,
                const std::optional<state::StoredVersion>& current) {
    const std::string& name = c.name;
    if (contains(run.options.planned_issues, name)) {
        HostOutcome o{"", name, HostResult::Planned, "", "", "", "", "", false, ""};
        o.note = "would deploy the version the issue above obtains";
        run.add_to_every_host(c, o);
        return;
    }
    if (!current) {
        run.add_to_every_host(c, not_issued(name));
        return;
    }
    std::vector<std::string> hosts;
    for (const auto& [host, wave] : c.wave_of_host)
        hosts.push_back(host);
    std::vector<HostOutcome> outcomes(hosts.size());
    core::parallel_for(
        hosts.size(), std::max(1, std::min(run.options.concurrency, 16)),
        [&](std::size_t i) { outcomes[i] = planned_for(run.ctx, name, hosts[i], *current); },
        [&](std::size_t i, const std::string& what) {
            outcomes[i] = {hosts[i], name, HostResult::Planned, current->version, "", "", "", "",
                           false,    ""};
            outcomes[i].note = "could not look at the host (" + what + ")";
        });
    for (auto& o : outcomes)
        run.add(c, std::move(o));
}

// Rolls one certificate out to its hosts, wave by wave.
void deploy_certificate(DeployRun& run, const CertificatePlan& c,
                        const std::optional<state::StoredVersion>& current) {
    const std::string& name = c.name;
    if (run.options.dry_run) {
        plan_hosts(run, c, current);
        return;
    }
    if (!current) {
        run.add_to_every_host(c, not_issued(name));
        return;
    }
    auto key = run.ctx.store.read_private_key(name, current->version);
    if (!key) {
        run.add_to_every_host(c, {"", name, HostResult::Failed, "", "", key.error().message,
                                  key.error().hint, "", false, ""});
        return;
    }
    const distribute::Material material{name,
                                        current->version,
                                        current->cert_pem,
                                        current->chain_pem,
                                        current->fullchain_pem,
                                        *key,
                                        current->info.serial_hex};
    const CertificateTask task{c, run.ctx.inventory.certificates.at(name), *current, material};
    auto fates = distribute::execute_rollout(
        c.groups, run.concurrency,
        [&](const std::string& host) { return deploy_host(run, task, host); },
        // A bug while deploying to one host fails that host, with the reason.
        [&](const std::string& host, const std::string& what) {
            spdlog::error("{} on {}: {}", name, host, what);
            run.add(c, {host, name, HostResult::Failed, current->version, "",
                        "deployment of '" + name + "' to " + host + " failed unexpectedly: " + what,
                        "run again with -v and report this error", "", false, ""});
        });
    const auto stopped = stop_reason(run);
    for (const auto& [host, fate] : fates)
        if (fate == distribute::HostRun::Skipped && stopped)
            run.add(c, not_started(host, name, *stopped));
        else if (fate == distribute::HostRun::Skipped)
            run.add(c, {host, name, HostResult::Skipped, "", "",
                        "not attempted: the rollout stopped after failures in its group",
                        "fix the failed hosts, then run `certfleet deploy " + name + "` again", "",
                        false, ""});
}

}  // namespace

DeployReport run_deploy(Context& ctx, const DeployOptions& options) {
    DeployPlan plan = plan_deploy(ctx.inventory, options, ctx.ledger.latest_host_events());
    // A plan needs no PEM parsing: the ledger knows every issued version.
    state::FleetIndex index;
    if (options.dry_run) {
        std::vector<std::string> names;
        for (const auto& c : plan.certificates)
            names.push_back(c.name);
        index = state::index_fleet(ctx.store, ctx.ledger, names);
    }
    const int concurrency = options.dry_run ? 1 : bounded_concurrency(options.concurrency);
    fleet::TransportPool pool(ctx.inventory, static_cast<size_t>(concurrency));
    DeployReport report;
    report.hosts = plan.pinned;
    DeployRun run{ctx, options, pool, plan.pending, report, concurrency, {}, 0, 0, 0};
    for (const auto& [host, count] : plan.pending)
        run.total += static_cast<std::size_t>(count);
    for (const auto& c : plan.certificates)
        deploy_certificate(run, c,
                           options.dry_run ? index.current[c.name] : ctx.store.current(c.name));
    std::sort(report.hosts.begin(), report.hosts.end(),
              [](const HostOutcome& a, const HostOutcome& b) {
                  return std::tie(a.certificate, a.host) < std::tie(b.certificate, b.host);
              });
    return report;
}

namespace {

// Returning a host to a revoked certificate makes it serve what clients may
// refuse: only on purpose (--force).
distribute::RollbackGuard revoked_version_guard(const state::Ledger& ledger,
                                                const RollbackOptions& options) {
    if (options.force)
        return {};
    std::multimap<std::string, state::Revocation> revocations;
    for (auto& r : ledger.revocations())
        if (r.cert == options.certificate)
            revocations.emplace(r.cert, std::move(r));
    return [revocations, options](const std::string& version,
                                  const std::string& serial) -> core::Status {
        const auto* revoked = state::find_revocation(revocations, options.certificate, serial);
        if (!revoked)
            revoked = state::find_revocation(revocations, options.certificate, version);
        if (!revoked)
            return {};
        return core::fail(core::ErrorKind::Config,
                          "refusing to roll " + options.host + " back to version " + version +
                              " of " + options.certificate + ": serial " + serial + " was " +
                              describe_revocation(*revoked) + " and clients may refuse it",
                          "roll back to another version (`certfleet rollback " +
                              options.certificate + " --host " + options.host +
                              " --list` shows them), or add --force to do it anyway");
    };
}

}  // namespace

HostOutcome run_rollback(Context& ctx, const RollbackOptions& options) {
    const auto& cert = ctx.inventory.certificates.at(options.certificate);
    const auto& host = ctx.inventory.hosts.at(options.host);
    auto transport = fleet::make_transport(host);
    auto outcome = distribute::rollback(*transport, fleet::host_target(ctx.inventory, host, cert),
                                        options.certificate, options.version,
                                        revoked_version_guard(ctx.ledger, options));
    HostOutcome o = host_outcome(options.host, options.certificate, outcome);
    o.adopted = false;
    o.no_such_version = outcome.no_such_version;
    o.refused = outcome.refused;
    if (o.no_such_version || o.refused)
        return o;  // nothing changed: no event, so no warning lingers
    // For `rollback`, the swap back succeeding is the result asked for.
    if (outcome.result == HostResult::Deployed)
        o.result = HostResult::RolledBack;
    const bool rolled_back = o.result == HostResult::RolledBack;
    record_host_event(
        ctx, o,
        {options.certificate, options.host,
         rolled_back ? state::EventKind::Rollback : state::EventKind::RollbackFailed,
         rolled_back ? o.version : options.version,
         "to version " + o.version + (options.reason.empty() ? "" : " (" + options.reason + ")") +
             (o.error.empty() ? "" : ": " + o.error),
         ctx.clock.now()},
        "make " + ctx.ledger.path() + " writable; until a later deploy is recorded, `certfleet " +
            "check` and `audit` do not know of this rollback (`certfleet status " +
            options.certificate + "` shows what the host has)");
    return o;
}

}  // namespace certfleet::operations

namespace certfleet::operations {

core::Result<HostVersionListing> list_host_versions(Context& ctx, const std::string& certificate,
                                                    const std::string& host) {
    const auto& inv = ctx.inventory;
    auto transport = fleet::make_transport(inv.hosts.at(host));
    auto target = fleet::host_target(inv, inv.hosts.at(host), inv.certificates.at(certificate));
    auto versions = distribute::list_versions(*transport, target.cert_root, certificate);
    if (!versions)
        return versions.failure();
    HostVersionListing out;
    out.versions = std::move(*versions);
    auto newest = ctx.ledger.latest_host_events();
    if (auto it = newest.find({certificate, host});
        it != newest.end() && state::pins_host(it->second.kind))
        out.pin = it->second;
    for (auto& r : ctx.ledger.revocations())
        if (r.cert == certificate)
            out.revoked[r.version] = r;
    return out;
}

core::Result<bool> unpin(Context& ctx, const std::string& certificate, const std::string& host) {
    auto newest = ctx.ledger.latest_host_events();
    auto it = newest.find({certificate, host});
    if (it == newest.end() || !state::pins_host(it->second.kind))
        return false;
    auto st = ctx.ledger.record_event(
        {certificate, host, state::EventKind::Unpinned, it->second.version,
         "pin to version " + it->second.version + " lifted", ctx.clock.now()});
    if (!st)
        return st.failure();
    return true;
}

}  // namespace certfleet::operations
