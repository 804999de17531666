// Email channel: one plain-text mail per run over SMTP (core/smtp), with a
// subject that says at a glance how bad it is and which certificates.
#include <array>
#include <ctime>
#include <random>
#include <set>

#include "core/smtp.hpp"
#include "hooks/notify.hpp"

namespace certfleet::hooks {

namespace {

constexpr const char* kBase64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::string base64(std::string_view in) {
    std::string out;
    size_t i = 0;
    for (; i + 2 < in.size(); i += 3) {
        unsigned v = static_cast<unsigned char>(in[i]) << 16 |
                     static_cast<unsigned char>(in[i + 1]) << 8 |
                     static_cast<unsigned char>(in[i + 2]);
        for (int shift : {18, 12, 6, 0})
            out += kBase64[(v >> shift) & 63];
    }
    if (i < in.size()) {
        unsigned v = static_cast<unsigned char>(in[i]) << 16;
        if (i + 1 < in.size())
            v |= static_cast<unsigned char>(in[i + 1]) << 8;
        out += kBase64[(v >> 18) & 63];
        out += kBase64[(v >> 12) & 63];
        out += i + 1 < in.size() ? kBase64[(v >> 6) & 63] : '=';
        out += '=';
    }
    return out;
}

// Header text must stay on one line: a line break would start a new header.
std::string header_safe(std::string_view text) {
    std::string out;
    for (char c : text)
        out += (c == '\r' || c == '\n') ? ' ' : c;
    return out;
}

// RFC 2047 encoded words for a non-ASCII subject (the em dash), cut at UTF-8
// character boundaries and folded so no line exceeds 78 characters.
std::string encode_header(const std::string& text) {
    bool ascii = true;
    for (unsigned char c : text)
        ascii = ascii && c >= 0x20 && c < 0x7f;
    if (ascii)
        return text;
    std::string out;
    size_t start = 0;
    while (start < text.size()) {
        size_t end = std::min(text.size(), start + 45);
        while (end < text.size() && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80)
            --end;  // never split a multi-byte character
        out += (out.empty() ? "" : "\r\n ") + std::string("=?UTF-8?B?") +
               base64(std::string_view(text).substr(start, end - start)) + "?=";
        start = end;
    }
    return out;
}

// Quoted-printable keeps every line short and 7-bit whatever the error text
// contains, so no relay has to understand 8BITMIME.
std::string quoted_printable(std::string_view text) {
    static constexpr char kHex[] = "0123456789ABCDEF";
    std::string out;
    size_t start = 0;
    while (start < text.size()) {
        size_t end = text.find('\n', start);
        if (end == std::string_view::npos)
            end = text.size();
        std::string_view line = text.substr(start, end - start);
        if (line.ends_with('\r'))
            line.remove_suffix(1);
        size_t column = 0;
        for (size_t i = 0; i < line.size(); ++i) {
            auto c = static_cast<unsigned char>(line[i]);
            bool last = i + 1 == line.size();
            std::string piece;
            if ((c >= 33 && c <= 126 && c != '=') || ((c == ' ' || c == '\t') && !last))
                piece = static_cast<char>(c);
            else
                piece = {'=', kHex[c >> 4], kHex[c & 15]};
            if (column + piece.size() > 75) {
                out += "=\r\n";
                column = 0;
            }
            out += piece;
            column += piece.size();
        }
        out += "\r\n";
        start = end + 1;
    }
    return out;
}

// RFC 5322 date, independent of the process locale.
std::string rfc5322_date(core::TimePoint now) {
    static constexpr std::array<const char*, 7> kDays{"Sun", "Mon", "Tue", "Wed",
                                                      "Thu", "Fri", "Sat"};
    static constexpr std::array<const char*, 12> kMonths{"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                         "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    std::time_t t = now.time_since_epoch().count();
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[64];
    std::snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d +0000", kDays.at(tm.tm_wday),
                  tm.tm_mday, kMonths.at(tm.tm_mon), tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
                  tm.tm_sec);
    return buf;
}

std::string message_id(const std::string& from, const std::string& manager_host,
                       core::TimePoint now) {
    std::string domain = manager_host;
    if (domain.empty())
        domain = from.substr(from.find('@') + 1);
    std::random_device rd;
    char buf[32];
    std::snprintf(buf, sizeof buf, "%08x%08x", rd(), rd());
    return "<" + core::format_compact_utc(now) + "." + buf + ".certfleet@" + header_safe(domain) +
           ">";
}

std::string body_text(const std::vector<Notice>& notices, const std::string& manager_host) {
    std::string text = "certfleet" + (manager_host.empty() ? "" : " on " + manager_host) + ": " +
                       detail::severity_counts(notices) + "\n";
    for (const auto& n : detail::by_severity(notices)) {
        std::string label = n.severity;
        for (auto& c : label)
            c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        text += "\n" + label + ": " + n.summary + "\n";
        auto fact = [&](const char* name, const std::string& value) {
            if (!value.empty())
                text += "  " + std::string(name) + ": " + value + "\n";
        };
        std::string domains;
        for (const auto& d : n.domains)
            domains += (domains.empty() ? "" : ", ") + d;
        fact("certificate", n.cert);
        fact("host", n.host);
        fact("domains", domains);
        fact("serial", n.serial);
        fact("not after", n.not_after);
        if (!n.detail.empty()) {
            text += "\n";
            size_t start = 0;
            while (start < n.detail.size()) {
                size_t end = n.detail.find('\n', start);
                if (end == std::string::npos)
                    end = n.detail.size();
                text += "  " + n.detail.substr(start, end - start) + "\n";
                start = end + 1;
            }
        }
    }
    text +=
        "\n-- \ncertfleet: identical notices are repeated at most once per "
        "policy.notify_interval.\n";
    return text;
}

class EmailNotifier final : public Notifier {
public:
    EmailNotifier(core::SmtpOptions smtp, std::string from, std::vector<std::string> to,
                  std::string manager_host)
        : m_smtp(std::move(smtp)),
          m_from(std::move(from)),
          m_to(std::move(to)),
          m_manager(std::move(manager_host)) {
        m_channel = "email " + redact_url(m_smtp.url) + " to ";
        for (size_t i = 0; i < m_to.size(); ++i)
            m_channel += (i ? "," : "") + m_to[i];
    }

    std::string channel() const override { return m_channel; }

    core::Status send(const std::vector<Notice>& notices) override {
        if (notices.empty())
            return {};
        auto now = std::chrono::time_point_cast<core::Seconds>(std::chrono::system_clock::now());
        core::MailEnvelope mail{m_from, m_to, email_message(notices, m_from, m_to, m_manager, now)};
        auto sent = core::send_mail(m_smtp, mail);
        if (!sent) {
            core::Error e = sent.error();
            e.message = m_channel + ": " + e.message;
            return core::fail(std::move(e));
        }
        return {};
    }

private:
    core::SmtpOptions m_smtp;
    std::string m_from;
    std::vector<std::string> m_to;
    std::string m_manager;
    std::string m_channel;
};

}  // namespace

std::string email_subject(const std::vector<Notice>& notices) {
    constexpr size_t kMaxNames = 5;
    std::vector<std::string> names;
    std::set<std::string> seen;
    for (const auto& n : detail::by_severity(notices))
        if (!n.cert.empty() && seen.insert(n.cert).second)
            names.push_back(n.cert);
    std::string subject = "certfleet: " + detail::severity_counts(notices);
    for (size_t i = 0; i < names.size() && i < kMaxNames; ++i)
        subject += (i ? ", " : " — ") + names[i];
    if (names.size() > kMaxNames)
        subject += " and " + std::to_string(names.size() - kMaxNames) + " more";
    return header_safe(subject);
}

std::string email_message(const std::vector<Notice>& notices, const std::string& from,
                          const std::vector<std::string>& to, const std::string& manager_host,
                          core::TimePoint now) {
    std::string to_line;
    for (const auto& address : to)
        to_line += (to_line.empty() ? "" : ", ") + header_safe(address);
    std::string m;
    m += "From: " + header_safe(from) + "\r\n";
    m += "To: " + to_line + "\r\n";
    m += "Subject: " + encode_header(email_subject(notices)) + "\r\n";
    m += "Date: " + rfc5322_date(now) + "\r\n";
    m += "Message-ID: " + message_id(from, manager_host, now) + "\r\n";
    m += "MIME-Version: 1.0\r\n";
    m += "Content-Type: text/plain; charset=utf-8\r\n";
    m += "Content-Transfer-Encoding: quoted-printable\r\n";
    m += "Auto-Submitted: auto-generated\r\n";  // RFC 3834: no vacation replies
    m += "\r\n";
    m += quoted_printable(body_text(notices, manager_host));
    return m;
}

namespace detail {

core::Result<std::unique_ptr<Notifier>> make_email_notifier(const EmailConfig& config,
                                                            const NotifierOptions& options) {
    core::SmtpOptions smtp;
    smtp.url = config.smtp_url;
    if (!smtp.url.starts_with("smtp://") && !smtp.url.starts_with("smtps://"))
        return core::fail(core::ErrorKind::Config,
                          "email: smtp_url must be an smtp:// or smtps:// URL");
    if (config.from.empty() || config.to.empty())
        return core::fail(core::ErrorKind::Config, "email: needs \"from\" and \"to\"");
    smtp.ca_bundle = config.ca_bundle.empty() ? options.ca_bundle : config.ca_bundle;
    smtp.total_timeout = options.timeout;
    smtp.connect_timeout = std::min(options.timeout, core::Seconds(10));
    if (!config.password_file.empty()) {
        if (!options.read_secret)
            return core::fail(core::ErrorKind::Generic,
                              "email " + redact_url(smtp.url) +
                                  ": no way to read password_file (NotifierOptions::read_secret "
                                  "is not set)");
        auto password = options.read_secret(config.password_file);
        if (!password) {
            core::Error e = password.error();
            e.message = "email " + redact_url(smtp.url) + ": password_file: " + e.message;
            return core::fail(std::move(e));
        }
        smtp.password = std::move(*password);
        smtp.username = config.username.empty() ? config.from : config.username;
    }
    return std::unique_ptr<Notifier>(std::make_unique<EmailNotifier>(
        std::move(smtp), config.from, config.to, options.manager_host));
}

}  // namespace detail

}  // namespace certfleet::hooks
