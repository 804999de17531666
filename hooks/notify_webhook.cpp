// Webhook channel: one POST per run, either certfleet's JSON document or a
// Slack incoming-webhook message. Bounded: two attempts at most, and a 429
// fails at once with its retry time instead of holding up the run.
#include <algorithm>
#include <thread>

#include <spdlog/spdlog.h>

#include "core/crypto.hpp"
#include "core/process.hpp"
#include "hooks/notify.hpp"

namespace certfleet::hooks {

namespace {

// Slack's mrkdwn treats these three as control characters.
std::string slack_escape(std::string_view text) {
    std::string out;
    for (char c : text) {
        if (c == '&')
            out += "&amp;";
        else if (c == '<')
            out += "&lt;";
        else if (c == '>')
            out += "&gt;";
        else
            out += c;
    }
    return out;
}

std::string slack_marker(const std::string& severity) {
    if (severity == "critical")
        return ":red_circle: *CRITICAL*";
    if (severity == "warning")
        return ":warning: *WARNING*";
    if (severity == "resolved")
        return ":white_check_mark: *RESOLVED*";
    return ":information_source: *" + slack_escape(severity) + "*";
}

std::string slack_notice(const Notice& n) {
    std::string text = slack_marker(n.severity) + " " + slack_escape(n.summary) + "\n";
    std::vector<std::string> facts;
    if (!n.cert.empty())
        facts.push_back("certificate `" + slack_escape(n.cert) + "`");
    if (!n.host.empty())
        facts.push_back("host `" + slack_escape(n.host) + "`");
    if (!n.serial.empty())
        facts.push_back("serial `" + slack_escape(n.serial) + "`");
    if (!n.not_after.empty())
        facts.push_back("not after " + slack_escape(n.not_after));
    std::string line;
    for (const auto& f : facts)
        line += (line.empty() ? "" : " · ") + f;
    if (!line.empty())
        text += ">" + line + "\n";
    size_t start = 0;
    while (start < n.detail.size()) {
        size_t end = n.detail.find('\n', start);
        if (end == std::string::npos)
            end = n.detail.size();
        text += ">" + slack_escape(std::string_view(n.detail).substr(start, end - start)) + "\n";
        start = end + 1;
    }
    return text;
}

// A receiver's error body, for the message: one line, bounded.
std::string one_line(std::string_view body) {
    std::string text = core::summarize_output(body, 200);
    std::replace_if(
        text.begin(), text.end(), [](char c) { return c == '\n' || c == '\r'; }, ' ');
    return text;
}

class WebhookNotifier final : public Notifier {
public:
    WebhookNotifier(std::string url, WebhookFormat format, const NotifierOptions& options,
                    std::shared_ptr<core::HttpClient> http)
        : m_url(std::move(url)),
          m_format(format),
          // Two webhooks may look alike once redacted; a short digest of the
          // whole URL keeps their de-duplication state apart without revealing it.
          m_channel("webhook " + redact_url(m_url) + " #" +
                    core::hex_encode(core::sha256(m_url)).substr(0, 8)),
          m_manager(options.manager_host),
          m_backoff(options.retry_backoff),
          m_http(std::move(http)) {}

    std::string channel() const override { return m_channel; }

    core::Status send(const std::vector<Notice>& notices) override {
        if (notices.empty())
            return {};
        nlohmann::json payload = m_format == WebhookFormat::Slack
                                     ? webhook_slack_payload(notices, m_manager)
                                     : webhook_json_payload(notices, m_manager);
        core::HttpRequest request{"POST",
                                  m_url,
                                  {"Content-Type: application/json"},
                                  detail::dump_json(payload),
                                  /*secret_url=*/true};
        core::Status last;
        for (int attempt = 1; attempt <= 2; ++attempt) {
            if (attempt > 1) {
                spdlog::warn("{}; trying once more", last.error().message);
                std::this_thread::sleep_for(m_backoff);
            }
            auto response = m_http->send(request);
            if (!response) {
                core::Error e = response.error();
                e.message = m_channel + ": " + e.message;
                if (e.hint.find("ca_bundle") != std::string::npos)  // the HTTP client names acme's
                    e.hint =
                        "the webhook's TLS certificate is not trusted: set ca_bundle on "
                        "this notifier to its CA";
                last = core::fail(std::move(e));
                continue;
            }
            int status = response->status;
            if (status >= 200 && status < 300)
                return {};
            std::string what = m_channel + ": HTTP " + std::to_string(status);
            if (auto body = one_line(response->body); !body.empty())
                what += " (" + body + ")";
            if (status == 429) {
                auto retry = response->retry_after(
                    std::chrono::time_point_cast<core::Seconds>(std::chrono::system_clock::now()));
                core::Error e = core::make_error(
                    core::ErrorKind::RateLimited,
                    what + ": rate limited" +
                        (retry ? "; retry after " + std::to_string(*retry) + "s" : ""),
                    "the notices will be sent again by a later run");
                e.retry_after_seconds = retry;
                return core::fail(std::move(e));
            }
            last = core::fail(core::ErrorKind::Network, what);
            if (status < 500)
                break;  // the receiver refused this payload: sending it again cannot help
        }
        return last;
    }

private:
    std::string m_url;
    WebhookFormat m_format;
    std::string m_channel;
    std::string m_manager;
    std::chrono::milliseconds m_backoff;
    std::shared_ptr<core::HttpClient> m_http;
};

}  // namespace

nlohmann::json webhook_json_payload(const std::vector<Notice>& notices,
                                    const std::string& manager_host) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& n : notices)
        list.push_back(notice_json(n));
    return {{"source", "certfleet"}, {"manager", manager_host}, {"notices", std::move(list)}};
}

nlohmann::json webhook_slack_payload(const std::vector<Notice>& notices,
                                     const std::string& manager_host) {
    // Slack cuts messages at 40,000 characters; stay well below it.
    constexpr size_t kLimit = 35000;
    std::string text = "*certfleet*" +
                       (manager_host.empty() ? "" : " on `" + slack_escape(manager_host) + "`") +
                       ": " + detail::severity_counts(notices) + "\n";
    auto sorted = detail::by_severity(notices);
    for (size_t i = 0; i < sorted.size(); ++i) {
        std::string part = slack_notice(sorted[i]);
        if (text.size() + part.size() > kLimit) {
            text += "… and " + std::to_string(sorted.size() - i) + " more notices\n";
            break;
        }
        text += part;
    }
    if (text.ends_with('\n'))
        text.pop_back();
    return {{"text", text}};
}

namespace detail {

core::Result<std::unique_ptr<Notifier>> make_webhook_notifier(const WebhookConfig& config,
                                                              const NotifierOptions& options) {
    if (!config.url.starts_with("https://") && !config.url.starts_with("http://"))
        return core::fail(core::ErrorKind::Config,
                          "webhook: url must be an http:// or https:// URL");
    std::shared_ptr<core::HttpClient> http = options.http_client;
    if (!http) {
        core::HttpOptions http_options;
        http_options.ca_bundle = config.ca_bundle.empty() ? options.ca_bundle : config.ca_bundle;
        http_options.total_timeout = options.timeout;
        http_options.connect_timeout = std::min(options.timeout, core::Seconds(10));
        http = std::make_shared<core::CurlHttpClient>(std::move(http_options));
    }
    return std::unique_ptr<Notifier>(
        std::make_unique<WebhookNotifier>(config.url, config.format, options, std::move(http)));
}

}  // namespace detail

}  // namespace certfleet::hooks
