// Notifications (SPEC §5): what certfleet tells people when something needs
// attention, through channels they already watch (webhook, email, exec), and
// the de-duplication that keeps a problem from being re-sent on every run.
// Monitoring state (Prometheus textfile) lives in hooks/metrics.hpp.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/result.hpp"
#include "core/time.hpp"

namespace certfleet::hooks {

// One problem (or the end of one). `key` identifies the problem across runs;
// `fingerprint` says whether it is still "the same" notice (a new serial, a new
// severity or a new error text makes it different and sends it at once).
struct Notice {
    // renewal_failure | deployment_failure | rollback | expiry_warning |
    // expiry_critical | audit_finding | resolved
    std::string event;
    std::string severity;  // warning | critical | resolved
    std::string key;       // e.g. "expiry:site", "served:site@cdn-1", "renewal:site"
    std::string fingerprint;
    std::string cert;
    std::string host;  // where a host is concerned
    std::vector<std::string> domains;
    std::string serial;
    std::string not_after;  // RFC 3339
    std::string summary;    // one line naming certificate and host
    std::string detail;     // the error, and what to do next
};

// One channel. `send` gets every notice of a run at once, so a channel can
// batch (one mail, one chat message) or not (exec: one call per notice).
class Notifier {
public:
    virtual ~Notifier() = default;
    // Stable identity for de-duplication state, e.g. "webhook https://h/T0".
    // Never contains a secret.
    virtual std::string channel() const = 0;
    virtual core::Status send(const std::vector<Notice>& notices) = 0;
};

struct NotifierOptions {
    std::string manager_host;        // this machine's name, shown in messages
    core::Seconds timeout{30};       // per delivery
    std::string ca_bundle;           // extra trust (e.g. acme.ca_bundle)
};

// Builds the notifiers of the inventory's validated "notify" array (paths
// already resolved). Prometheus entries are not notifiers: they are skipped
// here and read by textfile_paths(). A missing password file is an error.
core::Result<std::vector<std::unique_ptr<Notifier>>> make_notifiers(
    const nlohmann::json& notify, const NotifierOptions& options);
std::vector<std::string> textfile_paths(const nlohmann::json& notify);

}  // namespace certfleet::hooks
