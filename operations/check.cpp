#include "operations/check.hpp"

#include <algorithm>
#include <cctype>
#include <map>
#include <thread>
#include <tuple>

#include "core/enum_names.hpp"
#include "core/hostname.hpp"
#include "core/parallel.hpp"
#include "distribute/tls_probe.hpp"
#include "fleet/hosts.hpp"
#include "operations/fleet_status.hpp"
#include "state/store_index.hpp"

namespace certfleet::operations {

namespace {

// "site@cdn-1", "site", or "cdn-bad" for a host entry that concerns no certificate.
std::string subject(const CheckItem& item) {
    if (item.certificate.empty())
        return item.host;
    return item.host.empty() ? item.certificate : item.certificate + "@" + item.host;
}

constexpr core::EnumNames<CheckSource> kCheckSourceNames[] = {
    {CheckSource::Store, "store"},
    {CheckSource::Served, "served"},
};

constexpr core::EnumNames<CheckKind> kCheckKindNames[] = {
    {CheckKind::Expiry, "expiry"},
    {CheckKind::NotIssued, "not_issued"},
    {CheckKind::RenewalFailing, "renewal_failing"},
    {CheckKind::DeployFailed, "deploy_failed"},
    {CheckKind::ServedMismatch, "served_mismatch"},
    {CheckKind::NameMismatch, "name_mismatch"},
    {CheckKind::ProbeFailed, "probe_failed"},
    {CheckKind::Revoked, "revoked"},
    {CheckKind::InvalidEntry, "invalid_entry"},
};

// Keeps the worst reason as the item's kind, and every reason in the message
// (each reason's text is non-empty, so an empty message means "no reason yet").
void add_reason(CheckItem& item, renewal::Severity severity, CheckKind kind,
                const std::string& text) {
    // The worst reason leads: the first line of `check` shows only that one.
    if (static_cast<int>(severity) > static_cast<int>(item.severity) || item.message.empty()) {
        item.kind = kind;
        item.message = text + (item.message.empty() ? "" : "; " + item.message);
    } else {
        item.message += "; " + text;
    }
    item.severity = renewal::worst(item.severity, severity);
}

CheckItem make_item(const std::string& cert, const std::string& host, CheckSource source) {
    CheckItem item;
    item.certificate = cert;
    item.host = host;
    item.source = source;
    return item;
}

void set_validity(CheckItem& item, const core::CertificateInfo& info,
                  const inventory::Policy& policy, core::TimePoint at) {
    item.serial = info.serial_hex;
    item.not_before = info.not_before;
    item.not_after = info.not_after;
    auto verdict = renewal::evaluate_expiry(info, policy, at);
    item.seconds_left = verdict.left.count();
    add_reason(item, verdict.severity, CheckKind::Expiry, verdict.text);
}

// Critical until replaced: clients that check revocation refuse it.
void judge_revocation(CheckItem& item, const state::Revocation* revoked, const std::string& what) {
    if (revoked)
        add_reason(item, renewal::Severity::Critical, CheckKind::Revoked,
                   what + " " + describe_revocation(*revoked) + "; replace it: `certfleet renew " +
                       item.certificate + "`");
}

CheckItem store_item(const inventory::CertificateSpec& spec,
                     const std::optional<state::StoredVersion>& current,
                     const state::FailureState* failure, const state::Revocation* revoked,
                     const inventory::Policy& policy, core::TimePoint at) {
    CheckItem item = make_item(spec.name, "", CheckSource::Store);
    std::string failing;
    if (failure)
        failing = "renewal failing since " + core::format_rfc3339(failure->last_failure_at) + " (" +
                  std::to_string(failure->consecutive_failures) +
                  " attempt(s)): " + failure->last_message;
    if (current) {
        set_validity(item, current->info, policy, at);
        if (failure)
            add_reason(item, renewal::Severity::Warning, CheckKind::RenewalFailing, failing);
        judge_revocation(item, revoked, "serial " + current->info.serial_hex + " was");
    } else if (failure) {
        // Why it is not issued says more than that it is not.
        add_reason(item, renewal::Severity::Warning, CheckKind::RenewalFailing, failing);
    } else {
        add_reason(item, renewal::Severity::Warning, CheckKind::NotIssued,
                   "not issued yet (run `certfleet run` or `certfleet issue " + spec.name + "`)");
    }
    return item;
}

struct Probe {
    std::string address;
    int port = 0;
    std::string server_name;
    std::string expected_serial;  // the store's current serial (empty: none)
    core::Result<distribute::ServedCertificate> result =
        core::fail(core::ErrorKind::Generic, "not probed");
};

std::string serial_of(const core::Result<distribute::ServedCertificate>& r) {
    return r ? r->info.serial_hex : std::string();
}

core::Result<distribute::ServedCertificate> probe_once(const Probe& p,
                                                       const CheckOptions& options) {
    if (options.probe_with)
        return options.probe_with(p.address, p.port, p.server_name, options.probe_timeout);
    return distribute::probe_tls(p.address, p.port, p.server_name, options.probe_timeout);
}

// Right after a reload, nginx's exiting workers may still answer a connection
// or two with the old certificate. An answer that is not the expected serial
// is asked again until two answers in a row agree (at most 5 more, 200 ms
// apart), so `run` does not report a host it has just fixed; a balancer that
// really serves two certificates never agrees and is reported.
void settle(Probe& p, const CheckOptions& options) {
    if (p.expected_serial.empty() || serial_of(p.result) == p.expected_serial)
        return;
    for (int i = 0; i < 5; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
        auto again = probe_once(p, options);
        bool agree = serial_of(again) == serial_of(p.result) && again.ok() == p.result.ok();
        p.result = std::move(again);
        if (agree)
            return;
    }
}

// Every (address, port, SNI) once, in parallel: many certificates and hosts
// may share one endpoint, and 500 endpoints must take seconds, not minutes.
void probe_all(std::vector<Probe>& probes, const CheckOptions& options) {
    core::parallel_for(
        probes.size(), options.concurrency,
        [&](std::size_t i) {
            probes[i].result = probe_once(probes[i], options);
            settle(probes[i], options);
        },
        // A probe that threw saw nothing: its items are UNKNOWN (probe_failed).
        [&](std::size_t i, const std::string& what) {
            probes[i].result = core::fail(core::ErrorKind::Generic,
                                          "probe of " + probes[i].address + ":" +
                                              std::to_string(probes[i].port) + " failed: " + what);
        });
}

std::string deploy_failure_text(const state::EventRecord& e) {
    return "last deployment " + std::string(state::event_kind_name(e.kind)) + " at " +
           core::format_rfc3339(e.at) + ": " + e.detail;
}

// `last_deploy`: the host's newest event when it failed, or pinned the host
// (an operator's rollback); nullptr otherwise.
void judge_served(CheckItem& item, const Probe& probe,
                  const std::optional<state::StoredVersion>& current,
                  const state::EventRecord* last_deploy, const state::FleetIndex& index,
                  const inventory::Policy& policy, core::TimePoint at) {
    const std::string where = probe.address + ":" + std::to_string(probe.port);
    if (!probe.result) {
        add_reason(item, renewal::Severity::Unknown, CheckKind::ProbeFailed,
                   "cannot see what it serves: " + probe.result.error().message);
        return;
    }
    const auto& served = *probe.result;
    set_validity(item, served.info, policy, at);
    judge_revocation(
        item, state::find_revocation(index.revocations, item.certificate, served.info.serial_hex),
        where + " serves serial " + served.info.serial_hex + ",");
    if (!probe.server_name.empty()) {
        auto covers = core::certificate_covers(served.pem, probe.server_name);
        if (covers && !*covers)
            add_reason(item, renewal::Severity::Critical, CheckKind::NameMismatch,
                       where + " serves a certificate that is not valid for " + probe.server_name +
                           " (" + served.info.subject + ")");
    }
    if (current) {
        item.current = served.info.serial_hex == current->info.serial_hex;
        if (!item.current && last_deploy && state::pins_host(last_deploy->kind)) {
            // Deliberate: judged by its own expiry, and said so.
            item.message += "; pinned to version " + last_deploy->version + " by a rollback at " +
                            core::format_rfc3339(last_deploy->at);
            return;
        }
        // Why it is not current, when the ledger knows: more useful than the symptom.
        if (!item.current && last_deploy) {
            item.failed_deployment = last_deploy->kind;
            add_reason(item, renewal::Severity::Warning, CheckKind::DeployFailed,
                       deploy_failure_text(*last_deploy));
        }
        if (!item.current)
            add_reason(item, renewal::Severity::Warning, CheckKind::ServedMismatch,
                       where + " serves serial " + served.info.serial_hex + ", not the current " +
                           current->info.serial_hex + " (run `certfleet deploy " +
                           item.certificate + " --host " + item.host + "`)");
    }
}

}  // namespace

std::string_view check_source_name(CheckSource source) {
    return core::enum_name(kCheckSourceNames, source, "store");
}

std::optional<CheckSource> parse_check_source(std::string_view name) {
    return core::enum_from_name(kCheckSourceNames, name);
}

std::string_view check_kind_name(CheckKind kind) {
    return core::enum_name(kCheckKindNames, kind, "expiry");
}

std::optional<CheckKind> parse_check_kind(std::string_view name) {
    return core::enum_from_name(kCheckKindNames, name);
}

renewal::Severity CheckReport::state() const {
    renewal::Severity s = renewal::Severity::Ok;
    for (const auto& item : items)
        s = renewal::worst(s, item.severity);
    return s;
}

int CheckReport::exit_code() const {
    switch (state()) {
        case renewal::Severity::Ok:
            return 0;
        case renewal::Severity::Warning:
            return 1;
        case renewal::Severity::Critical:
            return 2;
        case renewal::Severity::Unknown:
            return 3;
    }
    return 3;
}

std::string CheckReport::first_line() const {
    std::map<renewal::Severity, int> counts;
    for (const auto& item : items)
        ++counts[item.severity];
    std::vector<const CheckItem*> problems;
    for (const auto& item : items)
        if (item.severity != renewal::Severity::Ok)
            problems.push_back(&item);
    std::stable_sort(problems.begin(), problems.end(), [](const auto* a, const auto* b) {
        return std::tie(a->severity, b->seconds_left) > std::tie(b->severity, a->seconds_left);
    });
    const std::string state_name = renewal::severity_label(state());
    std::string text;
    if (problems.empty()) {
        const CheckItem* next = nullptr;
        for (const auto& item : items)
            if (item.not_after && (!next || item.seconds_left < next->seconds_left))
                next = &item;
        text = std::to_string(items.size()) + " checked, all OK";
        if (next)
            text += "; next expiry: " + subject(*next) + " in " +
                    renewal::human_duration(core::Seconds(next->seconds_left));
    } else {
        for (size_t i = 0; i < problems.size() && i < 3; ++i) {
            const auto* p = problems[i];
            text +=
                (i ? "; " : "") + subject(*p) + ": " + p->message.substr(0, p->message.find("; "));
        }
        if (problems.size() > 3)
            text += "; and " + std::to_string(problems.size() - 3) + " more";
    }
    if (text.size() > 400)  // Nagios shows the first line in tables; keep it readable
        text = text.substr(0, 397) + "...";
    return "CERTFLEET " + state_name + " - " + text +
           " | critical=" + std::to_string(counts[renewal::Severity::Critical]) +
           " warning=" + std::to_string(counts[renewal::Severity::Warning]) +
           " unknown=" + std::to_string(counts[renewal::Severity::Unknown]) +
           " ok=" + std::to_string(counts[renewal::Severity::Ok]);
}

CheckReport run_check(const inventory::Inventory& inv, const state::Store& store,
                      const state::Ledger& ledger, const CheckOptions& options) {
    CheckReport report;
    const auto failures = ledger.all_failure_states();
    const auto last_events = ledger.latest_host_events();
    std::vector<std::string> names;
    for (const auto& [name, _] : inv.certificates)
        names.push_back(name);
    // From the ledger where it knows the version: 10,000 certificates in well
    // under a second instead of 10,000 PEM parses.
    auto index = state::index_fleet(store, ledger, names);
    auto& currents = index.current;
    for (const auto& [name, spec] : inv.certificates) {
        auto& current = currents[name];
        auto f = failures.find(name);
        const auto* revoked =
            current ? state::find_revocation(index.revocations, name, current->info.serial_hex)
                    : nullptr;
        report.items.push_back(store_item(spec, current, f == failures.end() ? nullptr : &f->second,
                                          revoked, inv.policy, options.at));
    }

    // One served item per (certificate, host) with verification enabled.
    std::vector<CheckItem> served;
    std::vector<size_t> probe_of;
    std::vector<const state::EventRecord*> failed_of;
    std::vector<Probe> probes;
    std::map<std::tuple<std::string, int, std::string>, size_t> probe_index;
    for (const auto& [name, spec] : inv.certificates) {
        for (const auto& host_name : inventory::deploy_hosts(inv, spec)) {
            const auto& host = inv.hosts.at(host_name);
            auto ev = last_events.find({name, host_name});
            bool deploy_failed =
                ev != last_events.end() && (ev->second.kind == state::EventKind::Failed ||
                                            ev->second.kind == state::EventKind::RolledBack ||
                                            ev->second.kind == state::EventKind::RollbackFailed);
            auto verify = fleet::host_target(inv, host, spec).verify;
            if (options.probe && verify.enabled) {
                auto key = std::make_tuple(verify.address, verify.port, verify.server_name);
                auto [it, added] = probe_index.emplace(key, probes.size());
                if (added)
                    probes.push_back({verify.address, verify.port, verify.server_name,
                                      currents[name] ? currents[name]->info.serial_hex : ""});
                probe_of.push_back(it->second);
                const bool pinned = ev != last_events.end() && state::pins_host(ev->second.kind);
                failed_of.push_back(deploy_failed || pinned ? &ev->second : nullptr);
                served.push_back(make_item(name, host_name, CheckSource::Served));
            } else if (deploy_failed) {
                // Without a probe the ledger is all we know about this host.
                CheckItem item = make_item(name, host_name, CheckSource::Store);
                item.failed_deployment = ev->second.kind;
                add_reason(item, renewal::Severity::Warning, CheckKind::DeployFailed,
                           deploy_failure_text(ev->second));
                report.items.push_back(std::move(item));
            }
        }
    }
    probe_all(probes, options);
    for (size_t i = 0; i < served.size(); ++i) {
        judge_served(served[i], probes[probe_of[i]], currents[served[i].certificate], failed_of[i],
                     index, inv.policy, options.at);
        report.items.push_back(std::move(served[i]));
    }
    return report;
}

}  // namespace certfleet::operations
