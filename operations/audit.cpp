#include "operations/audit.hpp"

#include <algorithm>
#include <atomic>
#include <mutex>
#include <thread>

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

}  // namespace

AuditReport run_audit(const inventory::Inventory& inv, const state::Store& store,
                      const state::Ledger& ledger, const AuditOptions& options) {
    AuditReport report;
    auto progress = [&](const std::string& host, const std::string& step) {
        if (options.progress)
            options.progress(host, step);
    };
    std::vector<std::string> hosts = options.hosts;
    std::sort(hosts.begin(), hosts.end());
    hosts.erase(std::unique(hosts.begin(), hosts.end()), hosts.end());  // --host a --host a
    if (hosts.empty())
        for (const auto& [name, _] : inv.hosts)
            hosts.push_back(name);

    // The store's files are read only when it is audited too (all of a 10,000
    // certificate store is 40,000 files); the ledger alone names the serials.
    audit::HostObservation store_obs;
    store_obs.cert_root = store.root();
    if (options.hosts.empty())
        store_obs = audit::observe_store(inv, options.limits);
    const auto managed = managed_state(inv, store, ledger, store_obs);
    const core::TimePoint now =
        options.now == core::TimePoint{} ? core::SystemClock().now() : options.now;

    std::vector<std::vector<audit::AuditFinding>> per_host(hosts.size());
    std::vector<std::optional<core::Error>> failures(hosts.size());
    std::vector<std::vector<std::string>> notes(hosts.size());
    std::atomic<std::size_t> next{0};
    std::mutex progress_mutex;
    audit::PemCache cache;
    auto worker = [&] {
        for (std::size_t i = next++; i < hosts.size(); i = next++) {
            const auto& host = inv.hosts.at(hosts[i]);
            // An exception in a worker thread would end the process: it is
            // this host's failure instead.
            try {
                auto transport = fleet::make_transport(host);
                auto obs =
                    audit::observe_host(*transport, inv, host, certificates_on(managed, hosts[i]),
                                        options.limits, &cache);
                if (!obs) {
                    failures[i] = obs.error();
                } else {
                    per_host[i] = audit::classify_host(inv, managed, *obs, now);
                    notes[i] = obs->unchecked;
                }
            } catch (const std::exception& e) {
                failures[i] =
                    core::make_error(core::ErrorKind::Generic,
                                     std::string("audit of this host failed: ") + e.what());
            }
            std::lock_guard lock(progress_mutex);
            progress(hosts[i], failures[i] ? "not audited: " + failures[i]->message
                                           : std::to_string(per_host[i].size()) + " finding(s)");
        }
    };
    std::size_t threads = std::min<std::size_t>(
        hosts.size(), static_cast<std::size_t>(std::max(1, options.concurrency)));
    std::vector<std::thread> pool;
    for (std::size_t t = 1; t < threads; ++t)
        pool.emplace_back(worker);
    if (!hosts.empty())
        worker();
    for (auto& t : pool)
        t.join();

    for (std::size_t i = 0; i < hosts.size(); ++i) {
        if (failures[i]) {
            report.hosts_failed.push_back({hosts[i], failures[i]->message, failures[i]->hint});
            continue;
        }
        report.hosts_audited.push_back(hosts[i]);
        for (auto& f : per_host[i])
            report.findings.push_back(std::move(f));
        for (auto& n : notes[i])
            report.unchecked.push_back({hosts[i], std::move(n)});
    }
    if (options.hosts.empty()) {
        report.store_audited = true;
        for (auto& f : audit::classify_store(inv, store_obs))
            report.findings.push_back(std::move(f));
        for (auto& n : store_obs.unchecked)
            report.unchecked.push_back({audit::kStoreHost, std::move(n)});
    }
    return report;
}

}  // namespace certfleet::operations
