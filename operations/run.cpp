#include "operations/run.hpp"

#include <random>

#include <spdlog/spdlog.h>

#include "fleet/hosts.hpp"
#include "hooks/metrics.hpp"
#include "inventory/secrets.hpp"
#include "operations/notifier_wiring.hpp"
#include "renewal/policy.hpp"
#include "state/store_index.hpp"

namespace certfleet::operations {

namespace {

hooks::RunMetrics collect_metrics(const Context& ctx, const RunReport& report,
                                  core::TimePoint started, core::TimePoint now) {
    hooks::RunMetrics m;
    m.now = now;
    m.last_run = started;
    m.last_run_duration_seconds = report.duration_seconds;
    m.quarantined_entries = report.quarantined_entries;
    m.inventory_valid = report.inventory_valid;
    // Without a valid inventory the store still knows what expires when.
    std::vector<std::string> names =
        report.inventory_valid ? std::vector<std::string>{} : ctx.store.certificate_names();
    for (const auto& [name, _] : ctx.inventory.certificates)
        names.push_back(name);
    auto index = state::index_fleet(ctx.store, ctx.ledger, names);
    for (const auto& name : names) {
        hooks::RunMetrics::Certificate c{name, "", std::nullopt, std::nullopt};
        if (const auto& current = index.current[name]) {
            c.serial = current->info.serial_hex;
            c.not_after = current->info.not_after;
            auto ari = index.ari.find(name);
            c.renew_at = renewal::renewal_time(
                current->info, ctx.inventory.policy,
                ari == index.ari.end() ? std::nullopt : std::optional(ari->second));
        }
        m.certificates.push_back(std::move(c));
    }
    int probe_failures = 0;
    for (const auto& item : report.check.items) {
        if (item.source != CheckSource::Served)
            continue;
        m.served.push_back({item.certificate, item.host, item.not_after, item.current});
        probe_failures += item.kind == CheckKind::ProbeFailed ? 1 : 0;
    }
    int deploy_failures = 0;
    for (const auto& h : report.deployed.hosts)
        deploy_failures +=
            h.result == HostResult::Failed || h.result == HostResult::RolledBack ? 1 : 0;
    int notify_failures = 0;
    for (const auto& n : report.notifications)
        notify_failures += n.error.empty() ? 0 : 1;
    m.failures_by_kind = {{"renewal", report.issued.failed()},
                          {"deployment", deploy_failures},
                          {"probe", probe_failures},
                          {"notification", notify_failures}};
    m.last_run_success = report.exit_code() == 0;
    return m;
}

// Spreads a fleet of managers (and their CA traffic) over the window.
// False when cancelled during the sleep.
bool sleep_jitter(const Context& ctx, core::Seconds jitter) {
    if (jitter.count() <= 0) {
        return true;
    }
    std::random_device seed;
    std::uniform_int_distribution<long long> pick(
        0, std::chrono::duration_cast<std::chrono::milliseconds>(jitter).count());
    std::chrono::milliseconds delay(pick(seed));
    spdlog::info("sleeping {} ms of jitter before the run", delay.count());
    return core::interruptible_sleep(delay, ctx.cancel);
}

// pre / post bracket real issuance only (as certbot's do): a run twice a
// day with nothing due must not stop and start anything — but it does
// run the post hook a killed run still owes.
void issue_and_deploy(Context& ctx, const RunOptions& options, const distribute::Deadline& limit,
                      RunReport& report) {
    settle_owed_post_hook(ctx);
    bool issuing = false;
    IssueOptions issue;
    issue.concurrency = options.issue_concurrency;
    issue.before_work = [&] {
        issuing = true;
        fire_hook(ctx, "pre");
    };
    report.issued = run_issue(ctx, issue);
    DeployOptions deploy;
    deploy.concurrency = options.deploy_concurrency;
    deploy.time_limit = limit;
    report.deployed = run_deploy(ctx, deploy);
    if (issuing)
        fire_hook(ctx, "post");
}

// What the notifications are about.
struct Findings {
    std::vector<hooks::Notice> notices;
    std::vector<std::string> prefixes;  // of the notice keys evaluated this run
};

// The check (with probes) and, with options.audit, the audit.
CheckItem quarantined_item(const inventory::QuarantinedEntry& entry) {
    CheckItem item;
    const bool cert = entry.kind == inventory::EntryKind::Certificate;
    item.certificate = cert ? entry.name : "";
    item.host = cert ? "" : entry.name;
    item.kind = CheckKind::InvalidEntry;
    item.severity = renewal::Severity::Critical;
    item.message = std::string(cert ? "certificate" : "host") + " entry '" + entry.name +
                   "' is invalid and was left out of this run: " +
                   (entry.errors.empty() ? std::string("see certfleet validate") : entry.errors[0]);
    return item;
}

Findings check_and_audit(Context& ctx, const RunOptions& options, core::TimePoint at,
                         const distribute::Deadline& limit, RunReport& report) {
    CheckOptions check;
    check.at = at;
    check.probe = true;
    report.check = run_check(ctx.inventory, ctx.store, ctx.ledger, check);
    for (const auto& entry : options.quarantined)
        report.check.items.push_back(quarantined_item(entry));

    Findings findings{notices_from_check(ctx.inventory, report.check), evaluated_prefixes(true)};
    findings.prefixes.emplace_back(kInventoryNoticePrefix);  // loaded: an alarm resolves
    if (options.audit) {
        AuditOptions audit;
        audit.now = at;
        audit.concurrency = options.deploy_concurrency;
        audit.time_limit = limit;
        report.audit = run_audit(ctx.inventory, ctx.store, ctx.ledger, audit);
        for (auto& n : notices_from_audit(*report.audit))
            findings.notices.push_back(std::move(n));
        for (auto& p : audit_prefixes(*report.audit))
            findings.prefixes.push_back(std::move(p));
    }
    return findings;
}

void send_notifications(Context& ctx, const RunOptions& options, const Findings& findings,
                        core::TimePoint at, RunReport& report) {
    hooks::NotifierOptions notifier_options;
    notifier_options.manager_host = options.manager_host;
    notifier_options.ca_bundle = ctx.inventory.acme.ca_bundle;
    notifier_options.read_secret = [](const std::string& reference) {
        return inventory::read_secret(reference, "");  // paths were resolved when loading
    };
    auto notifiers = make_notifiers(ctx.inventory.notify, notifier_options);
    if (!notifiers) {
        report.notifications.push_back({"notify", 0, notifiers.error().describe()});
        spdlog::error("notifications: {}", notifiers.error().describe());
    } else {
        report.notifications =
            deliver_notices(findings.notices, findings.prefixes, *notifiers, ctx.hooks, ctx.ledger,
                            at, ctx.inventory.policy.notify_interval);
    }
}

// The Prometheus textfiles: a failed write is reported, not fatal.
void write_metrics(const Context& ctx, core::TimePoint started, core::TimePoint at,
                   RunReport& report) {
    const auto paths = textfile_paths(ctx.inventory.notify);
    if (!paths.empty()) {
        auto metrics = collect_metrics(ctx, report, started, at);
        for (const auto& path : paths) {
            if (auto st = hooks::write_textfile(path, metrics); !st) {
                report.metrics_errors.push_back(path + ": " + st.error().describe());
                spdlog::error("metrics textfile {}: {}", path, st.error().describe());
            }
        }
    }
}

}  // namespace

int RunReport::exit_code() const {
    int code = std::max(issued.exit_code(), deployed.exit_code());
    switch (check.state()) {
        case renewal::Severity::Critical:
            code = 2;
            break;
        case renewal::Severity::Warning:
        case renewal::Severity::Unknown:
            code = std::max(code, 1);
            break;
        case renewal::Severity::Ok:
            break;
    }
    for (const auto& n : notifications)
        if (!n.error.empty())
            code = std::max(code, 1);
    if (!metrics_errors.empty())
        code = std::max(code, 1);
    if (audit && (!audit->findings.empty() || !audit->hosts_failed.empty()))
        code = std::max(code, 1);
    if (cancelled || !inventory_valid)
        code = std::max(code, 2);
    return code;
}

RunReport run_scheduled(Context& ctx, const RunOptions& options) {
    RunReport report;
    report.quarantined_entries = static_cast<int>(options.quarantined.size());
    if (!sleep_jitter(ctx, options.jitter)) {
        report.cancelled = true;
        return report;
    }
    const auto started_steady = std::chrono::steady_clock::now();
    const core::TimePoint started = ctx.clock.now();
    const distribute::Deadline limit = fleet::run_limit_deadline(options.time_limit);
    issue_and_deploy(ctx, options, limit, report);
    if (ctx.cancel && ctx.cancel->load()) {
        report.cancelled = true;
        return report;
    }
    const core::TimePoint checked_at = ctx.clock.now();
    const Findings findings = check_and_audit(ctx, options, checked_at, limit, report);
    send_notifications(ctx, options, findings, checked_at, report);
    report.duration_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started_steady).count();
    write_metrics(ctx, started, checked_at, report);
    return report;
}

RunReport alarm_invalid_inventory(Context& ctx, const RunOptions& options,
                                  const std::vector<std::string>& errors) {
    RunReport report;
    report.inventory_valid = false;
    const auto started_steady = std::chrono::steady_clock::now();
    const core::TimePoint at = ctx.clock.now();
    const Findings findings{{invalid_inventory_notice(ctx.inventory.path, errors)},
                            {kInventoryNoticePrefix}};
    send_notifications(ctx, options, findings, at, report);
    report.duration_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started_steady).count();
    write_metrics(ctx, at, at, report);
    return report;
}

}  // namespace certfleet::operations
