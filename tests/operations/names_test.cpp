// Every enum that is printed, stored or parsed: each enumerator has a name,
// and that name parses back to it (one table per enum, read both ways).
#include <set>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "audit/classify.hpp"
#include "distribute/deploy.hpp"
#include "inventory/model.hpp"
#include "operations/check.hpp"
#include "operations/fleet_status.hpp"
#include "operations/issue.hpp"
#include "operations/revoke.hpp"
#include "operations/status.hpp"
#include "state/ledger.hpp"

using namespace certfleet;

namespace {

// Names are unique, non-empty, and parse back to the value they came from.
template <class E, class NameOf, class Parse>
void check_round_trip(const std::vector<E>& values, NameOf name_of, Parse parse) {
    std::set<std::string> seen;
    for (E value : values) {
        std::string name{name_of(value)};
        INFO("name: " << name);
        CHECK_FALSE(name.empty());
        CHECK(seen.insert(name).second);
        CHECK(parse(name) == value);
    }
    CHECK_FALSE(parse("no-such-name").has_value());
}

}  // namespace

TEST_CASE("names: audit finding kinds", "[names]") {
    using audit::FindingKind;
    check_round_trip<FindingKind>(
        {FindingKind::Orphan, FindingKind::Stale, FindingKind::Expired, FindingKind::Expiring,
         FindingKind::KeyExposed, FindingKind::KeyMismatch, FindingKind::ServedMismatch,
         FindingKind::Missing},
        audit::finding_kind_name, audit::parse_finding_kind);
    CHECK(audit::finding_kind_name(FindingKind::KeyExposed) == "key_exposed");
}

TEST_CASE("names: deployment results", "[names]") {
    using distribute::DeployResult;
    check_round_trip<DeployResult>(
        {DeployResult::Deployed, DeployResult::Unchanged, DeployResult::RolledBack,
         DeployResult::Failed, DeployResult::Skipped, DeployResult::Planned},
        distribute::deploy_result_name, distribute::parse_deploy_result);
    CHECK(distribute::deploy_result_name(DeployResult::RolledBack) == "rolled_back");
}

TEST_CASE("names: hook events", "[names]") {
    std::vector<inventory::HookEvent> events(std::begin(inventory::kHookEvents),
                                             std::end(inventory::kHookEvents));
    check_round_trip(events, inventory::hook_event_name, inventory::parse_hook_event);
    CHECK(inventory::hook_event_name(inventory::HookEvent::Deploy) == "deploy");
}

TEST_CASE("names: host transports", "[names]") {
    using inventory::HostTransport;
    check_round_trip<HostTransport>({HostTransport::Ssh, HostTransport::Local},
                                    inventory::host_transport_name,
                                    inventory::parse_host_transport);
}

TEST_CASE("names: certificate actions and states", "[names]") {
    using operations::CertificateAction;
    using operations::CertificateState;
    check_round_trip<CertificateAction>(
        {CertificateAction::Issued, CertificateAction::Unchanged, CertificateAction::Planned,
         CertificateAction::Deferred, CertificateAction::Failed, CertificateAction::NotStarted},
        [](CertificateAction a) { return operations::certificate_action_name(a); },
        [](std::string_view n) { return operations::parse_certificate_action(n); });
    check_round_trip<CertificateState>(
        {CertificateState::Ok, CertificateState::Due, CertificateState::Expired,
         CertificateState::Missing, CertificateState::Revoked},
        operations::certificate_state_name, operations::parse_certificate_state);
}

TEST_CASE("names: revocation reasons", "[names]") {
    using acme::RevocationReason;
    check_round_trip<RevocationReason>(
        {RevocationReason::Unspecified, RevocationReason::KeyCompromise,
         RevocationReason::Superseded, RevocationReason::CessationOfOperation},
        operations::revocation_reason_name, operations::parse_revocation_reason);
    CHECK(operations::revocation_reason_names().size() == 4);
}

TEST_CASE("names: ledger event kinds", "[names]") {
    using state::EventKind;
    check_round_trip<EventKind>(
        {EventKind::Deployed, EventKind::Unchanged, EventKind::RolledBack, EventKind::Failed,
         EventKind::Rollback, EventKind::RollbackFailed, EventKind::Revoked, EventKind::Unpinned},
        state::event_kind_name, state::parse_event_kind);
    CHECK(state::event_kind_name(EventKind::RollbackFailed) == "rollback_failed");
}

TEST_CASE("names: check sources and kinds", "[names]") {
    using operations::CheckKind;
    using operations::CheckSource;
    check_round_trip<CheckSource>({CheckSource::Store, CheckSource::Served},
                                  operations::check_source_name, operations::parse_check_source);
    check_round_trip<CheckKind>(
        {CheckKind::Expiry, CheckKind::NotIssued, CheckKind::RenewalFailing,
         CheckKind::DeployFailed, CheckKind::ServedMismatch, CheckKind::NameMismatch,
         CheckKind::ProbeFailed, CheckKind::Revoked},
        operations::check_kind_name, operations::parse_check_kind);
    CHECK(operations::check_kind_name(CheckKind::NotIssued) == "not_issued");
}

TEST_CASE("names: host states", "[names]") {
    using operations::HostState;
    check_round_trip<HostState>(
        {HostState::Current, HostState::Stale, HostState::Missing, HostState::Failed,
         HostState::Unknown, HostState::Revoked, HostState::Pinned},
        operations::host_state_name, operations::parse_host_state);
}
