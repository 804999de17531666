#include "report/fleet_report.hpp"

#include <csignal>

#include "core/time.hpp"
#include "report/table.hpp"

namespace certfleet::report {

nlohmann::json host_outcome_json(const operations::HostOutcome& h) {
    nlohmann::json j{{"name", h.host},
                     {"certificate", h.certificate},
                     {"result", std::string(operations::deploy_result_name(h.result))},
                     {"version", h.version},
                     {"served_serial", h.served_serial},
                     {"wave", h.wave},
                     {"adopted", h.adopted}};
    j["error"] = h.error.empty() ? nlohmann::json(nullptr) : nlohmann::json(h.error);
    if (!h.hint.empty())
        j["hint"] = h.hint;
    if (!h.note.empty())
        j["note"] = h.note;
    if (!h.ledger_error.empty())
        j["ledger_error"] = h.ledger_error;
    return j;
}

nlohmann::json fleet_report_json(const operations::IssueReport* issued,
                                 const operations::DeployReport* deployed, int interrupted_by) {
    nlohmann::json j = issued ? issue_report_json(*issued)
                              : nlohmann::json{{"certificates", nlohmann::json::array()}};
    nlohmann::json hosts = nlohmann::json::array();
    if (deployed)
        for (const auto& h : deployed->hosts)
            hosts.push_back(host_outcome_json(h));
    j["hosts"] = hosts;
    // "SIGINT" / "SIGTERM" when the command was interrupted (exit 130 / 143).
    j["interrupted"] = interrupted_by == 0
                           ? nlohmann::json(nullptr)
                           : nlohmann::json(interrupted_by == SIGINT ? "SIGINT" : "SIGTERM");
    return j;
}

std::string deploy_table(const operations::DeployReport& report, bool quiet) {
    std::vector<std::vector<std::string>> rows;
    for (const auto& h : report.hosts) {
        using operations::HostResult;
        bool trouble = h.result == HostResult::Failed || h.result == HostResult::RolledBack ||
                       h.result == HostResult::Skipped || h.result == HostResult::NotStarted ||
                       !h.ledger_error.empty();
        if (quiet && !trouble)
            continue;
        std::string detail = !h.error.empty() ? h.error
                             : h.note.empty() ? h.wave
                                              : h.wave + (h.wave.empty() ? "" : ": ") + h.note;
        if (h.adopted)
            detail = "adopted the hand-managed files" + (detail.empty() ? "" : "; " + detail);
        if (!h.ledger_error.empty())
            detail += (detail.empty() ? "" : "; ") + std::string("not recorded in the ledger");
        rows.push_back({h.certificate, h.host,
                        std::string(operations::deploy_result_name(h.result)),
                        h.version.empty() ? "-" : h.version, detail});
    }
    return rows.empty()
               ? std::string()
               : format_table({"CERTIFICATE", "HOST", "RESULT", "VERSION", "DETAIL"}, rows);
}

std::string deploy_notes(const operations::DeployReport& report) {
    std::string out;
    for (const auto& h : report.hosts) {
        const bool settled = h.result == operations::HostResult::Deployed ||
                             h.result == operations::HostResult::Unchanged;
        if (!h.hint.empty() && !settled)
            out += h.certificate + " on " + h.host + ": next step: " + h.hint + "\n";
        if (!h.ledger_error.empty())
            out += h.certificate + " on " + h.host + ": " + h.ledger_error + "\n";
    }
    return out;
}

nlohmann::json issue_report_json(const operations::IssueReport& report) {
    nlohmann::json certs = nlohmann::json::array();
    for (const auto& c : report.certificates) {
        nlohmann::json j{{"name", c.name},
                         {"action", std::string(operations::certificate_action_name(c.action))},
                         {"reason", c.reason},
                         {"serial", c.serial},
                         {"version", c.version},
                         {"not_after", c.not_after}};
        j["error"] = c.error.empty() ? nlohmann::json(nullptr) : nlohmann::json(c.error);
        if (!c.hint.empty())
            j["hint"] = c.hint;
        if (!c.ledger_error.empty())
            j["ledger_error"] = c.ledger_error;
        certs.push_back(std::move(j));
    }
    return {{"certificates", certs}, {"hosts", nlohmann::json::array()}};
}

std::string issue_table(const operations::IssueReport& report, bool quiet) {
    std::vector<std::vector<std::string>> rows;
    using operations::CertificateAction;
    for (const auto& c : report.certificates) {
        const bool failed =
            c.action == CertificateAction::Failed || c.action == CertificateAction::NotStarted;
        if (quiet && !failed && c.ledger_error.empty())
            continue;
        std::string detail = failed ? c.error : c.reason;
        if (!c.ledger_error.empty())
            detail += (detail.empty() ? "" : "; ") + std::string("not recorded in the ledger");
        rows.push_back({c.name, std::string(operations::certificate_action_name(c.action)),
                        c.serial.empty() ? "-" : c.serial, c.not_after.empty() ? "-" : c.not_after,
                        detail});
    }
    return rows.empty()
               ? std::string()
               : format_table({"CERTIFICATE", "ACTION", "SERIAL", "NOT AFTER", "DETAIL"}, rows);
}

std::string issue_notes(const operations::IssueReport& report) {
    std::string out;
    for (const auto& c : report.certificates) {
        if (c.action == operations::CertificateAction::Failed && !c.hint.empty())
            out += c.name + ": next step: " + c.hint + "\n";
        if (!c.ledger_error.empty())
            out += c.name + ": " + c.ledger_error + "\n";
    }
    return out;
}

nlohmann::json check_report_json(const operations::CheckReport& report) {
    nlohmann::json items = nlohmann::json::array();
    for (const auto& item : report.items) {
        items.push_back(
            {{"certificate", item.certificate},
             {"host", item.host.empty() ? nlohmann::json() : nlohmann::json(item.host)},
             {"source", operations::check_source_name(item.source)},
             {"kind", operations::check_kind_name(item.kind)},
             {"serial", item.serial},
             {"not_after", item.not_after ? nlohmann::json(core::format_rfc3339(*item.not_after))
                                          : nlohmann::json()},
             {"seconds_left",
              item.not_after ? nlohmann::json(item.seconds_left) : nlohmann::json()},
             {"severity", renewal::severity_name(item.severity)},
             {"message", item.message}});
    }
    return {{"state", renewal::severity_label(report.state())},
            {"summary", report.first_line()},
            {"items", items}};
}

std::string check_table(const operations::CheckReport& report, bool verbose) {
    std::vector<std::vector<std::string>> rows;
    for (const auto& item : report.items) {
        if (item.severity == renewal::Severity::Ok && !verbose)
            continue;
        rows.push_back({renewal::severity_label(item.severity),
                        item.certificate.empty() ? "-" : item.certificate,
                        item.host.empty() ? "-" : item.host,
                        std::string(operations::check_source_name(item.source)), item.message});
    }
    return rows.empty()
               ? std::string()
               : format_table({"SEVERITY", "CERTIFICATE", "HOST", "SOURCE", "DETAIL"}, rows);
}

nlohmann::json notifications_json(const std::vector<operations::ChannelResult>& results) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& n : results)
        out.push_back({{"channel", n.channel},
                       {"sent", n.sent},
                       {"error", n.error.empty() ? nlohmann::json() : nlohmann::json(n.error)}});
    return out;
}

}  // namespace certfleet::report
