// The Prometheus textfile (node_exporter textfile collector): the fleet's
// state after a run, written atomically so the collector never reads half a
// file. Plain data in, text out; the caller fills it.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/result.hpp"
#include "core/time.hpp"

namespace certfleet::hooks {

struct RunMetrics {
    struct Certificate {
        std::string name;
        std::string serial;
        std::optional<core::TimePoint> not_after;  // nullopt: not issued yet
        std::optional<core::TimePoint> renew_at;
    };
    struct Served {
        std::string certificate;
        std::string host;
        std::optional<core::TimePoint> not_after;  // nullopt: could not be probed
        bool current = false;                      // serves the store's current serial
    };
    core::TimePoint now{};  // the run's time: "seconds until" are measured from it
    std::vector<Certificate> certificates;
    std::vector<Served> served;
    core::TimePoint last_run{};
    bool last_run_success = false;
    double last_run_duration_seconds = 0;
    std::map<std::string, int>
        failures_by_kind;  // e.g. renewal, deployment, probe, dns, rate_limited
    // Entries `run` set aside because they were invalid (0: the inventory
    // was valid as a whole).
    int quarantined_entries = 0;
    // False when the run could not use its inventory at all (nothing ran).
    bool inventory_valid = true;
};

// Prometheus text exposition format 0.0.4, with HELP and TYPE lines.
std::string render_metrics(const RunMetrics& m);
// Atomic replace (temporary file in the same directory, fsync, rename), mode 0644.
core::Status write_textfile(const std::string& path, const RunMetrics& m);

}  // namespace certfleet::hooks
