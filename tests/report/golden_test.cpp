// Every table and JSON document the commands print, in every state they can
// show, pinned to tests/data/golden/ (see support/golden.hpp).
#include "support/golden.hpp"

#include <csignal>

#include <catch2/catch.hpp>

#include "core/time.hpp"
#include "report/audit_report.hpp"
#include "report/fleet_report.hpp"
#include "report/status_report.hpp"
#include "report/table.hpp"

using namespace certfleet;
using operations::CertificateAction;
using operations::HostResult;

namespace {

core::TimePoint at(const char* text) {
    return core::parse_rfc3339(text).value();
}

operations::CertificateOutcome issued(std::string name, CertificateAction action,
                                      std::string reason) {
    operations::CertificateOutcome c;
    c.name = std::move(name);
    c.action = action;
    c.reason = std::move(reason);
    return c;
}

operations::IssueReport issue_report() {
    operations::IssueReport r;
    auto site = issued("site", CertificateAction::Issued, "renewal window opened 2026-12-05");
    site.serial = "0A1B2C3D4E5F60718293A4B5C6D7E8F9";
    site.version = "20261207T100000Z";
    site.not_after = "2026-12-13T10:00:00Z";
    r.certificates.push_back(site);
    r.certificates.push_back(
        issued("api", CertificateAction::Unchanged, "not due until 2026-12-11T02:00:00Z"));
    r.certificates.push_back(issued("wild", CertificateAction::Planned, "not issued yet"));
    r.certificates.push_back(
        issued("old", CertificateAction::Deferred, "due; retrying after 2026-12-07T12:00:00Z"));
    auto media = issued("media", CertificateAction::Failed, "expires in 2 days");
    media.error = "DNS provider 'primary': TSIG verify failure (BADKEY)\nzone example.test";
    media.hint = "check dns.providers.primary.tsig_secret_file, then `certfleet renew media -v`";
    r.certificates.push_back(media);
    auto late = issued("late", CertificateAction::NotStarted, "expires in 3 days");
    late.error = "not started: certfleet was interrupted first";
    r.certificates.push_back(late);
    auto shop = issued("shop", CertificateAction::Issued, "forced");
    shop.serial = "00FF";
    shop.version = "20261207T100001Z";
    shop.not_after = "2026-12-13T10:00:01Z";
    shop.ledger_error = "the ledger could not record it (disk full); run `certfleet status shop`";
    r.certificates.push_back(shop);
    return r;
}

operations::HostOutcome host(std::string cert, std::string name, HostResult result,
                             std::string version) {
    operations::HostOutcome h;
    h.certificate = std::move(cert);
    h.host = std::move(name);
    h.result = result;
    h.version = std::move(version);
    return h;
}

operations::DeployReport deploy_report() {
    operations::DeployReport r;
    const std::string v2 = "20261207T100000Z";
    auto canary = host("site", "cdn-fra-1", HostResult::Deployed, v2);
    canary.wave = "cdn canary";
    canary.served_serial = "0A1B2C3D4E5F60718293A4B5C6D7E8F9";
    r.hosts.push_back(canary);
    auto same = host("site", "cdn-fra-2", HostResult::Unchanged, v2);
    same.wave = "cdn wave 1/2";
    r.hosts.push_back(same);
    auto broken = host("site", "cdn-lon-1", HostResult::RolledBack, v2);
    broken.wave = "cdn wave 1/2";
    broken.error =
        "nginx -t failed; the previous version is back:\nnginx: [emerg] cannot load "
        "certificate\nnginx: configuration file /etc/nginx/nginx.conf test failed";
    broken.hint = "fix the server configuration, then `certfleet deploy site --host cdn-lon-1`";
    r.hosts.push_back(broken);
    auto down = host("site", "cdn-nyc-1", HostResult::Failed, "");
    down.wave = "cdn wave 2/2";
    down.error = "ssh 127.0.80.14:2222: connection timed out after 10s";
    down.hint = "check that cdn-nyc-1 is up and sshd answers";
    r.hosts.push_back(down);
    auto stopped = host("site", "cdn-sfo-1", HostResult::Skipped, "");
    stopped.error = "the rollout stopped after failures in its group";
    r.hosts.push_back(stopped);
    auto later = host("site", "cdn-syd-1", HostResult::NotStarted, "");
    later.wave = "cdn wave 2/2";
    later.error = "not started: certfleet was interrupted before this host; it is untouched";
    later.hint = "run `certfleet deploy site` to finish the rollout";
    r.hosts.push_back(later);
    auto pinned = host("media", "edge-1", HostResult::Pinned, "20261201T080000Z");
    pinned.note =
        "pinned by a rollback on 2026-12-06T09:00:00Z (bad intermediate); "
        "`certfleet deploy media --host edge-1 --force` lifts it";
    r.hosts.push_back(pinned);
    auto planned = host("media", "edge-2", HostResult::Planned, v2);
    planned.note = "has 20261201T080000Z; would deploy " + v2;
    r.hosts.push_back(planned);
    auto adopted = host("media", "edge-3", HostResult::Deployed, v2);
    adopted.adopted = true;
    adopted.ledger_error = "the ledger could not record it (disk full)";
    r.hosts.push_back(adopted);
    return r;
}

operations::CheckItem check_item(std::string cert, std::string host_name,
                                 operations::CheckKind kind, renewal::Severity severity,
                                 std::string message) {
    operations::CheckItem item;
    item.certificate = std::move(cert);
    item.host = std::move(host_name);
    item.source =
        item.host.empty() ? operations::CheckSource::Store : operations::CheckSource::Served;
    item.kind = kind;
    item.severity = severity;
    item.message = std::move(message);
    item.serial = "0A1B";
    item.not_after = at("2026-12-13T10:00:00Z");
    item.seconds_left = 518400;
    return item;
}

operations::CheckReport check_report() {
    using operations::CheckKind;
    using renewal::Severity;
    operations::CheckReport r;
    r.items.push_back(check_item("api", "", CheckKind::Expiry, Severity::Ok, "expires in 6d"));
    r.items.push_back(check_item("media", "", CheckKind::RenewalFailing, Severity::Warning,
                                 "expires in 5d; renewal failing since 2026-12-06T10:00:00Z "
                                 "(3 attempts): TSIG verify failure"));
    r.items.push_back(check_item("site", "", CheckKind::Revoked, Severity::Critical,
                                 "revoked at 2026-12-07T09:00:00Z (reason keyCompromise)"));
    auto gone = check_item("wild", "", CheckKind::NotIssued, Severity::Critical, "not issued yet");
    gone.serial.clear();
    gone.not_after.reset();
    r.items.push_back(gone);
    r.items.push_back(check_item("site", "cdn-fra-1", CheckKind::ServedMismatch, Severity::Warning,
                                 "serves 0A1A, not the current 0A1B (run `certfleet deploy site "
                                 "--host cdn-fra-1`)"));
    auto unreachable = check_item("site", "cdn-nyc-1", CheckKind::ProbeFailed, Severity::Unknown,
                                  "TLS handshake with 127.0.80.14:8443 failed: connection "
                                  "refused");
    unreachable.not_after.reset();
    r.items.push_back(unreachable);
    auto bad = check_item("", "cdn-bad", CheckKind::InvalidEntry, Severity::Critical,
                          "host entry 'cdn-bad' is invalid and was left out of this run");
    bad.source = operations::CheckSource::Store;
    r.items.push_back(bad);
    return r;
}

operations::HostCertStatus host_status(std::string name, operations::HostState state,
                                       std::string version, std::string served,
                                       std::string detail) {
    operations::HostCertStatus h;
    h.host = std::move(name);
    h.state = state;
    h.deployed_version = std::move(version);
    h.deployed_serial = h.deployed_version.empty() ? "" : "0A1B";
    h.served_serial = std::move(served);
    h.detail = std::move(detail);
    return h;
}

operations::CertificateStatus cert_status(std::string name, operations::CertificateState state,
                                          std::string reason, bool issued_yet = true) {
    operations::CertificateStatus c;
    c.name = std::move(name);
    c.domains = {c.name + ".example.test", "www." + c.name + ".example.test"};
    c.state = state;
    c.reason = std::move(reason);
    if (issued_yet)
        c.current =
            operations::CurrentVersion{"20261207T100000Z",         "0A1B",
                                       at("2026-12-07T09:00:00Z"), at("2026-12-13T09:00:00Z"),
                                       at("2026-12-11T01:00:00Z"), std::nullopt};
    return c;
}

operations::StatusReport status_report() {
    using operations::CertificateState;
    using operations::HostState;
    operations::StatusReport r;
    auto site = cert_status("site", CertificateState::Ok, "not due until 2026-12-11T01:00:00Z");
    const std::string v = "20261207T100000Z";
    site.hosts.push_back(host_status("cdn-fra-1", HostState::Current, v, "0A1B", ""));
    site.hosts.push_back(host_status("cdn-fra-2", HostState::Stale, "20261201T080000Z", "0901",
                                     "has 20261201T080000Z; current is " + v));
    site.hosts.push_back(host_status("cdn-lon-1", HostState::Missing, "", "-",
                                     "/etc/certfleet/site/current/cert.pem is gone"));
    site.hosts.push_back(host_status("cdn-nyc-1", HostState::Unknown, "", "",
                                     "could not read the host: ssh 127.0.80.14:2222: host key "
                                     "changed"));
    site.hosts.push_back(host_status("cdn-sfo-1", HostState::Failed, "20261201T080000Z", "0901",
                                     "last deployment rolled back: nginx -t failed\nnginx: "
                                     "[emerg] cannot load certificate"));
    site.hosts.push_back(host_status("cdn-syd-1", HostState::Pinned, "20261201T080000Z", "0901",
                                     "pinned since 2026-12-06T09:00:00Z: bad intermediate"));
    r.certificates.push_back(site);
    auto media = cert_status("media", CertificateState::Revoked,
                             "revoked at 2026-12-07T09:30:00Z (reason keyCompromise); run "
                             "`certfleet renew media`");
    media.current->revoked =
        state::Revocation{"media", v, "0A1B", "keyCompromise", at("2026-12-07T09:30:00Z")};
    media.hosts.push_back(
        host_status("edge-1", HostState::Revoked, v, "0A1B", "serves a revoked serial"));
    r.certificates.push_back(media);
    auto api = cert_status("api", CertificateState::Due,
                           "renewal window opened; last attempt failed at 2026-12-07T08:00:00Z "
                           "(3 in a row): TSIG verify failure — `certfleet run` retries it; "
                           "`certfleet renew api --force -v` retries now");
    api.failure =
        state::FailureState{3, at("2026-12-07T08:00:00Z"), "TSIG verify failure", std::nullopt};
    r.certificates.push_back(api);
    r.certificates.push_back(
        cert_status("wild", CertificateState::Missing, "not issued yet", /*issued_yet=*/false));
    r.certificates.push_back(
        cert_status("old", CertificateState::Expired, "expired 2026-12-01T00:00:00Z"));
    return r;
}

operations::AuditReport audit_report() {
    operations::AuditReport r;
    r.hosts_audited = {"cdn-fra-1", "cdn-fra-2"};
    r.store_audited = true;
    audit::AuditFinding orphan;
    orphan.host = "cdn-fra-1";
    orphan.kind = audit::FindingKind::Orphan;
    orphan.path = "/etc/ssl/old/legacy.pem";
    orphan.subject = "CN=legacy.example.test";
    orphan.serial = "1234";
    orphan.not_after = at("2026-12-09T00:00:00Z");
    orphan.loaded = true;
    orphan.detail = "nginx loads it; no inventory certificate deploys it; expires in 1 day";
    orphan.next_step = "add it to the inventory or remove its ssl_certificate line";
    r.findings.push_back(orphan);
    audit::AuditFinding exposed;
    exposed.host = "cdn-fra-1";
    exposed.kind = audit::FindingKind::KeyExposed;
    exposed.path = "/etc/certfleet/site/20261207T100000Z/privkey.pem";
    exposed.certificate = "site";
    exposed.detail = "mode 0644: every user can read the private key";
    exposed.next_step = "chmod 600 it and renew: `certfleet renew site --force`";
    r.findings.push_back(exposed);
    r.hosts_failed.push_back({"cdn-nyc-1", "ssh 127.0.80.14:2222: connection refused",
                              "check that cdn-nyc-1 is up and sshd answers"});
    r.unchecked.push_back({"cdn-fra-2", "include /etc/nginx/sites/*.conf matched no file"});
    return r;
}

}  // namespace

TEST_CASE("format_table fits columns and indents multi-line cells", "[golden][report]") {
    check_golden("table.txt", report::format_table({"A", "LONGER HEADER", "C"},
                                                   {{"wide value", "x", "last"},
                                                    {"y", "two\nlines under their column", ""},
                                                    {"", "", "trailing spaces are trimmed   "}}));
}

TEST_CASE("the issue table shows every action; -q only failures", "[golden][report]") {
    const auto r = issue_report();
    check_golden("issue.txt",
                 report::issue_table(r, false) + "--- stderr\n" + report::issue_notes(r));
    check_golden("issue-quiet.txt", report::issue_table(r, true));
    CHECK(report::issue_table(operations::IssueReport{}, false).empty());
}

TEST_CASE("the deploy table shows every result; -q only trouble", "[golden][report]") {
    const auto r = deploy_report();
    check_golden("deploy.txt",
                 report::deploy_table(r, false) + "--- stderr\n" + report::deploy_notes(r));
    check_golden("deploy-quiet.txt", report::deploy_table(r, true));
}

TEST_CASE("the renew document has certificates, hosts and the interruption", "[golden][report]") {
    const auto issued_report = issue_report();
    const auto deployed = deploy_report();
    check_golden("renew.json",
                 report::fleet_report_json(&issued_report, &deployed, SIGTERM).dump(2) + "\n");
    CHECK(report::fleet_report_json(nullptr, &deployed, 0)["interrupted"].is_null());
}

TEST_CASE("the check table shows what is not OK, every item with -v", "[golden][report]") {
    const auto r = check_report();
    check_golden("check.txt", r.first_line() + "\n" + report::check_table(r, false));
    check_golden("check-verbose.txt", report::check_table(r, true));
    check_golden("check.json", report::check_report_json(r).dump(2) + "\n");
}

TEST_CASE("status shows every certificate and host state", "[golden][report]") {
    const auto r = status_report();
    check_golden("status.txt", report::status_tables(r));
    check_golden("status.json", report::status_json(r).dump(2) + "\n");
}

TEST_CASE("audit groups findings by host with next steps", "[golden][report]") {
    const auto r = audit_report();
    check_golden("audit.txt", report::audit_text(r, false));
    check_golden("audit-quiet.txt", report::audit_text(r, true));
    check_golden("audit.json", report::audit_report_json(r).dump(2) + "\n");
    CHECK(report::audit_text(operations::AuditReport{}, true).empty());
}

TEST_CASE("run's notifications: one entry per channel, error null when delivered",
          "[golden][report]") {
    const auto doc = report::notifications_json(
        {{"webhook https://hooks.example.org/…", 3, ""}, {"email ops@example.org", 0, "refused"}});
    CHECK(doc == nlohmann::json::parse(R"([
        {"channel": "webhook https://hooks.example.org/…", "sent": 3, "error": null},
        {"channel": "email ops@example.org", "sent": 0, "error": "refused"}])"));
}
