#include "hooks/dedup.hpp"

#include <algorithm>
#include <map>

namespace certfleet::hooks {

namespace {

// A notice without a fingerprint still needs one: what an operator would call
// "the same message" is the same severity about the same serial.
std::string fingerprint_of(const Notice& n) {
    if (!n.fingerprint.empty())
        return n.fingerprint;
    return n.severity + "|" + n.serial + "|" + n.summary;
}

bool under_any(const std::string& key, const std::vector<std::string>& prefixes) {
    return std::any_of(prefixes.begin(), prefixes.end(),
                       [&](const std::string& p) { return !p.empty() && key.starts_with(p); });
}

// The ledger keeps only the key, so certificate and host of a resolved
// problem come back from the key convention "<kind>:<cert>[@<host>]"; audit
// keys are "audit:<host>:<finding>:<path>" and "audit-host:<host>";
// "inventory:<path>" concerns no single certificate or host.
void fill_subject_from_key(Notice& n) {
    if (n.key.starts_with("inventory:"))
        return;
    auto colon = n.key.find(':');
    if (n.key.starts_with("audit:") || n.key.starts_with("audit-host:")) {
        auto end = n.key.find(':', colon + 1);
        n.host = n.key.substr(colon + 1, end == std::string::npos ? end : end - colon - 1);
        return;
    }
    std::string rest = colon == std::string::npos ? n.key : n.key.substr(colon + 1);
    auto at = rest.find('@');
    n.cert = rest.substr(0, at);
    if (at != std::string::npos)
        n.host = rest.substr(at + 1);
}

}  // namespace

NoticePlan plan_notices(const std::vector<Notice>& current, const std::vector<SentNotice>& told,
                        const std::vector<std::string>& evaluated_prefixes, core::TimePoint now,
                        core::Seconds interval) {
    std::map<std::string, const SentNotice*> told_by_key;
    for (const auto& t : told)
        told_by_key.emplace(t.key, &t);

    // One notice per key (the first one given wins), in key order.
    std::map<std::string, const Notice*> current_by_key;
    for (const auto& n : current)
        current_by_key.emplace(n.key, &n);

    NoticePlan plan;
    for (const auto& [key, notice] : current_by_key) {
        std::string fingerprint = fingerprint_of(*notice);
        SentNotice record{key, fingerprint, notice->severity, notice->summary, now, now};
        auto old = told_by_key.find(key);
        if (old != told_by_key.end()) {
            const SentNotice& before = *old->second;
            bool changed = before.fingerprint != fingerprint;
            bool due = now >= before.last_sent + interval;
            if (!changed && !due)
                continue;
            record.first_sent = before.first_sent;  // still the same open problem
        }
        plan.to_send.push_back(*notice);
        plan.remember.push_back(std::move(record));
    }

    for (const auto& [key, before] : told_by_key) {
        if (current_by_key.count(key) || !under_any(key, evaluated_prefixes))
            continue;
        Notice resolved;
        resolved.event = "resolved";
        resolved.severity = "resolved";
        resolved.key = key;
        resolved.fingerprint = "resolved";
        fill_subject_from_key(resolved);
        resolved.summary = "resolved: " + before->summary;
        plan.to_send.push_back(std::move(resolved));
        plan.forget.push_back(key);
    }

    std::stable_sort(plan.to_send.begin(), plan.to_send.end(),
                     [](const Notice& a, const Notice& b) { return a.key < b.key; });
    return plan;
}

}  // namespace certfleet::hooks
