#include "report/audit_report.hpp"

#include <map>
#include <set>

#include "core/time.hpp"

namespace certfleet::report {

nlohmann::json audit_report_json(const operations::AuditReport& report) {
    nlohmann::json findings = nlohmann::json::array();
    for (const auto& f : report.findings)
        findings.push_back(
            {{"host", f.host},
             {"kind", std::string(operations::finding_kind_name(f.kind))},
             {"path", f.path},
             {"subject", f.subject},
             {"serial", f.serial},
             {"not_after", f.not_after ? nlohmann::json(core::format_rfc3339(*f.not_after))
                                       : nlohmann::json(nullptr)},
             {"detail", f.detail},
             {"certificate", f.certificate},
             {"next_step", f.next_step}});
    nlohmann::json failed = nlohmann::json::array();
    for (const auto& h : report.hosts_failed)
        failed.push_back({{"host", h.host}, {"error", h.error}, {"next_step", h.hint}});
    nlohmann::json unchecked = nlohmann::json::array();
    for (const auto& n : report.unchecked)
        unchecked.push_back({{"host", n.host}, {"detail", n.note}});
    // docs/json.md: hosts_failed is a list of host names; the reasons are
    // in "hosts_failed_detail".
    nlohmann::json failed_names = nlohmann::json::array();
    for (const auto& h : report.hosts_failed)
        failed_names.push_back(h.host);
    return {{"findings", findings},
            {"hosts_failed", failed_names},
            {"hosts_failed_detail", failed},
            {"hosts_audited", report.hosts_audited},
            {"store_audited", report.store_audited},
            {"unchecked", unchecked},
            {"summary", audit_summary(report)},
            {"exit_code", audit_exit_code(report)}};
}

std::string audit_summary(const operations::AuditReport& report) {
    std::map<std::string, int> kinds;
    std::set<std::string> hosts;
    for (const auto& f : report.findings) {
        ++kinds[std::string(operations::finding_kind_name(f.kind))];
        hosts.insert(f.host);
    }
    std::string out;
    if (report.findings.empty()) {
        out = "no findings";
    } else {
        std::string list;
        for (const auto& [kind, n] : kinds)
            list += (list.empty() ? "" : ", ") + kind + " " + std::to_string(n);
        out = std::to_string(report.findings.size()) +
              (report.findings.size() == 1 ? " finding (" : " findings (") + list + ") on " +
              std::to_string(hosts.size()) + (hosts.size() == 1 ? " host" : " hosts");
    }
    out += " (" + std::to_string(report.hosts_audited.size()) + " hosts audited" +
           (report.store_audited ? ", and the store)" : ")");
    if (!report.hosts_failed.empty())
        out += "; " + std::to_string(report.hosts_failed.size()) +
               (report.hosts_failed.size() == 1 ? " host" : " hosts") + " not audited";
    return out;
}

int audit_exit_code(const operations::AuditReport& report) {
    if (!report.hosts_failed.empty())
        return 2;
    return report.findings.empty() ? 0 : 1;
}

std::string audit_text(const operations::AuditReport& report, bool quiet) {
    if (quiet && report.findings.empty() && report.hosts_failed.empty())
        return {};
    std::string out;
    std::map<std::string, std::vector<const audit::AuditFinding*>> by_host;
    for (const auto& f : report.findings)
        by_host[f.host].push_back(&f);
    auto print_host = [&](const std::string& host) {
        auto it = by_host.find(host);
        if (it == by_host.end()) {
            if (!quiet)
                out += host + ": no findings\n";
            return;
        }
        out += host + ":\n";
        for (const auto* f : it->second) {
            std::string what = f->path;
            if (!f->serial.empty())
                what += "  (serial " + f->serial +
                        (f->not_after ? ", not after " + core::format_rfc3339(*f->not_after) : "") +
                        ")";
            std::string kind(operations::finding_kind_name(f->kind));
            kind.resize(std::max<std::size_t>(kind.size(), 15), ' ');
            const std::string indent(18, ' ');  // under the text after the kind
            out += "  " + kind + " " + what + "\n" + indent + f->detail + "\n" + indent +
                   "next step: " + f->next_step + "\n";
        }
    };
    for (const auto& host : report.hosts_audited)
        print_host(host);
    if (report.store_audited)
        print_host(audit::kStoreHost);
    for (const auto& h : report.hosts_failed) {
        out += h.host + ": NOT AUDITED: " + h.error + "\n";
        if (!h.hint.empty())
            out += "  next step: " + h.hint + "\n";
    }
    if (!quiet && !report.unchecked.empty()) {
        out += "\nnot checked:\n";
        for (const auto& n : report.unchecked)
            out += "  " + n.host + ": " + n.note + "\n";
    }
    return out + "\n" + audit_summary(report) + "\n";
}

}  // namespace certfleet::report
