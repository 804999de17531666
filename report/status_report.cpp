#include "report/status_report.hpp"

#include "core/strings.hpp"
#include "core/time.hpp"
#include "report/table.hpp"

namespace certfleet::report {

namespace {

nlohmann::json host_json(const operations::HostCertStatus& h) {
    return {{"name", h.host},
            {"deployed_version", h.deployed_version},
            {"deployed_serial", h.deployed_serial},
            {"served_serial", h.served_serial},
            {"state", operations::host_state_name(h.state)},
            {"detail", h.detail}};
}

nlohmann::json certificate_json(const operations::CertificateStatus& c) {
    nlohmann::json j{{"name", c.name},
                     {"domains", c.domains},
                     {"hosts", nlohmann::json::array()},
                     {"state", std::string(operations::certificate_state_name(c.state))},
                     {"reason", c.reason}};
    if (c.current) {
        j["serial"] = c.current->serial;
        j["version"] = c.current->version;
        j["not_before"] = core::format_rfc3339(c.current->not_before);
        j["not_after"] = core::format_rfc3339(c.current->not_after);
        j["renew_at"] = core::format_rfc3339(c.current->renew_at);
        j["revoked"] = nullptr;
        if (const auto& r = c.current->revoked)
            j["revoked"] = {{"at", core::format_rfc3339(r->at)}, {"reason", r->reason}};
    } else {
        for (const char* k :
             {"serial", "version", "not_before", "not_after", "renew_at", "revoked"})
            j[k] = nullptr;
    }
    j["failure"] = nullptr;
    if (const auto& f = c.failure)
        j["failure"] = {{"last_at", core::format_rfc3339(f->last_failure_at)},
                        {"attempts", f->consecutive_failures},
                        {"message", f->last_message}};
    for (const auto& h : c.hosts)
        j["hosts"].push_back(host_json(h));
    return j;
}

std::vector<std::string> certificate_row(const operations::CertificateStatus& c) {
    const auto& cur = c.current;
    return {
        c.name, core::join(c.domains, ","), cur ? cur->serial : "-",
        cur ? core::format_rfc3339(cur->not_after) : "-",
        cur ? core::format_rfc3339(cur->renew_at) : "-",
        std::string(operations::certificate_state_name(c.state)) + (c.failure ? ", failing" : ""),
        // Ok needs no explanation; anything else says why.
        c.state == operations::CertificateState::Ok && !c.failure ? "" : c.reason};
}

std::vector<std::string> host_row(const std::string& cert, const operations::HostCertStatus& h) {
    return {cert,
            h.host,
            std::string(operations::host_state_name(h.state)),
            h.deployed_version.empty() ? "-" : h.deployed_version,
            h.served_serial.empty() ? "-" : h.served_serial,
            h.detail};
}

}  // namespace

nlohmann::json status_json(const operations::StatusReport& report) {
    nlohmann::json certs = nlohmann::json::array();
    for (const auto& c : report.certificates)
        certs.push_back(certificate_json(c));
    return {{"certificates", certs}};
}

std::string status_tables(const operations::StatusReport& report) {
    std::vector<std::vector<std::string>> rows, host_rows;
    for (const auto& c : report.certificates) {
        rows.push_back(certificate_row(c));
        for (const auto& h : c.hosts)
            host_rows.push_back(host_row(c.name, h));
    }
    std::string out = format_table(
        {"CERTIFICATE", "DOMAINS", "SERIAL", "NOT AFTER", "RENEW AT", "STATE", "DETAIL"}, rows);
    if (!host_rows.empty())
        out += "\n" +
               format_table({"CERTIFICATE", "HOST", "STATE", "DEPLOYED", "SERVED SERIAL", "DETAIL"},
                            host_rows);
    return out;
}

}  // namespace certfleet::report
