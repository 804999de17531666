// From a run's findings to notifications: which problems exist now (one
// notice each), and delivery per channel with de-duplication remembered in
// the ledger, so an open problem is repeated at most once per notify_interval
// and a fixed one gets a single "resolved" notice.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "hooks/hooks.hpp"
#include "hooks/notify.hpp"
#include "operations/audit.hpp"
#include "operations/check.hpp"
#include "state/ledger.hpp"

namespace certfleet::operations {

// One notice per check item that is not OK. Keys: "cert:<name>" for the
// store's certificate (expiry, renewal failing, not issued), "deploy:<cert>@<host>"
// for a failed deployment known from the ledger, "served:<cert>@<host>" for
// what a probed host serves.
std::vector<hooks::Notice> notices_from_check(const inventory::Inventory& inv,
                                              const CheckReport& report);
// The notice of a run that could not load its inventory at all, keyed
// kInventoryNoticePrefix + path; every run that loads it evaluates the prefix.
inline constexpr const char* kInventoryNoticePrefix = "inventory:";
hooks::Notice invalid_inventory_notice(const std::string& path,
                                       const std::vector<std::string>& errors);

// The key prefixes a check looked at: served problems resolve only when probed.
std::vector<std::string> evaluated_prefixes(bool probed);

// One notice per audit finding, keyed "audit:<host>:<kind>:<path>" (critical
// for an exposed key or an expired certificate the web server loads), and one
// per host that could not be audited ("audit-host:<host>").
std::vector<hooks::Notice> notices_from_audit(const AuditReport& report);
// What an audit evaluated: findings resolve only on hosts it reached.
std::vector<std::string> audit_prefixes(const AuditReport& report);

struct ChannelResult {
    std::string channel;
    int sent = 0;  // notices delivered (including "resolved" ones)
    std::string error;
};

// For each channel: plan against what it was told, send, and only when the
// channel accepted the batch, remember it. The "warning" hook is a channel
// too (per notice, de-duplicated the same way) when one is configured.
std::vector<ChannelResult> deliver_notices(const std::vector<hooks::Notice>& current,
                                           const std::vector<std::string>& prefixes,
                                           std::vector<std::unique_ptr<hooks::Notifier>>& notifiers,
                                           const hooks::HookRunner* hooks, state::Ledger& ledger,
                                           core::TimePoint now, core::Seconds interval);

}  // namespace certfleet::operations
