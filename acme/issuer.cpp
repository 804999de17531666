#include "acme/issuer.hpp"

#include <algorithm>
#include <cctype>
#include <set>

#include <spdlog/spdlog.h>

#include "core/process.hpp"
#include "core/strings.hpp"

namespace certfleet::acme {

using Clock = std::chrono::steady_clock;

std::string dns01_txt_value(const std::string& key_authorization) {
    return core::base64url_encode(core::sha256(key_authorization));
}

std::string replaces_id(const AcmeClient& client, std::string_view current_cert_pem) {
    if (client.directory().renewal_info.empty() || current_cert_pem.empty())
        return {};
    auto id = core::ari_cert_id(current_cert_pem);
    return id ? *id : std::string();
}

bool refused_replaces(const core::Error& e) {
    constexpr std::string_view kPrefix = "urn:ietf:params:acme:error:";
    if (e.acme_type == std::string(kPrefix) + "alreadyReplaced")
        return true;
    if (e.acme_type != std::string(kPrefix) + "malformed" &&
        e.acme_type != std::string(kPrefix) + "conflict")
        return false;
    return core::lower(e.message).find("replace") != std::string::npos;
}

namespace {

// Removes the challenge records on every exit path, including failures and
// cancellation: a record left behind is litter in someone's zone.
class RecordCleanup {
public:
    RecordCleanup(dns::DnsProvider& provider, const std::string& cert)
        : m_provider(provider), m_cert(cert) {}
    ~RecordCleanup() { run(); }
    RecordCleanup(const RecordCleanup&) = delete;
    RecordCleanup& operator=(const RecordCleanup&) = delete;

    void arm(std::vector<dns::ChallengeRecord> records) { m_records = std::move(records); }
    void run() {
        if (m_records.empty())
            return;
        if (auto s = m_provider.cleanup(m_records); !s)
            spdlog::warn("{}: could not remove challenge records: {}", m_cert,
                         s.error().describe());
        m_records.clear();
    }

private:
    dns::DnsProvider& m_provider;
    std::string m_cert;
    std::vector<dns::ChallengeRecord> m_records;
};

// Deactivates the authorizations this order left pending when issuance fails,
// so nothing lingers at the CA that a later order could trip over.
void deactivate_pending(AcmeClient& client, const std::vector<std::string>& urls,
                        const std::string& cert) {
    for (const auto& url : urls) {
        auto authz = client.get_authorization(url);
        if (authz && authz->status != "pending")
            continue;
        if (auto s = client.deactivate_authorization(url); !s)
            spdlog::warn("{}: could not deactivate authorization {}: {}", cert, url,
                         s.error().message);
        else
            spdlog::info("{}: deactivated pending authorization {}", cert, url);
    }
}

core::Error with_cert(core::Error e, const std::string& cert) {
    e.message = "certificate '" + cert + "': " + e.message;
    return e;
}

struct Pending {
    Authorization authz;
    Challenge challenge;
};

// Names compare without regard to case (DNS) and a trailing dot.
std::string name_key(std::string_view name) {
    std::string key = core::lower(name);
    if (key.ends_with('.'))
        key.pop_back();
    return key;
}

// The name an authorization is for, as the order would list it: a wildcard
// authorization carries the base domain with "wildcard": true (RFC 8555 §7.1.4).
bool requested(const Authorization& authz, const std::vector<std::string>& domains) {
    if (authz.identifier.type != "dns")
        return false;
    const std::string name = (authz.wildcard ? "*." : "") + name_key(authz.identifier.value);
    return std::any_of(domains.begin(), domains.end(),
                       [&](const std::string& d) { return name_key(d) == name; });
}

core::Result<std::vector<Pending>> collect_pending(AcmeClient& client, const Order& order,
                                                   const std::vector<std::string>& domains) {
    std::vector<Pending> pending;
    for (const auto& url : order.authorizations) {
        auto authz = client.get_authorization(url);
        if (!authz)
            return authz.failure();
        // A CA (or something posing as one) must not get certfleet to publish
        // a validation record for a name nobody asked for.
        if (!requested(*authz, domains))
            return core::fail(core::ErrorKind::Protocol,
                              "the CA sent an authorization for " +
                                  core::summarize_output(
                                      authz->identifier.type + " " + authz->identifier.value, 200) +
                                  ", which this order did not request; nothing was published",
                              "the CA is misbehaving; check acme.directory");
        if (authz->status == "valid")
            continue;  // reused by the CA
        if (authz->status != "pending")
            return core::fail(
                core::ErrorKind::Acme,
                "authorization for " + authz->identifier.value + " is " + authz->status);
        const Challenge* ch = authz->challenge("dns-01");
        if (!ch)
            return core::fail(
                core::ErrorKind::Acme,
                "the CA offers no dns-01 challenge for " + authz->identifier.value,
                "certfleet only solves DNS-01; check the CA supports it for this name");
        pending.push_back({*authz, *ch});
    }
    return pending;
}

core::Status solve_authorizations(AcmeClient& client, const IssueRequest& req,
                                  const std::vector<Pending>& pending, const ProgressFn& progress) {
    std::vector<dns::ChallengeRecord> records;
    for (const auto& p : pending) {
        auto fqdn = req.solver.record_name(p.authz.identifier.value);
        if (!fqdn)
            return fqdn.failure();
        std::string key_authz = p.challenge.token + "." + client.account_thumbprint();
        records.push_back({*fqdn, dns01_txt_value(key_authz), p.authz.identifier.value,
                           p.challenge.token, key_authz});
    }
    RecordCleanup cleanup(*req.solver.provider, req.name);
    cleanup.arm(records);  // armed before present: a half-applied update is cleaned too
    if (progress)
        progress(req.name, "publishing " + std::to_string(records.size()) + " TXT record(s)");
    if (auto s = req.solver.provider->present(records); !s)
        return s;
    if (progress)
        progress(req.name, "published; waiting for DNS propagation");
    if (auto s = req.solver.wait_propagation(records); !s)
        return s;

    if (progress)
        progress(req.name, "validating with the CA");
    for (const auto& p : pending)
        if (auto s = client.answer_challenge(p.challenge); !s)
            return s;
    auto deadline = Clock::now() + req.authorization_timeout;
    for (const auto& p : pending) {
        auto done = client.wait_authorization(p.authz.url, deadline);
        if (!done)
            return done.failure();
        if (done->status != "valid") {
            Problem problem = done->first_error().value_or(
                Problem{"about:blank", "authorization ended " + done->status, 0, {}});
            return core::fail(problem_to_error(
                problem, "DNS-01 validation of " + p.authz.identifier.value, std::nullopt));
        }
    }
    if (progress)
        progress(req.name,
                 "validated; removing " + std::to_string(records.size()) + " TXT record(s)");
    cleanup.run();
    return {};
}

// The issued certificate names exactly what was requested: no name missing
// (the deployment would fail on it) and none added.
core::Status check_names(const core::CertificateInfo& info,
                         const std::vector<std::string>& domains) {
    std::set<std::string> wanted, got;
    for (const auto& d : domains)
        wanted.insert(name_key(d));
    for (const auto& n : info.dns_names)
        got.insert(name_key(n));
    if (wanted == got)
        return {};
    return core::fail(core::ErrorKind::Protocol,
                      "the CA's certificate names " +
                          core::summarize_output(core::join({got.begin(), got.end()}), 300) +
                          ", not the requested " + core::join({wanted.begin(), wanted.end()}) +
                          "; it was not stored",
                      "the CA is misbehaving; check acme.directory");
}

core::Result<IssuedCertificate> finish(AcmeClient& client, const IssueRequest& req,
                                       const Order& order, const core::PrivateKey& key,
                                       const ProgressFn& progress) {
    auto csr = core::make_csr_der(key, req.domains);
    if (!csr)
        return csr.failure();
    if (progress)
        progress(req.name, "finalizing");
    auto done = client.finalize(order, *csr, Clock::now() + req.finalize_timeout);
    if (!done)
        return done.failure();
    if (progress)
        progress(req.name, "downloading " + done->certificate);
    auto pem = client.download_certificate(done->certificate);
    if (!pem)
        return pem.failure();

    auto blocks = core::split_pem_certificates(*pem);
    if (blocks.empty())
        return core::fail(core::ErrorKind::Protocol, "the CA returned an empty certificate chain");
    IssuedCertificate out;
    out.cert_pem = blocks.front();
    for (size_t i = 1; i < blocks.size(); ++i)
        out.chain_pem += blocks[i];
    out.fullchain_pem = out.cert_pem + out.chain_pem;
    out.key_pem = key.to_pem();
    out.order_url = order.url;
    auto info = core::parse_certificate_pem(out.cert_pem);
    if (!info)
        return info.failure();
    out.info = *info;
    if (auto names = check_names(out.info, req.domains); !names)
        return names.failure();
    auto matches = core::key_matches_certificate(key, out.cert_pem);
    if (!matches || !*matches)
        return core::fail(core::ErrorKind::Protocol,
                          "the CA's certificate does not match the key certfleet generated");
    return out;
}

}  // namespace

core::Status abandon_order(AcmeClient& client, const std::string& order_url,
                           const std::string& cert) {
    auto order = client.get_order(order_url);
    if (!order) {
        const auto kind = order.error().kind;
        if (kind == core::ErrorKind::Network || kind == core::ErrorKind::Timeout ||
            kind == core::ErrorKind::RateLimited || kind == core::ErrorKind::Cancelled)
            return order.failure();
        spdlog::info("{}: abandoned order {} is gone ({})", cert, order_url, order.error().message);
        return {};
    }
    if (order->status == "pending")
        deactivate_pending(client, order->authorizations, cert);
    return {};
}

core::Result<IssuedCertificate> issue_certificate(AcmeClient& client, const IssueRequest& req,
                                                  const std::atomic<bool>* cancel,
                                                  const ProgressFn& progress) {
    std::optional<core::PrivateKey> key = req.reuse_key;
    if (!key) {
        auto generated = core::PrivateKey::generate(req.key_type);
        if (!generated)
            return core::fail(with_cert(generated.error(), req.name));
        key = std::move(*generated);
    }
    if (progress)
        progress(req.name, "ordering");
    auto order = client.new_order(req.domains, req.profile, req.replaces);
    if (!order && !req.replaces.empty() && refused_replaces(order.error())) {
        // `replaces` only helps the CA (and may exempt us from rate limits);
        // a certificate someone else already replaced must not block renewal.
        spdlog::info("{}: the CA refused replaces={} ({}); ordering without it", req.name,
                     req.replaces, order.error().message);
        order = client.new_order(req.domains, req.profile, "");
    }
    if (!order)
        return core::fail(with_cert(order.error(), req.name));
    if (req.order_created)
        req.order_created(order->url);
    if (progress)
        progress(req.name, "order " + order->url + " is " + order->status);

    if (order->status == "pending") {
        auto pending = collect_pending(client, *order, req.domains);
        core::Status solved = pending ? solve_authorizations(client, req, *pending, progress)
                                      : core::Status(pending.failure());
        if (!solved) {
            deactivate_pending(client, order->authorizations, req.name);
            return core::fail(with_cert(solved.error(), req.name));
        }
    } else if (order->status != "ready" && order->status != "valid") {
        return core::fail(with_cert(
            core::make_error(core::ErrorKind::Acme, "new order is " + order->status), req.name));
    }
    if (cancel && cancel->load())
        return core::fail(core::ErrorKind::Cancelled, "cancelled");
    auto issued = finish(client, req, *order, *key, progress);
    if (!issued)
        return core::fail(with_cert(issued.error(), req.name));
    return issued;
}

}  // namespace certfleet::acme
