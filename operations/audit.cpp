#include "operations/audit.hpp"

#include <algorithm>
#include <mutex>

#include "core/parallel.hpp"
#include "fleet/hosts.hpp"
#include "state/store_index.hpp"

namespace certfleet::operations {

namespace {

// What the manager knows, from the ledger and the store's own files (versions
// the ledger never saw, such as imported ones, count as managed too).
audit::ManagedState managed_state(const inventory::Inventory& inv, const state::Store& store,
                                  const state::Ledger& ledger,
                                  const audit::HostObservation& store_files) {
    audit::ManagedState m;
    std::vector<std::string> names;
    for (const auto& [name, _] : inv.certificates)
        names.push_back(name);
    auto index = state::index_fleet(store, ledger, names);
    for (const auto& [name, current] : index.current)
        if (current) {
            m.current_serial[name] = current->info.serial_hex;
            m.current_version[name] = current->version;
        }
    for (const auto& r : ledger.all_issuances())
        m.serial_owner[r.serial] = r.cert;
    const std::string root = store_files.cert_root + "/";
    for (const auto& [path, file] : store_files.files) {
        if (path.compare(0, root.size(), root) != 0)
            continue;
        const std::string name =
            path.substr(root.size(), path.find('/', root.size()) - root.size());
        for (const auto& c : file.pem.certificates)
            if (!c.info.is_ca)
                m.serial_owner.emplace(c.info.serial_hex, name);
    }
    m.host_events = ledger.latest_host_events();
    m.certificates_on_host = inventory::certificates_by_host(inv);
    return m;
}

const std::vector<std::string>& certificates_on(const audit::ManagedState& managed,
                                                const std::string& host) {
    static const std::vector<std::string> none;
    auto it = managed.certificates_on_host.find(host);
    return it == managed.certificates_on_host.end() ? none : it->second;
}

// The sorted, distinct hosts asked for (`--host a --host a`), or every host.
std::vector<std::string> hosts_to_audit(const inventory::Inventory& inv,
                                        const AuditOptions& options) {
    std::vector<std::string> hosts = options.hosts;
    std::sort(hosts.begin(), hosts.end());
    hosts.erase(std::unique(hosts.begin(), hosts.end()), hosts.end());
    if (hosts.empty())
        for (const auto& [name, _] : inv.hosts)
            hosts.push_back(name);
    return hosts;
}

// What every host's audit reads; prepared once, before the workers start.
struct AuditInputs {
    const inventory::Inventory& inv;
    const audit::ManagedState& managed;
    const AuditOptions& options;
    core::TimePoint now;
    audit::PemCache& cache;  // shared by the workers (it locks)
};

struct HostAudit {
    std::vector<audit::AuditFinding> findings;
    std::optional<core::Error> failure;  // not audited
    std::vector<std::string> notes;      // what could not be checked
};

HostAudit audit_host(const AuditInputs& in, const std::string& name) {
    HostAudit out;
    const auto& host = in.inv.hosts.at(name);
    auto transport = fleet::make_transport(host);
    // A host cannot keep the audit (and the run's lock) for long: every
    // read, command and probe of it ends by its deadline.
    audit::ScanLimits limits = in.options.limits;
    limits.deadline = fleet::host_deadline(host, in.options.time_limit);
    transport->set_deadline(limits.deadline);
    auto obs = audit::observe_host(*transport, in.inv, host, certificates_on(in.managed, name),
                                   limits, &in.cache);
    if (!obs) {
        out.failure = obs.error();
        return out;
    }
    out.findings = audit::classify_host(in.inv, in.managed, *obs, in.now);
    out.notes = obs->unchecked;
    return out;
}

// Every host, --concurrency at once; progress reported as each one ends.
std::vector<HostAudit> audit_hosts(const AuditInputs& in, const std::vector<std::string>& hosts) {
    std::vector<HostAudit> results(hosts.size());
    std::mutex progress_mutex;
    auto report_progress = [&](std::size_t i) {
        if (!in.options.progress)
            return;
        const auto& r = results[i];
        std::lock_guard lock(progress_mutex);
        in.options.progress(hosts[i], r.failure
                                          ? "not audited: " + r.failure->message
                                          : std::to_string(r.findings.size()) + " finding(s)");
    };
    core::parallel_for(
        hosts.size(), in.options.concurrency,
        [&](std::size_t i) {
            results[i] = audit_host(in, hosts[i]);
            report_progress(i);
        },
        // An exception in one host's audit is that host's failure, not the end of the run.
        [&](std::size_t i, const std::string& what) {
            results[i] = {};
            results[i].failure =
                core::make_error(core::ErrorKind::Generic, "audit of this host failed: " + what);
            report_progress(i);
        });
    return results;
}

void add_host_results(AuditReport& report, const std::vector<std::string>& hosts,
                      std::vector<HostAudit> results) {
    for (std::size_t i = 0; i < hosts.size(); ++i) {
        auto& r = results[i];
        if (r.failure) {
            report.hosts_failed.push_back({hosts[i], r.failure->message, r.failure->hint});
            continue;
        }
        report.hosts_audited.push_back(hosts[i]);
        for (auto& f : r.findings)
            report.findings.push_back(std::move(f));
        for (auto& n : r.notes)
            report.unchecked.push_back({hosts[i], std::move(n)});
    }
}

void add_store_results(AuditReport& report, const inventory::Inventory& inv,
                       audit::HostObservation& store_obs) {
    report.store_audited = true;
    for (auto& f : audit::classify_store(inv, store_obs))
        report.findings.push_back(std::move(f));
    for (auto& n : store_obs.unchecked)
        report.unchecked.push_back({audit::kStoreHost, std::move(n)});
}

}  // namespace

AuditReport run_audit(const inventory::Inventory& inv, const state::Store& store,
                      const state::Ledger& ledger, const AuditOptions& options) {
    const auto hosts = hosts_to_audit(inv, options);
    // The store's files are read only when it is audited too (all of a 10,000
    // certificate store is 40,000 files); the ledger alone names the serials.
    audit::HostObservation store_obs;
    store_obs.cert_root = store.root();
    if (options.hosts.empty())
        store_obs = audit::observe_store(inv, options.limits);
    const auto managed = managed_state(inv, store, ledger, store_obs);
    audit::PemCache cache;
    const AuditInputs inputs{
        inv, managed, options,
        options.now == core::TimePoint{} ? core::SystemClock().now() : options.now, cache};

    AuditReport report;
    add_host_results(report, hosts, audit_hosts(inputs, hosts));
    if (options.hosts.empty())
        add_store_results(report, inv, store_obs);
    return report;
}

}  // namespace certfleet::operations
