#include "acme/client.hpp"

#include <algorithm>

#include <spdlog/spdlog.h>

#include "acme/http_answers.hpp"
#include "acme/jws.hpp"
#include "core/process.hpp"

namespace certfleet::acme {

using nlohmann::json;
using std::chrono::milliseconds;

namespace {
constexpr const char* kJoseJson = "Content-Type: application/jose+json";

bool transient_status(int status) {
    return status == 500 || status == 502 || status == 503 || status == 504;
}

// `error` with "<what>: " before its message.
core::Failure in_context(core::Error error, const std::string& what) {
    error.message = what + ": " + error.message;
    return core::Failure{std::move(error)};
}

core::Error timeout_error(const std::string& what, const std::string& status) {
    return core::make_error(core::ErrorKind::Timeout,
                            what + ": still \"" + status + "\" when the time limit ran out",
                            "the CA is slow or stuck; certfleet will try again on the next run");
}
}  // namespace

AcmeClient::AcmeClient(core::HttpClient& http, std::string directory_url, ClientOptions options)
    : m_http(http), m_directory_url(std::move(directory_url)), m_options(options) {}

core::TimePoint AcmeClient::now() const {
    static const core::SystemClock system;
    return (m_options.clock ? m_options.clock : &system)->now();
}

bool AcmeClient::sleep(milliseconds d) const {
    return core::interruptible_sleep(d, m_options.cancel);
}

core::Result<core::HttpResponse> AcmeClient::send_with_retries(const core::HttpRequest& req,
                                                               const std::string& what) {
    for (int attempt = 0;; ++attempt) {
        auto r = m_http.send(req);
        bool transient = r.ok() ? transient_status(r->status) : detail::worth_retrying(r.error());
        if (!transient || attempt >= m_options.max_transient_retries) {
            if (!r.ok())
                return in_context(r.error(), what);
            if (auto redirect = detail::redirect_error(req, *r, what))
                return core::fail(std::move(*redirect));
            return r;
        }
        milliseconds wait = m_options.first_backoff * (1 << attempt);
        if (r.ok()) {
            if (auto ra = r->retry_after(now())) {
                if (*ra > m_options.longest_wait.count())
                    return r;  // caller reports it
                wait = std::max(wait, milliseconds(*ra * 1000));
            }
        }
        spdlog::debug("{}: transient failure, retrying in {} ms", what, wait.count());
        if (!sleep(wait))
            return core::fail(core::ErrorKind::Cancelled, what + ": cancelled");
    }
}

core::Status AcmeClient::connect() {
    auto r =
        send_with_retries({"GET", m_directory_url, {}, {}}, "ACME directory " + m_directory_url);
    if (!r)
        return r.failure();
    if (r->status != 200)
        return core::fail(
            core::ErrorKind::Protocol,
            "ACME directory " + m_directory_url + " answered HTTP " + std::to_string(r->status),
            "check acme.directory");
    auto j = json_body(*r, "ACME directory " + m_directory_url);
    if (!j)
        return j.failure();
    auto d = parse_directory(*j);
    if (!d)
        return in_context(d.error(), "ACME directory " + m_directory_url);
    for (const auto* url : {&d->new_nonce, &d->new_account, &d->new_order, &d->revoke_cert,
                            &d->key_change, &d->renewal_info})
        if (!url->empty())
            if (auto usable = detail::check_ca_url(*url, "ACME directory " + m_directory_url);
                !usable)
                return usable;
    m_directory = std::move(*d);
    return {};
}

core::Result<RenewalInfo> AcmeClient::renewal_info(const std::string& cert_id) {
    const std::string what = "ACME renewalInfo for " + cert_id;
    if (m_directory.renewal_info.empty())
        return core::fail(core::ErrorKind::Protocol,
                          what + ": the CA does not offer ACME Renewal Information");
    std::string url = m_directory.renewal_info;
    if (url.back() != '/')
        url += '/';
    auto r = send_with_retries({"GET", url + cert_id, {}, {}}, what);
    if (!r)
        return r.failure();
    if (r->status != 200)
        return core::fail(
            problem_to_error(parse_problem(r->body, r->status), what, r->retry_after(now())));
    auto j = json_body(*r, what);
    if (!j)
        return j.failure();
    auto info = parse_renewal_info(*j);
    if (!info)
        return in_context(info.error(), what);
    core::Seconds poll = kAriDefaultPoll;
    if (auto ra = r->retry_after(now()))
        poll = core::Seconds(*ra);
    info->retry_after = std::clamp(poll, kAriShortestPoll, kAriLongestPoll);
    return info;
}

void AcmeClient::keep_nonce(const core::HttpResponse& response) {
    std::string nonce = response.header("replay-nonce");
    if (nonce.size() > 256 || !detail::valid_nonce(nonce))
        return;  // a fresh one is asked for instead
    std::lock_guard lock(m_nonce_mutex);
    if (m_nonces.size() < 64)
        m_nonces.push_back(std::move(nonce));
}

core::Result<std::string> AcmeClient::take_nonce() {
    {
        std::lock_guard lock(m_nonce_mutex);
        if (!m_nonces.empty()) {
            std::string n = std::move(m_nonces.back());
            m_nonces.pop_back();
            return n;
        }
    }
    auto r = send_with_retries({"HEAD", m_directory.new_nonce, {}, {}}, "ACME newNonce");
    if (!r)
        return r.failure();
    std::string nonce = r->header("replay-nonce");
    if (nonce.empty())
        return core::fail(core::ErrorKind::Protocol,
                          "the CA's newNonce answer had no Replay-Nonce");
    if (nonce.size() > 256 || !detail::valid_nonce(nonce))
        return core::fail(core::ErrorKind::Protocol,
                          "the CA's newNonce answer had a Replay-Nonce that is not base64url",
                          "the CA is misbehaving, or something between it and certfleet "
                          "rewrites its answers");
    return nonce;
}

core::Result<core::HttpResponse> AcmeClient::post(const std::string& url,
                                                  const std::optional<json>& payload,
                                                  const std::string& what, bool identify_by_jwk) {
    if (!m_key)
        return core::fail(core::ErrorKind::Generic, what + ": no ACME account key loaded");
    if (auto usable = detail::check_ca_url(url, what); !usable)
        return usable.failure();
    int bad_nonces = 0;
    for (int attempt = 0;; ++attempt) {
        auto nonce = take_nonce();
        if (!nonce)
            return nonce.failure();
        auto jws =
            sign_jws(*m_key, url, *nonce, identify_by_jwk ? std::string() : m_account_url, payload);
        if (!jws)
            return jws.failure();
        const bool trace = spdlog::should_log(spdlog::level::trace);  // -vv
        if (trace)
            spdlog::trace("ACME > POST {} {}", url, describe_jws(*jws));
        auto r = send_with_retries({"POST", url, {kJoseJson}, jws->dump()}, what);
        if (!r)
            return r;
        if (trace)
            spdlog::trace("ACME < {} {}: {}", r->status, url,
                          core::summarize_output(r->body, 2000));
        keep_nonce(*r);
        if (r->status < 400)
            return r;

        Problem problem = parse_problem(r->body, r->status);
        auto retry_after = r->retry_after(now());
        if (problem.is("badNonce") && bad_nonces < m_options.max_bad_nonce_retries) {
            ++bad_nonces;  // RFC 8555 §6.5: retry with the fresh nonce just received
            spdlog::debug("{}: badNonce, retrying ({} of {})", what, bad_nonces,
                          m_options.max_bad_nonce_retries);
            continue;
        }
        core::Error e = problem_to_error(problem, what, retry_after);
        if (problem.is("badNonce") && bad_nonces > 0)
            e.message +=
                " (still after " + std::to_string(bad_nonces) + " retries with fresh nonces)";
        return core::fail(std::move(e));
    }
}

core::Result<json> AcmeClient::json_body(const core::HttpResponse& r, const std::string& what) {
    auto j = json::parse(r.body, nullptr, false);
    if (j.is_discarded())
        return core::fail(detail::not_json_error(r, what));
    return j;
}

core::Result<AcmeClient::JsonReply> AcmeClient::post_for_json(const std::string& url,
                                                              const std::optional<json>& payload,
                                                              const std::string& what) {
    auto r = post(url, payload, what);
    if (!r)
        return r.failure();
    auto j = json_body(*r, what);
    if (!j)
        return j.failure();
    return JsonReply{std::move(*r), std::move(*j)};
}

void AcmeClient::use_account(const core::PrivateKey& key, std::string account_url) {
    m_key = key;
    m_account_url = std::move(account_url);
}

core::Result<std::string> AcmeClient::register_account(const core::PrivateKey& key,
                                                       const NewAccountOptions& options) {
    m_key = key;
    m_account_url.clear();
    json payload = json::object();
    if (options.only_return_existing) {
        payload["onlyReturnExisting"] = true;
    } else {
        if (!options.contact.empty())
            payload["contact"] = options.contact;
        payload["termsOfServiceAgreed"] = options.accept_terms;
        if (!options.eab_kid.empty())
            payload["externalAccountBinding"] =
                sign_eab(key, options.eab_kid, options.eab_mac_key, m_directory.new_account);
        else if (m_directory.external_account_required)
            return core::fail(core::ErrorKind::Config,
                              "the CA requires External Account Binding for new accounts",
                              "set acme.eab.kid and acme.eab.hmac_key_file from your CA's console");
    }
    auto r = post(m_directory.new_account, payload, "ACME account registration", true);
    if (!r)
        return r.failure();
    std::string location = r->header("location");
    if (location.empty())
        return core::fail(core::ErrorKind::Protocol, "the CA's newAccount answer had no Location");
    if (auto usable = detail::check_ca_url(location, "ACME account registration"); !usable)
        return usable.failure();
    auto body = json_body(*r, "ACME account registration");
    if (body && parse_account(*body).status == "deactivated")
        return core::fail(core::ErrorKind::Acme, "the ACME account " + location + " is deactivated",
                          "remove the account directory in the state dir to register anew");
    m_account_url = location;
    return location;
}

core::Result<Order> AcmeClient::new_order(const std::vector<std::string>& domains,
                                          const std::string& profile, const std::string& replaces) {
    // RFC 8555bis profiles: a name the CA does not list would be refused (or,
    // worse, silently ignored by a lenient CA); say so before any POST.
    const auto& offered = m_directory.profiles;
    if (!profile.empty() && !offered.empty() &&
        std::find(offered.begin(), offered.end(), profile) == offered.end()) {
        std::string names;
        for (const auto& p : offered)
            names += (names.empty() ? "" : ", ") + p;
        return core::fail(
            core::ErrorKind::Config,
            "ACME profile \"" + profile + "\" is not offered by the CA (offered: " + names + ")",
            "set acme.profile or the certificate's profile to one of the offered "
            "profiles, or remove it to let the CA choose");
    }
    json ids = json::array();
    for (const auto& d : domains)
        ids.push_back({{"type", "dns"}, {"value", d}});
    json payload{{"identifiers", ids}};
    if (!profile.empty())
        payload["profile"] = profile;
    if (!replaces.empty())
        payload["replaces"] = replaces;
    auto r = post_for_json(m_directory.new_order, payload,
                           "new ACME order (" + m_directory.new_order + ")");
    if (!r)
        return r.failure();
    const std::string location = r->response.header("location");
    if (auto usable = detail::check_ca_url(location, "new ACME order"); !usable)
        return usable.failure();
    return parse_order(r->body, location);
}

core::Result<Order> AcmeClient::get_order(const std::string& url) {
    auto r = post_for_json(url, std::nullopt, "ACME order " + url);
    if (!r)
        return r.failure();
    return parse_order(r->body, url);
}

core::Result<Authorization> AcmeClient::get_authorization(const std::string& url) {
    auto r = post_for_json(url, std::nullopt, "ACME authorization " + url);
    if (!r)
        return r.failure();
    return parse_authorization(r->body, url);
}

core::Status AcmeClient::answer_challenge(const Challenge& challenge) {
    auto r = post(challenge.url, json::object(), "ACME challenge " + challenge.url);
    if (!r)
        return r.failure();
    return {};
}

core::Status AcmeClient::deactivate_authorization(const std::string& url) {
    auto r = post(url, json{{"status", "deactivated"}}, "deactivating authorization " + url);
    if (!r)
        return r.failure();
    return {};
}

milliseconds AcmeClient::poll_delay(const core::HttpResponse& r, int attempt) const {
    if (auto ra = r.retry_after(now()))
        return std::min(milliseconds(*ra * 1000), milliseconds(m_options.longest_wait));
    // Exponential from first_poll: a local CA is usually done within a few
    // hundred ms, a public one within seconds; never faster than first_poll.
    double factor = 1.0;
    for (int i = 0; i < attempt; ++i)
        factor *= 1.6;
    auto d =
        milliseconds(static_cast<long>(static_cast<double>(m_options.first_poll.count()) * factor));
    return std::min(d, m_options.longest_poll);
}

core::Result<Authorization> AcmeClient::wait_authorization(
    const std::string& url, std::chrono::steady_clock::time_point deadline) {
    for (int attempt = 0;; ++attempt) {
        auto r = post_for_json(url, std::nullopt, "ACME authorization " + url);
        if (!r)
            return r.failure();
        auto authz = parse_authorization(r->body, url);
        if (!authz)
            return authz;
        if (authz->status != "pending" && authz->status != "processing")
            return authz;
        auto delay = poll_delay(r->response, attempt);
        if (std::chrono::steady_clock::now() + delay > deadline)
            return core::fail(
                timeout_error("authorization for " + authz->identifier.value, authz->status));
        if (!sleep(delay))
            return core::fail(core::ErrorKind::Cancelled, "cancelled");
    }
}

core::Result<Order> AcmeClient::finalize(const Order& order, const std::string& csr_der,
                                         std::chrono::steady_clock::time_point deadline) {
    auto r = post_for_json(order.finalize, json{{"csr", core::base64url_encode(csr_der)}},
                           "finalizing order " + order.url);
    for (int attempt = 0;; ++attempt) {
        if (!r)
            return r.failure();
        auto current = parse_order(r->body, order.url);
        if (!current)
            return current;
        if (current->status == "valid")
            return current;
        if (current->status == "invalid") {
            Problem p =
                current->error.value_or(Problem{"about:blank", "order became invalid", 0, {}});
            return core::fail(problem_to_error(p, "order " + order.url, std::nullopt));
        }
        auto delay = poll_delay(r->response, attempt);
        if (std::chrono::steady_clock::now() + delay > deadline)
            return core::fail(timeout_error("order " + order.url, current->status));
        if (!sleep(delay))
            return core::fail(core::ErrorKind::Cancelled, "cancelled");
        r = post_for_json(order.url, std::nullopt, "ACME order " + order.url);
    }
}

core::Result<std::string> AcmeClient::download_certificate(const std::string& url) {
    auto r = post(url, std::nullopt, "downloading certificate " + url);
    if (!r)
        return r.failure();
    if (r->body.find("-----BEGIN CERTIFICATE-----") == std::string::npos)
        return core::fail(core::ErrorKind::Protocol,
                          "the CA's certificate download " + url + " holds no PEM certificate");
    return r->body;
}

core::Status AcmeClient::revoke(const std::string& cert_der, RevocationReason reason) {
    json payload{{"certificate", core::base64url_encode(cert_der)},
                 {"reason", static_cast<int>(reason)}};
    auto r = post(m_directory.revoke_cert, payload, "revoking certificate");
    if (!r)
        return r.failure();
    return {};
}

core::Status AcmeClient::change_key(const core::PrivateKey& new_key) {
    if (m_directory.key_change.empty())
        return core::fail(core::ErrorKind::Acme, "this CA does not offer account key rollover");
    auto inner = sign_key_change_inner(new_key, *m_key, m_account_url, m_directory.key_change);
    if (!inner)
        return inner.failure();
    auto r = post(m_directory.key_change, *inner, "account key rollover");
    if (!r)
        return r.failure();
    m_key = new_key;
    return {};
}

}  // namespace certfleet::acme
