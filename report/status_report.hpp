// What `status` shows: the certificate table, the per-host table, and the
// JSON document of docs/json.md.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "operations/status.hpp"

namespace certfleet::report {

// CERTIFICATE DOMAINS SERIAL NOT AFTER RENEW AT STATE DETAIL, then (when any
// host was looked at) CERTIFICATE HOST STATE DEPLOYED SERVED SERIAL DETAIL.
std::string status_tables(const operations::StatusReport& report);
nlohmann::json status_json(const operations::StatusReport& report);

}  // namespace certfleet::report
