#include "operations/notices.hpp"

#include <spdlog/spdlog.h>

#include "hooks/dedup.hpp"

namespace certfleet::operations {

namespace {

std::string event_for(const CheckItem& item) {
    switch (item.kind) {
        case CheckKind::Expiry:
            return item.severity == renewal::Severity::Critical ? "expiry_critical"
                                                                : "expiry_warning";
        case CheckKind::RenewalFailing:
        case CheckKind::NotIssued:
            return "renewal_failure";
        case CheckKind::DeployFailed:
            return item.failed_deployment == state::EventKind::RolledBack ? "rollback"
                                                                          : "deployment_failure";
        case CheckKind::ServedMismatch:
        case CheckKind::NameMismatch:
            return "served_mismatch";
        case CheckKind::Revoked:
            return "revoked";
        case CheckKind::InvalidEntry:
            return "invalid_inventory";
        case CheckKind::ProbeFailed:
            break;
    }
    return "probe_failure";
}

std::string next_step(const CheckItem& item) {
    // --force: past the backoff, so the command really retries now; a
    // success clears the warning (run also retries it by itself).
    if (item.kind == CheckKind::RenewalFailing)
        return "Next step: fix what the error names (DNS provider, CA answer), then run "
               "`certfleet renew " +
               item.certificate +
               " --force -v` to retry at once; `certfleet run` also retries it under its "
               "backoff, and the warning clears when an attempt succeeds.";
    if (item.kind == CheckKind::NotIssued || (item.kind == CheckKind::Expiry && item.host.empty()))
        return "Next step: run `certfleet renew " + item.certificate +
               " -v`: it issues what is due and deploys it; fix what it reports (DNS provider, "
               "CA answer) if it fails.";
    if (item.kind == CheckKind::InvalidEntry)
        return "Next step: fix the entry (`certfleet validate` lists every error); until then "
               "runs leave it alone and renew and deploy the rest.";
    if (item.kind == CheckKind::Revoked)
        return "Next step: run `certfleet renew " + item.certificate +
               "`: it issues a replacement and deploys it to every host.";
    if (item.kind == CheckKind::ProbeFailed)
        return "Next step: check that " + item.host +
               " is up and its TLS listener answers (`certfleet status " + item.certificate + "`).";
    return "Next step: run `certfleet deploy " + item.certificate + " --host " + item.host +
           "` and read its error; `certfleet status " + item.certificate +
           "` shows what each host serves.";
}

hooks::Notice to_notice(const inventory::Inventory& inv, const CheckItem& item) {
    hooks::Notice n;
    n.event = event_for(item);
    n.severity = item.severity == renewal::Severity::Critical ? "critical" : "warning";
    if (item.source == CheckSource::Served)
        n.key = "served:" + item.certificate + "@" + item.host;
    else if (!item.host.empty())
        n.key = "deploy:" + item.certificate + "@" + item.host;
    else
        n.key = "cert:" + item.certificate;
    // Severity, reason and serial: a new serial or an escalation is news; the
    // ticking "expires in N days" is not.
    n.fingerprint = n.severity + "|" + std::string(check_kind_name(item.kind)) + "|" + item.serial;
    n.cert = item.certificate;
    n.host = item.host;
    if (auto it = inv.certificates.find(item.certificate); it != inv.certificates.end())
        n.domains = it->second.domains;
    n.serial = item.serial;
    if (item.not_after)
        n.not_after = core::format_rfc3339(*item.not_after);
    n.summary = item.certificate + (item.host.empty() ? "" : " on " + item.host) + ": " +
                item.message.substr(0, item.message.find("; "));
    n.detail = item.message + "\n" + next_step(item);
    return n;
}

// The "warning" hook (docs/inventory.md, hooks) as one more de-duplicated channel.
class WarningHookChannel final : public hooks::Notifier {
public:
    explicit WarningHookChannel(const hooks::HookRunner& runner) : m_runner(runner) {}
    std::string channel() const override { return "hook warning"; }
    core::Status send(const std::vector<hooks::Notice>& notices) override {
        for (const auto& n : notices)
            m_runner.fire(
                {"warning", n.cert, n.domains, n.serial, n.not_after, "", "", n.host, n.summary});
        return {};
    }

private:
    const hooks::HookRunner& m_runner;
};

std::vector<hooks::SentNotice> told(const state::Ledger& ledger, const std::string& channel) {
    std::vector<hooks::SentNotice> out;
    for (const auto& r : ledger.notices(channel))
        out.push_back({r.key, r.fingerprint, r.severity, r.summary, r.first_sent, r.last_sent});
    return out;
}

ChannelResult deliver_one(hooks::Notifier& notifier, const std::vector<hooks::Notice>& current,
                          const std::vector<std::string>& prefixes, state::Ledger& ledger,
                          core::TimePoint now, core::Seconds interval) {
    ChannelResult result{notifier.channel(), 0, ""};
    auto plan = hooks::plan_notices(current, told(ledger, result.channel), prefixes, now, interval);
    if (plan.to_send.empty())
        return result;
    if (auto st = notifier.send(plan.to_send); !st) {
        // Not remembered: the next run tries again.
        result.error = st.error().describe();
        spdlog::error("notification via {} failed: {}", result.channel, result.error);
        return result;
    }
    result.sent = static_cast<int>(plan.to_send.size());
    std::vector<state::NoticeRecord> records;
    for (const auto& s : plan.remember)
        records.push_back({result.channel, s.key, s.fingerprint, s.severity, s.summary,
                           s.first_sent, s.last_sent});
    if (auto st = ledger.save_notices(result.channel, records, plan.forget); !st) {
        // Sent but not remembered: every run repeats them until the ledger is fixed.
        result.error = "sent " + std::to_string(result.sent) +
                       " notice(s), but the ledger could not remember them: " + st.error().message +
                       "; next step: make " + ledger.path() +
                       " writable (until then each run sends them again)";
        spdlog::error("notification via {}: {}", result.channel, result.error);
    }
    return result;
}

}  // namespace

std::vector<hooks::Notice> notices_from_audit(const AuditReport& report) {
    std::vector<hooks::Notice> out;
    for (const auto& f : report.findings) {
        hooks::Notice n;
        n.event = "audit_finding";
        // An exposed key, a directory another user could write to, or an
        // expired certificate the web server loads is an incident; the rest
        // is housekeeping.
        using audit::FindingKind;
        const std::string kind(audit::finding_kind_name(f.kind));
        n.severity = f.kind == FindingKind::KeyExposed || f.kind == FindingKind::UntrustedDir ||
                             (f.kind == FindingKind::Expired && f.loaded)
                         ? "critical"
                         : "warning";
        n.key = "audit:" + f.host + ":" + kind + ":" + f.path;
        n.fingerprint = n.severity + "|" + kind + "|" + f.serial;
        n.cert = f.certificate;
        n.host = f.host;
        n.serial = f.serial;
        if (f.not_after)
            n.not_after = core::format_rfc3339(*f.not_after);
        n.summary = "audit: " + kind + " on " + f.host + ": " + f.path;
        n.detail = f.detail + "\nNext step: " + f.next_step;
        out.push_back(std::move(n));
    }
    for (const auto& h : report.hosts_failed) {
        hooks::Notice n;
        n.event = "audit_finding";
        n.severity = "warning";
        n.key = "audit-host:" + h.host;
        n.fingerprint = "warning|not_audited|";
        n.host = h.host;
        n.summary = "audit: " + h.host + " could not be audited";
        n.detail = h.error + (h.hint.empty() ? "" : "\nNext step: " + h.hint);
        out.push_back(std::move(n));
    }
    return out;
}

std::vector<std::string> audit_prefixes(const AuditReport& report) {
    std::vector<std::string> out{"audit-host:"};
    for (const auto& h : report.hosts_audited)
        out.push_back("audit:" + h + ":");
    if (report.store_audited)
        out.push_back(std::string("audit:") + audit::kStoreHost + ":");
    return out;
}

std::vector<hooks::Notice> notices_from_check(const inventory::Inventory& inv,
                                              const CheckReport& report) {
    std::vector<hooks::Notice> out;
    for (const auto& item : report.items)
        if (item.severity != renewal::Severity::Ok)
            out.push_back(to_notice(inv, item));
    return out;
}

hooks::Notice invalid_inventory_notice(const std::string& path,
                                       const std::vector<std::string>& errors) {
    constexpr size_t kShownErrors = 10;  // validate lists them all
    hooks::Notice n;
    n.event = "invalid_inventory";
    n.severity = "critical";
    n.key = kInventoryNoticePrefix + path;
    n.fingerprint = "critical|invalid_inventory";
    n.summary = "the inventory " + path + " is invalid: nothing was renewed or deployed";
    for (size_t i = 0; i < errors.size() && i < kShownErrors; ++i)
        n.detail += errors[i] + "\n";
    if (errors.size() > kShownErrors)
        n.detail += "(" + std::to_string(errors.size() - kShownErrors) + " more)\n";
    n.detail +=
        "Next step: fix it (`certfleet validate` lists every error); until then every run "
        "renews and deploys nothing, and certificates keep ageing.";
    return n;
}

std::vector<std::string> evaluated_prefixes(bool probed) {
    if (probed)
        return {"cert:", "deploy:", "served:"};
    return {"cert:", "deploy:"};
}

std::vector<ChannelResult> deliver_notices(const std::vector<hooks::Notice>& current,
                                           const std::vector<std::string>& prefixes,
                                           std::vector<std::unique_ptr<hooks::Notifier>>& notifiers,
                                           const hooks::HookRunner* hooks, state::Ledger& ledger,
                                           core::TimePoint now, core::Seconds interval) {
    std::vector<ChannelResult> results;
    results.reserve(notifiers.size() + 1);
    for (auto& notifier : notifiers)
        results.push_back(deliver_one(*notifier, current, prefixes, ledger, now, interval));
    if (hooks && hooks->has("warning")) {
        WarningHookChannel channel(*hooks);
        results.push_back(deliver_one(channel, current, prefixes, ledger, now, interval));
    }
    return results;
}

}  // namespace certfleet::operations
