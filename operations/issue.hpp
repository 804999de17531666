// `certfleet issue`: decide what is due, obtain it from the CA (several
// certificates concurrently, bounded), store it, record it in the ledger.
#pragma once

#include <atomic>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/enum_names.hpp"
#include "hooks/hooks.hpp"
#include "inventory/model.hpp"
#include "state/ledger.hpp"
#include "state/store.hpp"

namespace certfleet::operations {

struct IssueOptions {
    std::vector<std::string> names;  // empty: every certificate
    bool force = false;
    bool dry_run = false;
    int concurrency = 8;
    // Called once, before the first order, only when something is due: lets
    // `run` fire the "pre" hook (which may stop a service) only for real work.
    std::function<void()> before_work;
};

// What issue / renew / run did with one certificate. The names are what
// they print and put in JSON ("action").
enum class CertificateAction {
    Issued,      // "issued": a new version is in the store
    Unchanged,   // "unchanged": not due
    Planned,     // "planned": due; --dry-run requested nothing
    Deferred,    // "deferred": due, but backing off after failures
    Failed,      // "failed": due, and the CA, DNS or the store failed
    NotStarted,  // "not_started": due, but the command was interrupted (SIGINT/SIGTERM) first
};

inline constexpr core::EnumNames<CertificateAction> kCertificateActionNames[] = {
    {CertificateAction::Issued, "issued"},   {CertificateAction::Unchanged, "unchanged"},
    {CertificateAction::Planned, "planned"}, {CertificateAction::Deferred, "deferred"},
    {CertificateAction::Failed, "failed"},   {CertificateAction::NotStarted, "not_started"},
};

constexpr std::string_view certificate_action_name(CertificateAction action) {
    return core::enum_name(kCertificateActionNames, action, "failed");
}

constexpr std::optional<CertificateAction> parse_certificate_action(std::string_view name) {
    return core::enum_from_name(kCertificateActionNames, name);
}

struct CertificateOutcome {
    std::string name;
    CertificateAction action = CertificateAction::Failed;
    std::string reason;  // why it was (not) due
    std::string serial;
    std::string version;
    std::string not_after;  // RFC 3339
    std::string error;
    std::string hint;
    // Issued and stored, but the ledger could not record it (what went wrong
    // and the next step); empty when recorded. Counts in exit_code.
    std::string ledger_error;
};

struct IssueReport {
    std::vector<CertificateOutcome> certificates;
    int failed() const;
    // 0 all fine, 1 some failed (or an issuance the ledger could not record),
    // 2 all attempted failed.
    int exit_code() const;
};

struct Context {
    const inventory::Inventory& inventory;
    state::Store& store;
    state::Ledger& ledger;
    const core::Clock& clock;
    const std::atomic<bool>* cancel = nullptr;
    std::function<void(const std::string& cert, const std::string& step)> progress;
    const hooks::HookRunner* hooks = nullptr;  // the inventory's hooks; none when null
};

// The hooks of the inventory's "hooks" object.
hooks::HookRunner make_hook_runner(const inventory::Inventory& inventory);
// Fires a hook that concerns no single certificate (pre, post). `pre` first
// runs a `post` an interrupted run still owes, then records that this run
// owes one (in the ledger, until its `post` has run): whatever `pre` stopped
// is started again even when the run that stopped it was killed.
void fire_hook(const Context& ctx, const std::string& event, const std::string& message = {});
// Runs the `post` hook an interrupted run owes, if any (fire_hook("pre")
// does this too; `run` calls it when it has nothing to issue).
void settle_owed_post_hook(const Context& ctx);

IssueReport run_issue(Context& ctx, const IssueOptions& options);

}  // namespace certfleet::operations
