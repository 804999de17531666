#include "core/smtp.hpp"

#include <algorithm>
#include <cctype>
#include <cstring>

#include <curl/curl.h>
#include <spdlog/spdlog.h>

#include "core/fs.hpp"
#include "core/http.hpp"
#include "core/sigpipe_guard.hpp"

namespace certfleet::core {

namespace {

struct Upload {
    std::string_view data;
    size_t offset = 0;
};

size_t on_read(char* buffer, size_t size, size_t count, void* user) {
    auto* u = static_cast<Upload*>(user);
    size_t n = std::min(size * count, u->data.size() - u->offset);
    std::memcpy(buffer, u->data.data() + u->offset, n);
    u->offset += n;
    return n;
}

// Server replies are not wanted on stdout.
size_t discard(char*, size_t size, size_t count, void*) {
    return size * count;
}

bool has_line_break(const std::string& s) {
    return s.find_first_of("\r\n") != std::string::npos;
}

struct CurlHandle {
    CURL* curl = curl_easy_init();
    curl_slist* recipients = nullptr;
    ~CurlHandle() {
        curl_slist_free_all(recipients);
        if (curl)
            curl_easy_cleanup(curl);
    }
};

std::string hint_for(CURLcode rc, const std::string& url) {
    switch (rc) {
        case CURLE_PEER_FAILED_VERIFICATION:
        case CURLE_SSL_CACERT_BADFILE:
            return "the mail server's TLS certificate is not trusted: set the notifier's "
                   "ca_bundle to the CA that signed it";
        case CURLE_USE_SSL_FAILED:
            return "the server did not offer STARTTLS; certfleet never sends mail credentials "
                   "in clear: enable STARTTLS on the server or use smtps://";
        case CURLE_LOGIN_DENIED:
            return "check username and password_file";
        case CURLE_COULDNT_CONNECT:
        case CURLE_COULDNT_RESOLVE_HOST:
            return "check smtp_url (" + url + ") and that the server is reachable";
        case CURLE_SSL_CONNECT_ERROR:
            return url.starts_with("smtps://")
                       ? "smtps:// expects TLS from the first byte; for a submission port "
                         "with STARTTLS (587) use smtp://"
                       : "";
        default:
            return "";
    }
}

// The server's URL for messages: credentials someone put in it stay out.
std::string display_url(const std::string& url) {
    auto start = url.find("://") + 3;
    auto end = url.find_first_of("/?#", start);
    auto at = url.rfind('@', end);
    if (at == std::string::npos || at < start)
        return url.substr(0, url.find_first_of("?#"));
    return url.substr(0, start) + url.substr(at + 1, url.find_first_of("?#", at) - at - 1);
}

// -vv: the SMTP dialogue (what `curl -v` or swaks would show) without the
// credentials: an AUTH command and every line the client sends until the
// server's verdict are replaced; the message and TLS bytes are not shown.
struct SmtpTrace {
    bool in_auth = false;
};

void trace_line(SmtpTrace& trace, curl_infotype type, std::string_view line) {
    if (type == CURLINFO_HEADER_OUT) {
        std::string upper(line.substr(0, 5));
        std::transform(upper.begin(), upper.end(), upper.begin(),
                       [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
        if (upper == "AUTH ") {
            trace.in_auth = true;
            std::string_view mechanism = line.substr(5, line.find(' ', 5) - 5);
            spdlog::trace("smtp > AUTH {} [credentials not shown]", mechanism);
        } else {
            spdlog::trace("smtp > {}", trace.in_auth ? "[credentials not shown]" : line);
        }
    } else if (type == CURLINFO_HEADER_IN) {
        if (!line.starts_with("334"))  // 334: the server asks for more credentials
            trace.in_auth = false;
        spdlog::trace("smtp < {}", line);
    } else {
        spdlog::trace("smtp * {}", line);
    }
}

int on_debug(CURL*, curl_infotype type, char* data, size_t size, void* user) {
    if (type != CURLINFO_TEXT && type != CURLINFO_HEADER_IN && type != CURLINFO_HEADER_OUT)
        return 0;
    std::string_view text(data, size);
    while (!text.empty()) {
        size_t end = text.find('\n');
        std::string_view line = text.substr(0, end);
        text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
        while (!line.empty() && (line.back() == '\r' || line.back() == ' '))
            line.remove_suffix(1);
        if (!line.empty())
            trace_line(*static_cast<SmtpTrace*>(user), type, line);
    }
    return 0;
}

}  // namespace

Status send_mail(const SmtpOptions& options, const MailEnvelope& mail) {
    if (!options.url.starts_with("smtps://") && !options.url.starts_with("smtp://"))
        return fail(ErrorKind::Config, "mail server URL must start with smtp:// or smtps://");
    const std::string url = display_url(options.url);
    if (mail.to.empty())
        return fail(ErrorKind::Config, "mail via " + url + ": no recipient");
    // A line break in an address would let it inject SMTP commands.
    if (has_line_break(mail.from) || std::any_of(mail.to.begin(), mail.to.end(), has_line_break))
        return fail(ErrorKind::Config, "mail via " + url + ": address contains a line break");

    std::string extra_ca;
    if (!options.ca_bundle.empty()) {
        auto pem = read_file(options.ca_bundle, 4 * 1024 * 1024);
        if (!pem)
            return pem.failure();
        extra_ca = std::move(*pem);
    }

    CurlHandle h;
    if (!h.curl)
        return fail(ErrorKind::Generic, "libcurl could not allocate a handle");
    CURL* curl = h.curl;
    for (const auto& rcpt : mail.to)
        h.recipients = curl_slist_append(h.recipients, rcpt.c_str());

    Upload upload{mail.message};
    char error_buffer[CURL_ERROR_SIZE] = {0};
    curl_easy_setopt(curl, CURLOPT_URL, options.url.c_str());
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error_buffer);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
    curl_easy_setopt(curl, CURLOPT_USE_SSL, static_cast<long>(CURLUSESSL_ALL));
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT,
                     static_cast<long>(options.connect_timeout.count()));
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, static_cast<long>(options.total_timeout.count()));
    curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, 30L);
    if (!options.username.empty()) {
        // Set apart from the URL so neither ends up in a log line or error.
        curl_easy_setopt(curl, CURLOPT_USERNAME, options.username.c_str());
        curl_easy_setopt(curl, CURLOPT_PASSWORD, options.password.c_str());
    }
    curl_easy_setopt(curl, CURLOPT_MAIL_FROM, ("<" + mail.from + ">").c_str());
    curl_easy_setopt(curl, CURLOPT_MAIL_RCPT, h.recipients);
    curl_easy_setopt(curl, CURLOPT_READFUNCTION, on_read);
    curl_easy_setopt(curl, CURLOPT_READDATA, &upload);
    curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, discard);
    set_extra_trust(curl, extra_ca);
    SmtpTrace trace;
    if (spdlog::should_log(spdlog::level::trace)) {
        curl_easy_setopt(curl, CURLOPT_DEBUGFUNCTION, on_debug);
        curl_easy_setopt(curl, CURLOPT_DEBUGDATA, &trace);
        curl_easy_setopt(curl, CURLOPT_VERBOSE, 1L);
    }

    CURLcode rc;
    {
        SigpipeGuard guard;  // a server hanging up mid-TLS-write must not end the manager
        rc = curl_easy_perform(curl);
    }
    long reply = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &reply);
    if (rc != CURLE_OK) {
        std::string detail = error_buffer[0] ? error_buffer : curl_easy_strerror(rc);
        if (reply >= 400)
            detail += " (last SMTP reply " + std::to_string(reply) + ")";
        ErrorKind kind = rc == CURLE_OPERATION_TIMEDOUT ? ErrorKind::Timeout : ErrorKind::Network;
        return fail(kind, "mail via " + url + " failed: " + detail, hint_for(rc, url));
    }
    spdlog::debug("mail via {} accepted for {} recipient(s)", url, mail.to.size());
    return {};
}

}  // namespace certfleet::core
