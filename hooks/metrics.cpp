#include "hooks/metrics.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <tuple>

#include "core/fs.hpp"

namespace certfleet::hooks {

namespace {

std::string escape_label(std::string_view value) {
    std::string out;
    out.reserve(value.size());
    for (char c : value) {
        if (c == '\\')
            out += "\\\\";
        else if (c == '"')
            out += "\\\"";
        else if (c == '\n')
            out += "\\n";
        else
            out += c;
    }
    return out;
}

// Shortest text that reads back as the same double; integers stay integers
// ("1795000000", not "1.795e+09") so the file is easy to read by eye.
std::string format_value(double v) {
    if (std::isnan(v))
        return "NaN";
    if (std::isinf(v))
        return v > 0 ? "+Inf" : "-Inf";
    char buf[64];
    auto fixed = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed);
    if (fixed.ec == std::errc() && fixed.ptr - buf <= 24)
        return std::string(buf, fixed.ptr);
    auto shortest = std::to_chars(buf, buf + sizeof buf, v);
    return std::string(buf, shortest.ptr);
}

double seconds(core::TimePoint t) {
    return static_cast<double>(t.time_since_epoch().count());
}

using Labels = std::vector<std::pair<std::string, std::string>>;

struct Family {
    std::string name;
    std::string help;
    std::vector<std::pair<Labels, double>> samples;

    void add(Labels labels, double value) { samples.emplace_back(std::move(labels), value); }

    // A family without samples is left out entirely: an empty HELP/TYPE block
    // tells the reader nothing.
    void render(std::string& out) const {
        if (samples.empty())
            return;
        out += "# HELP " + name + " " + help + "\n";
        out += "# TYPE " + name + " gauge\n";
        for (const auto& [labels, value] : samples) {
            out += name;
            if (!labels.empty()) {
                out += '{';
                for (size_t i = 0; i < labels.size(); ++i) {
                    out += (i ? "," : "") + labels[i].first + "=\"" +
                           escape_label(labels[i].second) + "\"";
                }
                out += '}';
            }
            out += " " + format_value(value) + "\n";
        }
    }
};

}  // namespace

std::string render_metrics(const RunMetrics& m) {
    // Sorted copies so the file does not churn with the inventory's map order.
    auto certificates = m.certificates;
    std::stable_sort(certificates.begin(), certificates.end(),
                     [](const auto& a, const auto& b) { return a.name < b.name; });
    auto served = m.served;
    std::stable_sort(served.begin(), served.end(), [](const auto& a, const auto& b) {
        return std::tie(a.certificate, a.host) < std::tie(b.certificate, b.host);
    });
    const bool now_known = m.now != core::TimePoint{};

    Family not_after{"certfleet_certificate_not_after_timestamp_seconds",
                     "Expiry (notAfter) of the current certificate in the store, Unix time.",
                     {}};
    Family renewal{"certfleet_certificate_renewal_timestamp_seconds",
                   "When certfleet plans to renew the certificate, Unix time.",
                   {}};
    Family until{"certfleet_certificate_seconds_until_renewal",
                 "Seconds from the last run until the planned renewal (negative: overdue).",
                 {}};
    for (const auto& c : certificates) {
        Labels labels{{"certificate", c.name}};
        if (c.not_after)
            not_after.add(labels, seconds(*c.not_after));
        if (c.renew_at) {
            renewal.add(labels, seconds(*c.renew_at));
            if (now_known)
                until.add(labels, seconds(*c.renew_at) - seconds(m.now));
        }
    }

    Family served_not_after{"certfleet_served_not_after_timestamp_seconds",
                            "Expiry (notAfter) of the certificate a host really serves, Unix time.",
                            {}};
    Family served_current{"certfleet_served_current",
                          "1 when the host serves the store's current certificate, else 0.",
                          {}};
    for (const auto& s : served) {
        Labels labels{{"certificate", s.certificate}, {"host", s.host}};
        if (s.not_after)
            served_not_after.add(labels, seconds(*s.not_after));
        served_current.add(labels, s.current ? 1 : 0);
    }

    Family last_run{"certfleet_last_run_timestamp_seconds",
                    "When the last certfleet run finished, Unix time.",
                    {}};
    if (m.last_run != core::TimePoint{})
        last_run.add({}, seconds(m.last_run));
    Family success{"certfleet_last_run_success",
                   "1 when the last certfleet run succeeded completely, else 0.",
                   {}};
    success.add({}, m.last_run_success ? 1 : 0);
    Family duration{
        "certfleet_last_run_duration_seconds", "How long the last certfleet run took.", {}};
    duration.add({}, m.last_run_duration_seconds);
    Family failures{"certfleet_run_failures", "Failures in the last certfleet run, by kind.", {}};
    for (const auto& [kind, count] : m.failures_by_kind)
        failures.add({{"kind", kind}}, count);

    Family valid{"certfleet_inventory_valid",
                 "1 when the last run's inventory was valid as a whole, 0 when it set "
                 "invalid entries aside or could not run at all.",
                 {}};
    valid.add({}, m.inventory_valid && m.quarantined_entries == 0 ? 1 : 0);
    Family quarantined{"certfleet_inventory_quarantined_entries",
                       "Certificate and host entries the last run left out as invalid.",
                       {}};
    quarantined.add({}, m.quarantined_entries);

    std::string out;
    for (const Family* f : {&not_after, &renewal, &until, &served_not_after, &served_current,
                            &last_run, &success, &duration, &failures, &valid, &quarantined})
        f->render(out);
    return out;
}

core::Status write_textfile(const std::string& path, const RunMetrics& m) {
    return core::write_file_atomic(path, render_metrics(m), 0644);
}

}  // namespace certfleet::hooks
