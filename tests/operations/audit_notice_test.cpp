// `run`'s audit notices: one per finding, told once, resolved only when the
// host it was on was audited again and the finding is gone (a host that could
// not be reached resolves nothing).
#include <catch2/catch.hpp>

#include "operations/notices.hpp"

using namespace certfleet;

namespace {

class Recorder final : public hooks::Notifier {
public:
    std::string channel() const override { return "recorder"; }
    core::Status send(const std::vector<hooks::Notice>& notices) override {
        for (const auto& n : notices)
            sent.push_back(n.event + " " + n.severity + " " + n.host + " " + n.key);
        return {};
    }
    std::vector<std::string> sent;
};

audit::AuditFinding finding(const std::string& host, const std::string& kind,
                            const std::string& path) {
    audit::AuditFinding f;
    f.host = host;
    f.kind = audit::parse_finding_kind(kind).value();
    f.path = path;
    f.detail = "detail";
    f.next_step = "next";
    return f;
}

}  // namespace

TEST_CASE("audit notices: once, resolved per audited host", "[audit][notify]") {
    auto ledger = std::move(state::Ledger::open_in_memory()).value();
    auto recorder = std::make_unique<Recorder>();
    Recorder& rec = *recorder;
    std::vector<std::unique_ptr<hooks::Notifier>> channels;
    channels.push_back(std::move(recorder));
    core::TimePoint now{std::chrono::seconds{1795000000}};
    auto deliver = [&](const operations::AuditReport& report) {
        rec.sent.clear();
        operations::deliver_notices(operations::notices_from_audit(report),
                                    operations::audit_prefixes(report), channels, nullptr, ledger,
                                    now, core::Seconds{86400});
        now += core::Seconds{3600};
        return rec.sent;
    };

    operations::AuditReport first;
    first.hosts_audited = {"cdn-1", "cdn-10"};
    first.findings = {finding("cdn-1", "key_exposed", "/k.pem"),
                      finding("cdn-10", "orphan", "/o.pem")};
    first.hosts_failed = {{"cdn-2", "cannot connect", "check sshd"}};
    CHECK(deliver(first) ==
          std::vector<std::string>{"audit_finding warning cdn-2 audit-host:cdn-2",
                                   "audit_finding warning cdn-10 audit:cdn-10:orphan:/o.pem",
                                   "audit_finding critical cdn-1 audit:cdn-1:key_exposed:/k.pem"});
    CHECK(deliver(first).empty());  // nothing new

    // cdn-10 unreachable now: its orphan is not "resolved"; cdn-1's key is fixed.
    operations::AuditReport second;
    second.hosts_audited = {"cdn-1", "cdn-2"};
    second.hosts_failed = {{"cdn-10", "cannot connect", ""}};
    CHECK(deliver(second) ==
          std::vector<std::string>{"audit_finding warning cdn-10 audit-host:cdn-10",
                                   "resolved resolved cdn-2 audit-host:cdn-2",
                                   "resolved resolved cdn-1 audit:cdn-1:key_exposed:/k.pem"});
}
