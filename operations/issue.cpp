#include "operations/issue.hpp"

#include <algorithm>
#include <map>
#include <mutex>
#include <set>

#include <spdlog/spdlog.h>

#include "acme/issuer.hpp"
#include "core/parallel.hpp"
#include "core/strings.hpp"
#include "operations/acme_session.hpp"
#include "operations/dns_wiring.hpp"
#include "operations/ledger_errors.hpp"
#include "operations/recovery.hpp"
#include "renewal/policy.hpp"
#include "state/store_index.hpp"

namespace certfleet::operations {

namespace {

std::string error_kind_name(core::ErrorKind kind) {
    switch (kind) {
        case core::ErrorKind::RateLimited:
            return "rate_limited";
        case core::ErrorKind::Dns:
            return "dns";
        case core::ErrorKind::Acme:
            return "acme";
        case core::ErrorKind::Network:
            return "network";
        case core::ErrorKind::Timeout:
            return "timeout";
        case core::ErrorKind::Config:
            return "config";
        case core::ErrorKind::Cancelled:
            return "cancelled";
        default:
            return "other";
    }
}

// After a renewalInfo poll that gave no usable answer, ask again after this
// long (RFC 9773 §4.3.3: fall back to our own rule and retry later, not on
// every run). A CA without renewalInfo is asked about its directory only as
// often as a CA with ARI would be polled.
constexpr core::Seconds kAriRetryAfterFailure{3600};

// Asks the CA for a certificate's renewalInfo and returns the ledger record
// to store; nullopt when the certificate has no ARI identifier (no Authority
// Key Identifier: nothing to ask, no request). Never fails the certificate:
// without an answer the lifetime rule decides until the record's next_poll.
std::optional<state::AriRecord> fetch_ari(const Context& ctx, AcmeSession& session,
                                          const std::string& cert, const std::string& cert_pem,
                                          const std::string& serial,
                                          const std::optional<state::AriRecord>& stored) {
    auto id = core::ari_cert_id(cert_pem);
    if (!id) {
        spdlog::debug("{}: no ARI identifier ({}); using the lifetime rule", cert,
                      id.error().message);
        return std::nullopt;
    }
    auto info = session.renewal_info(*id);
    const core::TimePoint now = ctx.clock.now();
    if (info) {
        auto record = renewal::update_ari(
            stored, cert, serial,
            {{info->window_start, info->window_end}, info->retry_after, info->explanation_url}, now,
            renewal::random_draw());
        spdlog::debug(
            "{}: ARI window {} to {}, renew at {}, next poll {}", cert,
            core::format_rfc3339(record.window_start), core::format_rfc3339(record.window_end),
            core::format_rfc3339(record.chosen_at), core::format_rfc3339(record.next_poll));
        return record;
    }
    const bool not_offered = session.offers_renewal_info() == std::optional<bool>(false);
    auto record = renewal::ari_unavailable(
        stored, cert, serial, now + (not_offered ? acme::kAriDefaultPoll : kAriRetryAfterFailure));
    if (not_offered)
        spdlog::debug("{}: the CA offers no renewal information; using the lifetime rule", cert);
    else
        spdlog::info(
            "{}: no renewal information from the CA ({}); using {}", cert, info.error().message,
            renewal::ari_has_window(record) ? "the last window it sent" : "the lifetime rule");
    return record;
}

void save_ari(state::Ledger& ledger, const state::AriRecord& record) {
    if (auto s = ledger.save_ari(record); !s)
        log_unrecorded(ledger, record.cert, "the CA's renewal information", s.error(),
                       "the next run asks the CA again");
}

struct Job {
    const inventory::CertificateSpec* spec;
    CertificateOutcome* outcome;
    std::optional<state::StoredVersion> current;
    // The current key was revoked as compromised: a new one even with reuse_key.
    bool key_compromised = false;
};

// Everything a worker needs; writes to the store and ledger are serialized.
struct Runner {
    Context& ctx;
    AcmeSession& session;
    DnsWiring& dns;
    std::mutex write_mutex;
    std::size_t total = 0;  // orders in this batch
    std::mutex progress_mutex;
    std::size_t validated = 0;
    std::set<std::string> dns_waiting;

    // One certificate, from its order to the store and the ledger.
    void issue(Job& job) {
        auto client = session.client();
        if (!client)
            return fail(job, client.error());
        auto solver = dns.solver_for(*job.spec);
        if (!solver)
            return fail(job, solver.error());
        auto req = request_for(job, **client, *solver);
        if (!req)
            return fail(job, req.error());
        // Every record is in the ledger before it is in the zone: if this run
        // dies before removing it, the next run does (recovery.hpp).
        RememberingProvider remembered(*solver->provider, ctx.ledger, write_mutex, job.spec->name,
                                       job.spec->dns_provider, ctx.clock);
        req->solver.provider = &remembered;
        // Likewise the order, from its creation until this issuance ends.
        RememberedOrder order(ctx.ledger, write_mutex, job.spec->name, ctx.clock);
        req->order_created = [&order](const std::string& url) { order.created(url); };
        auto issued = acme::issue_certificate(**client, *req, ctx.cancel, progress());
        if (!issued)
            return fail(job, issued.error());
        // Ask for the new certificate's renewal information while the CA is at
        // hand, so the next runs have a record and send no request until its
        // next poll (or, with a CA without ARI, for the default interval).
        std::optional<state::AriRecord> ari;
        if (!ctx.inventory.policy.renew_before)
            ari = fetch_ari(ctx, session, job.spec->name, issued->cert_pem, issued->info.serial_hex,
                            std::nullopt);
        store_issued(job, req->profile, *issued, ari);
    }

    // An exception escaped issue(): a bug, not the CA's or the DNS's fault,
    // so the certificate fails without a backoff.
    void crashed(Job& job, const std::string& what) {
        CertificateOutcome& out = *job.outcome;
        out.action = CertificateAction::Failed;
        out.error = "certificate '" + job.spec->name + "' failed unexpectedly: " + what;
        out.hint = "run again with -v and report this error";
        spdlog::error("{}", out.error);
    }

private:
    void fail(Job& job, const core::Error& e) {
        CertificateOutcome& out = *job.outcome;
        out.action = CertificateAction::Failed;
        out.error = e.message;
        out.hint = e.hint;
        spdlog::error("{}", e.describe());
        if (ctx.hooks)
            ctx.hooks->fire(
                {"failure", job.spec->name, job.spec->domains, "", "", "", "", "", e.message});
        // An operator's Ctrl-C is not the CA's or DNS's fault: no backoff.
        if (e.kind == core::ErrorKind::Cancelled)
            return;
        std::lock_guard lock(write_mutex);
        state::FailureRecord record{job.spec->name, ctx.clock.now(), error_kind_name(e.kind),
                                    e.message, std::nullopt};
        if (e.retry_after_seconds)
            record.retry_after = ctx.clock.now() + core::Seconds(*e.retry_after_seconds);
        if (auto s = ctx.ledger.record_failure(record); !s) {
            out.ledger_error = "the ledger could not record the failure of '" + job.spec->name +
                               "': " + s.error().message + "; next step: make " +
                               ctx.ledger.path() +
                               " writable (until then, runs retry without backing off)";
            spdlog::error("{}", out.ledger_error);
        }
    }

    // The order as the inventory describes it (without the ledger's hooks).
    core::Result<acme::IssueRequest> request_for(const Job& job, acme::AcmeClient& client,
                                                 const acme::DnsSolver& solver) {
        acme::IssueRequest req;
        req.name = job.spec->name;
        req.domains = job.spec->domains;
        req.key_type = job.spec->key;
        req.profile = job.spec->profile.empty() ? ctx.inventory.acme.profile : job.spec->profile;
        req.solver = solver;
        // RFC 9773 §5: tell the CA which certificate this one replaces (it may
        // then exempt the order from rate limits and stop suggesting renewal).
        if (job.current)
            req.replaces = acme::replaces_id(client, job.current->cert_pem);
        if (job.spec->reuse_key && job.key_compromised)
            spdlog::warn(
                "{}: its key was revoked as compromised; a new key is generated "
                "although reuse_key is set",
                job.spec->name);
        if (job.spec->reuse_key && !job.key_compromised && job.current &&
            job.current->key_type == job.spec->key) {
            auto pem = ctx.store.read_private_key(job.spec->name, job.current->version);
            auto key = pem ? core::PrivateKey::from_pem(*pem)
                           : core::Result<core::PrivateKey>(pem.failure());
            if (!key)
                return key.failure();
            req.reuse_key = *key;
        }
        return req;
    }

    // On a terminal the steps are shown; otherwise they go to the debug
    // log, so `-v` shows how far an interrupted issuance got.
    // The live view adds where the whole batch is: orders validated of the
    // total, and which certificates DNS propagation still waits for.
    acme::ProgressFn progress() {
        return [this](const std::string& cert, const std::string& step) {
            if (!ctx.progress) {
                spdlog::debug("{}: {}", cert, step);
                return;
            }
            std::string line = step;
            {
                std::lock_guard lock(progress_mutex);
                if (step.starts_with("published; waiting for DNS propagation"))
                    dns_waiting.insert(cert);
                else
                    dns_waiting.erase(cert);
                if (step == "finalizing")
                    ++validated;
                line += " [" + std::to_string(validated) + "/" + std::to_string(total) +
                        " orders validated";
                if (!dns_waiting.empty())
                    line += "; DNS propagation still waits for " +
                            core::join({dns_waiting.begin(), dns_waiting.end()});
                line += "]";
            }
            ctx.progress(cert, line);
        };
    }

    void store_issued(Job& job, const std::string& profile, const acme::IssuedCertificate& issued,
                      const std::optional<state::AriRecord>& ari) {
        CertificateOutcome& out = *job.outcome;
        std::lock_guard lock(write_mutex);
        core::TimePoint now = ctx.clock.now();
        state::IssuedMaterial material{issued.cert_pem, issued.chain_pem, issued.fullchain_pem,
                                       issued.key_pem};
        auto version = ctx.store.add_version(job.spec->name, material, now);
        if (!version) {
            out.action = CertificateAction::Failed;
            out.error = "certificate '" + job.spec->name + "' was issued (serial " +
                        issued.info.serial_hex +
                        ") but could not be stored: " + version.error().message;
            out.hint =
                "free space or fix permissions in the state directory, then run issue --force";
            spdlog::error("{}", out.error);
            return;
        }
        record_issuance(job, issuance_record(job, profile, issued, *version, now));
        if (ari)
            save_ari(ctx.ledger, *ari);
        if (auto s = ctx.store.prune(job.spec->name, ctx.inventory.policy.keep_versions); !s)
            spdlog::warn("{}: pruning old versions: {}", job.spec->name, s.error().describe());
        out.action = CertificateAction::Issued;
        out.serial = issued.info.serial_hex;
        out.version = *version;
        out.not_after = core::format_rfc3339(issued.info.not_after);
        spdlog::info("{}: issued serial {} (version {}), valid until {}", job.spec->name,
                     out.serial, out.version, out.not_after);
    }

    static state::IssuanceRecord issuance_record(const Job& job, const std::string& profile,
                                                 const acme::IssuedCertificate& issued,
                                                 const std::string& version, core::TimePoint now) {
        state::IssuanceRecord record;
        record.cert = job.spec->name;
        record.version = version;
        record.serial = issued.info.serial_hex;
        record.domains = job.spec->domains;
        record.key_type = core::key_type_name(job.spec->key);
        record.profile = profile;
        record.not_before = issued.info.not_before;
        record.not_after = issued.info.not_after;
        record.order_url = issued.order_url;
        record.issued_at = now;
        record.replaced_version = job.current ? job.current->version : std::string();
        return record;
    }

    // record_issuance also clears the failures, in the same transaction.
    void record_issuance(Job& job, const state::IssuanceRecord& record) {
        if (auto s = ctx.ledger.record_issuance(record); !s) {
            // The next run's recovery records the store's current version
            // (recovery.cpp, record_missing_issuances).
            job.outcome->ledger_error =
                "certificate '" + job.spec->name + "' was issued (serial " + record.serial +
                ") and stored as version " + record.version +
                ", but the ledger could not record it: " + s.error().message +
                "; next step: make " + ctx.ledger.path() +
                " writable; the next issue or run records it from the store";
            spdlog::error("{}", job.outcome->ledger_error);
        }
    }
};

// The public half of a stored version's key; nullopt when it cannot be read
// (pruned, say).
std::optional<std::string> public_key_of(const state::Store& store, const std::string& cert,
                                         const std::string& version) {
    auto pem = store.read_private_key(cert, version);
    auto key =
        pem ? core::PrivateKey::from_pem(*pem) : core::Result<core::PrivateKey>(pem.failure());
    if (!key)
        return std::nullopt;
    return key->public_jwk().dump();
}

// A key revoked for keyCompromise is never certified again (Let's Encrypt
// refuses it; another CA would re-certify it): revoked with the current
// version, or with an older version sharing its key (reuse_key, from before
// this rule). `revoke` only revokes the current version, and the version
// after it gets a new key here, so an older revoked version that was pruned
// cannot share the current key: unreadable means not shared.
bool key_compromised(const state::Store& store,
                     const std::multimap<std::string, state::Revocation>& revocations,
                     const std::string& cert, const std::string& version) {
    auto [from, to] = revocations.equal_range(cert);
    std::optional<std::string> current_key;
    for (auto it = from; it != to; ++it) {
        const auto& revoked = it->second;
        if (revoked.reason != "keyCompromise")
            continue;
        if (revoked.version == version)
            return true;
        if (!current_key)
            current_key = public_key_of(store, cert, version);
        const auto revoked_key = public_key_of(store, cert, revoked.version);
        if (current_key && revoked_key && *current_key == *revoked_key)
            return true;
    }
    return false;
}

// After failures: true (and `out` deferred) while the backoff lasts.
// --force overrides both our backoff and the CA's Retry-After: an operator
// may know the cause is gone; the warning says the CA asked for the wait.
bool backing_off(const inventory::CertificateSpec& spec, const state::FailureState& failure,
                 bool force, core::TimePoint now, CertificateOutcome& out) {
    if (force) {
        if (failure.retry_after && now < *failure.retry_after)
            spdlog::warn(
                "{}: the CA asked not to retry before {}; --force retries now (a CA "
                "may refuse, or rate-limit the account further)",
                spec.name, core::format_rfc3339(*failure.retry_after));
        return false;
    }
    const core::TimePoint until = renewal::backoff_until(failure);
    if (now >= until)
        return false;
    out.action = CertificateAction::Deferred;
    out.reason = "backing off after " + std::to_string(failure.consecutive_failures) +
                 " failure(s) until " + core::format_rfc3339(until) +
                 " (last: " + failure.last_message + ")";
    return true;
}

// Decides the action for one certificate before any network traffic. The
// fleet index (one ledger read for all certificates) describes the current
// version without parsing its PEM files; they are read only when a request
// needs them (ARI poll, issuance).
std::optional<Job> plan(Context& ctx, AcmeSession& session, const inventory::CertificateSpec& spec,
                        const IssueOptions& options, state::FleetIndex& index,
                        CertificateOutcome& out) {
    out.name = spec.name;
    auto current = index.current[spec.name];
    if (current) {
        out.serial = current->info.serial_hex;
        out.version = current->version;
        out.not_after = core::format_rfc3339(current->info.not_after);
    }
    auto latest = index.latest_issuance.find(spec.name);
    std::string last_profile =
        latest == index.latest_issuance.end() ? std::string() : latest->second.profile;
    core::TimePoint now = ctx.clock.now();
    const auto& policy = ctx.inventory.policy;
    auto found_ari = index.ari.find(spec.name);
    auto stored_ari =
        found_ari == index.ari.end() ? std::nullopt : std::optional(found_ari->second);
    auto decision = renewal::decide_renewal(spec, current, last_profile, policy, now, stored_ari);
    // renew_before "auto": the CA's renewal information decides when it has
    // any. Between polls the ledger's record is used without a request; only
    // when it is missing or its next_poll came is the CA asked (a GET of the
    // directory and of renewalInfo; no account). Not for a certificate that is
    // due anyway (changed, expired: RFC 9773 forbids asking about expired
    // ones) nor with --force. --dry-run reads the stored record but fetches
    // nothing: the GET would be harmless at the CA, but the moment drawn in a
    // new window could not be stored (dry runs write nothing), so the plan
    // could disagree with the real run that follows.
    if (!policy.renew_before && current && !options.force && !options.dry_run &&
        decision.basis == renewal::RenewalBasis::Schedule &&
        renewal::ari_poll_due(stored_ari, current->info.serial_hex, now)) {
        auto full = ctx.store.current(spec.name);
        if (auto fresh = full ? fetch_ari(ctx, session, spec.name, full->cert_pem,
                                          full->info.serial_hex, stored_ari)
                              : std::nullopt) {
            save_ari(ctx.ledger, *fresh);
            decision = renewal::decide_renewal(spec, current, last_profile, policy, now, fresh);
        }
    }
    if (current && !decision.due &&
        state::find_revocation(index.revocations, spec.name, current->version)) {
        decision.due = true;
        decision.reason = "current certificate was revoked";
    }
    auto failed = index.failures.find(spec.name);
    const state::FailureState* failure = failed == index.failures.end() ? nullptr : &failed->second;
    if (!decision.due && failure) {
        // A failed attempt (say `issue --force` while DNS was down) is retried,
        // under the backoff below, until one succeeds: the warning it left then
        // goes away by itself instead of lingering until the certificate is due.
        decision.due = true;
        decision.reason = "retrying: the last attempt failed at " +
                          core::format_rfc3339(failure->last_failure_at);
    }
    out.reason = options.force ? "forced" : decision.reason;
    if (!decision.due && !options.force) {
        out.action = CertificateAction::Unchanged;
        return std::nullopt;
    }
    if (failure && backing_off(spec, *failure, options.force, now, out))
        return std::nullopt;
    if (options.dry_run) {
        out.action = CertificateAction::Planned;
        return std::nullopt;
    }
    const bool compromised =
        current && spec.reuse_key &&
        key_compromised(ctx.store, index.revocations, spec.name, current->version);
    return Job{&spec, &out, current ? ctx.store.current(spec.name) : std::nullopt, compromised};
}

}  // namespace

int IssueReport::failed() const {
    return static_cast<int>(
        std::count_if(certificates.begin(), certificates.end(),
                      [](const auto& c) { return c.action == CertificateAction::Failed; }));
}

int IssueReport::exit_code() const {
    int f = failed();
    if (f == 0) {
        const bool unrecorded =
            std::any_of(certificates.begin(), certificates.end(),
                        [](const CertificateOutcome& c) { return !c.ledger_error.empty(); });
        return unrecorded ? 1 : 0;
    }
    int attempted =
        static_cast<int>(std::count_if(certificates.begin(), certificates.end(), [](const auto& c) {
            return c.action == CertificateAction::Failed || c.action == CertificateAction::Issued;
        }));
    return f == attempted ? 2 : 1;
}

IssueReport run_issue(Context& ctx, const IssueOptions& options) {
    IssueReport report;
    std::vector<const inventory::CertificateSpec*> specs;
    specs.reserve(ctx.inventory.certificates.size());
    for (const auto& [name, spec] : ctx.inventory.certificates)
        if (options.names.empty() ||
            std::find(options.names.begin(), options.names.end(), name) != options.names.end())
            specs.push_back(&spec);
    report.certificates.resize(specs.size());

    // Opened lazily: planning only connects when ARI must be polled (or an
    // order a killed run abandoned must be cleaned up).
    AcmeSession session(ctx.inventory, ctx.store.accounts_dir(), ctx.cancel);
    // Before planning, so it happens even when nothing is due: what a killed
    // run left behind (challenge records, an open order, a missing ledger row).
    DnsWiring dns(ctx.inventory, ctx.cancel);
    if (!options.dry_run)
        recover_interrupted_runs(ctx, dns, session);
    std::vector<std::string> names;
    for (const auto* spec : specs)
        names.push_back(spec->name);
    auto index = state::index_fleet(ctx.store, ctx.ledger, names);
    std::vector<Job> jobs;
    for (size_t i = 0; i < specs.size(); ++i)
        if (auto job = plan(ctx, session, *specs[i], options, index, report.certificates[i]))
            jobs.push_back(*job);
    if (jobs.empty())
        return report;
    if (options.before_work)
        options.before_work();

    Runner runner{ctx, session, dns, {}, jobs.size(), {}, 0, {}};
    const std::size_t started = core::parallel_for(
        jobs.size(), options.concurrency, [&](std::size_t i) { runner.issue(jobs[i]); },
        [&](std::size_t i, const std::string& what) { runner.crashed(jobs[i], what); }, ctx.cancel);
    for (std::size_t i = started; i < jobs.size(); ++i) {
        jobs[i].outcome->action = CertificateAction::NotStarted;
        jobs[i].outcome->error = "not started: certfleet was interrupted first";
    }
    return report;
}

}  // namespace certfleet::operations
