#include "cli/output.hpp"

#include <algorithm>
#include <csignal>
#include <iostream>
#include <sstream>

#include "cli/common.hpp"

namespace certfleet::cli {

namespace {

std::vector<std::string> split_lines(const std::string& cell) {
    std::vector<std::string> lines;
    std::istringstream in(cell);
    for (std::string l; std::getline(in, l);)
        lines.push_back(l);
    if (lines.empty())
        lines.emplace_back();
    return lines;
}

}  // namespace

// A cell with several lines (nginx -t's error, say) keeps its first line in
// the row and indents the others under its own column, so rows stay readable.
std::string format_table(const std::vector<std::string>& header,
                         const std::vector<std::vector<std::string>>& rows) {
    std::vector<size_t> width(header.size(), 0);
    auto fit = [&](const std::vector<std::string>& row) {
        for (size_t i = 0; i < row.size() && i < width.size(); ++i)
            width[i] = std::max(width[i], split_lines(row[i]).front().size());
    };
    fit(header);
    for (const auto& r : rows)
        fit(r);
    std::ostringstream out;
    auto emit = [&](std::string text) {
        while (!text.empty() && text.back() == ' ')
            text.pop_back();
        out << text << "\n";
    };
    auto line = [&](const std::vector<std::string>& row) {
        std::string text;
        std::vector<std::pair<size_t, std::string>> more;  // (column offset, line)
        for (size_t i = 0; i < row.size(); ++i) {
            auto lines = split_lines(row[i]);
            for (size_t k = 1; k < lines.size(); ++k)
                more.emplace_back(text.size(), lines[k]);
            text += lines.front();
            if (i + 1 < row.size())
                text += std::string(width[i] - lines.front().size() + 2, ' ');
        }
        emit(text);
        for (const auto& [offset, extra] : more)
            emit(std::string(offset + 2, ' ') + extra);
    };
    line(header);
    for (const auto& r : rows)
        line(r);
    return out.str();
}

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
                                 const operations::DeployReport* deployed) {
    nlohmann::json j = issued ? issue_report_json(*issued)
                              : nlohmann::json{{"certificates", nlohmann::json::array()}};
    nlohmann::json hosts = nlohmann::json::array();
    if (deployed)
        for (const auto& h : deployed->hosts)
            hosts.push_back(host_outcome_json(h));
    j["hosts"] = hosts;
    // "SIGINT" / "SIGTERM" when the command was interrupted (exit 130 / 143).
    const int signo = g_signal.load();
    j["interrupted"] = signo == 0 ? nlohmann::json(nullptr)
                                  : nlohmann::json(signo == SIGINT ? "SIGINT" : "SIGTERM");
    return j;
}

void print_deploy_report(const operations::DeployReport& report, bool quiet) {
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
            detail = "adopted the hand-managed files; " + detail;
        if (!h.ledger_error.empty())
            detail += (detail.empty() ? "" : "; ") + std::string("not recorded in the ledger");
        rows.push_back({h.certificate, h.host,
                        std::string(operations::deploy_result_name(h.result)),
                        h.version.empty() ? "-" : h.version, detail});
    }
    if (!rows.empty())
        std::cout << format_table({"CERTIFICATE", "HOST", "RESULT", "VERSION", "DETAIL"}, rows);
    for (const auto& h : report.hosts) {
        const bool settled = h.result == operations::HostResult::Deployed ||
                             h.result == operations::HostResult::Unchanged;
        if (!h.hint.empty() && !settled)
            std::cerr << h.certificate << " on " << h.host << ": next step: " << h.hint << "\n";
        if (!h.ledger_error.empty())
            std::cerr << h.certificate << " on " << h.host << ": " << h.ledger_error << "\n";
    }
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

void print_issue_report(const operations::IssueReport& report, bool quiet) {
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
    if (!rows.empty())
        std::cout << format_table({"CERTIFICATE", "ACTION", "SERIAL", "NOT AFTER", "DETAIL"}, rows);
    for (const auto& c : report.certificates) {
        if (c.action == CertificateAction::Failed && !c.hint.empty())
            std::cerr << c.name << ": next step: " << c.hint << "\n";
        if (!c.ledger_error.empty())
            std::cerr << c.name << ": " << c.ledger_error << "\n";
    }
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

void print_check_details(const operations::CheckReport& report, bool verbose) {
    std::vector<std::vector<std::string>> rows;
    for (const auto& item : report.items) {
        if (item.severity == renewal::Severity::Ok && !verbose)
            continue;
        rows.push_back({renewal::severity_label(item.severity), item.certificate,
                        item.host.empty() ? "-" : item.host,
                        std::string(operations::check_source_name(item.source)), item.message});
    }
    if (!rows.empty())
        std::cout << format_table({"SEVERITY", "CERTIFICATE", "HOST", "SOURCE", "DETAIL"}, rows);
}

}  // namespace certfleet::cli
