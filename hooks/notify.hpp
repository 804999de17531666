// Notifications (docs/inventory.md, notify): what certfleet tells people when something needs
// attention, through channels they already watch (webhook, email, exec), and
// the de-duplication that keeps a problem from being re-sent on every run.
// Monitoring state (Prometheus textfile) lives in hooks/metrics.hpp.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/http.hpp"
#include "core/result.hpp"
#include "core/time.hpp"

namespace certfleet::hooks {

// One problem (or the end of one). `key` identifies the problem across runs;
// `fingerprint` says whether it is still "the same" notice (a new serial, a new
// severity or a new error text makes it different and sends it at once).
struct Notice {
    // renewal_failure | deployment_failure | rollback | expiry_warning |
    // expiry_critical | revoked | served_mismatch | probe_failure |
    // invalid_inventory | audit_finding | resolved
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
    std::string manager_host;   // this machine's name, shown in messages
    core::Seconds timeout{30};  // per delivery
    std::string ca_bundle;      // extra trust (e.g. acme.ca_bundle)

    // Reads a secret reference ("env:NAME" or a path the inventory loader
    // already resolved), e.g. inventory::read_secret(ref, ""). hooks/ may not
    // know inventory/, so the caller passes it; needed only when an email
    // notifier has a password_file.
    std::function<core::Result<std::string>(const std::string& reference)> read_secret;
    // Seam for tests: webhooks send through this client when set, else
    // through a CurlHttpClient of their own (with the notifier's ca_bundle).
    std::shared_ptr<core::HttpClient> http_client;
    // Pause before the second (last) webhook attempt after a 5xx / network error.
    std::chrono::milliseconds retry_backoff{1000};
};

// What each channel needs, already validated (operations/ fills these from
// the inventory; hooks/ may not know it). File paths are resolved.
enum class WebhookFormat { Json, Slack };  // certfleet's JSON document, or a Slack message

struct WebhookConfig {
    std::string url;  // http:// or https://
    WebhookFormat format = WebhookFormat::Json;
    std::string ca_bundle;  // "": NotifierOptions::ca_bundle
};

struct EmailConfig {
    std::string smtp_url;  // smtp:// or smtps://
    std::string from;
    std::vector<std::string> to;  // at least one
    // A secret reference for NotifierOptions::read_secret; "": no authentication.
    std::string password_file;
    std::string username;   // "": `from`
    std::string ca_bundle;  // "": NotifierOptions::ca_bundle
};

struct ExecConfig {
    std::string command;  // run by /bin/sh -c, once per notice
    core::Seconds timeout{120};
};

using NotifierConfig = std::variant<WebhookConfig, EmailConfig, ExecConfig>;

// One channel. Reads an email password here (through options.read_secret):
// an unreadable one is an error.
core::Result<std::unique_ptr<Notifier>> make_notifier(const NotifierConfig& config,
                                                      const NotifierOptions& options);

using core::redact_url;  // the notifier names a webhook by it

// Renderings of a batch, exposed so tests can check them exactly.
// The JSON document (`format: "json"`) and the Slack payload (`format: "slack"`).
nlohmann::json webhook_json_payload(const std::vector<Notice>& notices,
                                    const std::string& manager_host);
nlohmann::json webhook_slack_payload(const std::vector<Notice>& notices,
                                     const std::string& manager_host);
// One notice as a JSON object (webhook "notices" element, exec stdin).
nlohmann::json notice_json(const Notice& notice);
// "certfleet: 2 critical, 1 warning — site, media"
std::string email_subject(const std::vector<Notice>& notices);
// The complete RFC 5322 message (CRLF line ends, quoted-printable body).
std::string email_message(const std::vector<Notice>& notices, const std::string& from,
                          const std::vector<std::string>& to, const std::string& manager_host,
                          core::TimePoint now);

namespace detail {
// One file per channel (notify_webhook.cpp, notify_email.cpp, notify_exec.cpp).
core::Result<std::unique_ptr<Notifier>> make_webhook_notifier(const WebhookConfig& config,
                                                              const NotifierOptions& options);
core::Result<std::unique_ptr<Notifier>> make_email_notifier(const EmailConfig& config,
                                                            const NotifierOptions& options);
core::Result<std::unique_ptr<Notifier>> make_exec_notifier(const ExecConfig& config);
// critical, warning, other, resolved: the order people should read them in.
int severity_rank(const std::string& severity);
std::vector<Notice> by_severity(std::vector<Notice> notices);
// "2 critical, 1 warning"
std::string severity_counts(const std::vector<Notice>& notices);
// JSON text that never throws on invalid UTF-8 (error text from anywhere).
std::string dump_json(const nlohmann::json& j);
}  // namespace detail

}  // namespace certfleet::hooks
