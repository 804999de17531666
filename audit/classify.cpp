#include "audit/classify.hpp"

#include <algorithm>
#include <utility>

#include "audit/classify_internal.hpp"
#include "core/enum_names.hpp"
#include "renewal/expiry.hpp"

namespace certfleet::audit {

namespace {

constexpr core::EnumNames<FindingKind> kFindingKindNames[] = {
    {FindingKind::Orphan, "orphan"},
    {FindingKind::Stale, "stale"},
    {FindingKind::Expired, "expired"},
    {FindingKind::Expiring, "expiring"},
    {FindingKind::KeyExposed, "key_exposed"},
    {FindingKind::UntrustedDir, "untrusted_dir"},
    {FindingKind::KeyMismatch, "key_mismatch"},
    {FindingKind::ServedMismatch, "served_mismatch"},
    {FindingKind::Missing, "missing"},
};

}  // namespace

std::string_view finding_kind_name(FindingKind kind) {
    return core::enum_name(kFindingKindNames, kind, "unknown");
}

std::optional<FindingKind> parse_finding_kind(std::string_view name) {
    return core::enum_from_name(kFindingKindNames, name);
}

namespace detail {

bool under(const std::string& path, const std::string& dir) {
    return path.size() > dir.size() && path.compare(0, dir.size(), dir) == 0 &&
           path[dir.size()] == '/';
}

void dedupe(std::vector<AuditFinding>& findings) {
    // By name, not enum order: the output's order within a path stays alphabetical.
    std::stable_sort(findings.begin(), findings.end(), [](const auto& a, const auto& b) {
        return std::make_pair(std::string_view(a.path), finding_kind_name(a.kind)) <
               std::make_pair(std::string_view(b.path), finding_kind_name(b.kind));
    });
    findings.erase(std::unique(findings.begin(), findings.end(),
                               [](const auto& a, const auto& b) {
                                   return a.path == b.path && a.kind == b.kind;
                               }),
                   findings.end());
}

}  // namespace detail

namespace {

using detail::dedupe;
using detail::under;

struct Classifier {
    const inventory::Inventory& inv;
    const ManagedState& managed;
    const HostObservation& host;
    core::TimePoint now;
    std::set<std::string> deployed_here;
    std::map<std::string, std::vector<const ObservedUse*>> loaded_by;  // real path → uses
    std::vector<AuditFinding> out;

    AuditFinding& add(FindingKind kind, const std::string& path,
                      const core::PemCertificate* cert = nullptr) {
        AuditFinding f;
        f.host = host.host;
        f.kind = kind;
        f.path = path;
        if (cert) {
            f.subject = cert->info.subject;
            f.serial = cert->info.serial_hex;
            f.not_after = cert->info.not_after;
        }
        out.push_back(std::move(f));
        return out.back();
    }

    const ObservedFile* file(const std::string& path) const {
        auto it = host.files.find(path);
        return it == host.files.end() ? nullptr : &it->second;
    }

    std::string command(const std::string& verb, const std::string& cert) const {
        return "certfleet " + verb + " " + cert + " --host " + host.host;
    }

    // The use loading `path`, or any file below it when it is a directory.
    const ObservedUse* loader(const std::string& path) const {
        auto it = loaded_by.lower_bound(path);
        if (it != loaded_by.end() && (it->first == path || under(it->first, path)))
            return it->second.front();
        return nullptr;
    }

    // "loaded by nginx at /etc/nginx/sites-enabled/shop:12 (shop.example.org)"
    std::string loaded_text(const std::string& path) const {
        const ObservedUse* found = loader(path);
        if (!found)
            return "not loaded by the web server";
        const ObservedUse& use = *found;
        std::string names;
        for (const auto& n : use.server_names)
            names += (names.empty() ? "" : " ") + n;
        return "loaded by the web server at " + use.source +
               (names.empty() ? std::string() : " (" + names + ")");
    }

    std::string ledger_note(const std::string& cert) const {
        auto it = managed.host_events.find({cert, host.host});
        if (it == managed.host_events.end())
            return "";
        const state::EventRecord& e = it->second;
        return "; the ledger's last record for this host: " +
               std::string(state::event_kind_name(e.kind)) + " " + e.detail + " at " +
               core::format_rfc3339(e.at);
    }

    void cert_dirs();
    void untrusted_dir(const ObservedCertDir& dir, const core::PemCertificate* leaf);
    void missing_dirs();
    void verified();
    void uses();
    void loose_files();
};

// A directory another user could write to (distribute::check_trusted_dirs).
void Classifier::untrusted_dir(const ObservedCertDir& dir, const core::PemCertificate* leaf) {
    if (dir.untrusted.empty())
        return;
    auto& f = add(FindingKind::UntrustedDir, dir.path, leaf);
    f.certificate = inv.certificates.count(dir.name) ? dir.name : "";
    f.detail = dir.untrusted;
    f.next_step =
        "make it a real directory owned by root (or the login user) that nobody else "
        "may write to (chown root; chmod go-w); deploy refuses the host until then";
}

void Classifier::cert_dirs() {
    for (const auto& dir : host.cert_dirs) {
        const ObservedFile* current = dir.current_cert.empty() ? nullptr : file(dir.current_cert);
        const core::PemCertificate* leaf = current ? leaf_of(*current) : nullptr;
        untrusted_dir(dir, leaf);
        if (!inv.certificates.count(dir.name)) {
            auto& f = add(FindingKind::Orphan, dir.path, leaf);
            f.loaded = loader(dir.path) != nullptr;
            f.detail = "certificate directory of '" + dir.name +
                       "', which the inventory no longer has; " + loaded_text(dir.path);
            f.next_step = "remove " + dir.path +
                          " once no server configuration names it, or add '" + dir.name +
                          "' back to the inventory";
            continue;
        }
        if (!deployed_here.count(dir.name)) {
            auto& f = add(FindingKind::Orphan, dir.path, leaf);
            f.certificate = dir.name;
            f.loaded = loader(dir.path) != nullptr;
            f.detail = "the inventory does not deploy '" + dir.name + "' to " + host.host + "; " +
                       loaded_text(dir.path);
            f.next_step = "add " + host.host + " to deploy_to of '" + dir.name + "', or remove " +
                          dir.path + " once no server configuration names it";
            continue;
        }
        if (dir.unread)
            continue;  // not judged on what could not be read
        if (!dir.current_version || !dir.incomplete.empty() || !leaf) {
            auto& f = add(FindingKind::Missing, dir.path, leaf);
            f.certificate = dir.name;
            f.detail = !dir.current_version      ? "no current version (no `current` link)"
                       : !dir.incomplete.empty() ? dir.incomplete
                                                 : "current/cert.pem holds no certificate";
            f.next_step = dir.current_version ? command("rollback", dir.name) + ", then " +
                                                    command("deploy", dir.name)
                                              : command("deploy", dir.name) + " --force";
            continue;
        }
        auto store = managed.current_serial.find(dir.name);
        // An operator's rollback pins the host to an older version on purpose.
        auto last = managed.host_events.find({dir.name, host.host});
        const bool pinned =
            last != managed.host_events.end() && state::pins_host(last->second.kind);
        if (store != managed.current_serial.end() && leaf->info.serial_hex != store->second &&
            !pinned) {
            auto& f = add(FindingKind::Stale, dir.path, leaf);
            f.certificate = dir.name;
            f.detail = "current is versions/" + *dir.current_version + " (serial " +
                       leaf->info.serial_hex + "), the store's current is " +
                       managed.current_version.at(dir.name) + " (serial " + store->second + ")" +
                       ledger_note(dir.name);
            f.next_step = command("deploy", dir.name);
            continue;
        }
        if (const ObservedFile* key = dir.current_key.empty() ? nullptr : file(dir.current_key)) {
            for (const auto& k : key->pem.keys)
                if (!k.public_key_sha256.empty() &&
                    k.public_key_sha256 != leaf->public_key_sha256) {
                    auto& f = add(FindingKind::KeyMismatch, dir.current_key, leaf);
                    f.certificate = dir.name;
                    f.detail = "privkey.pem of versions/" + *dir.current_version +
                               " does not belong to its cert.pem (replaced by hand?); the web "
                               "server fails on its next reload";
                    // deploy refuses to overwrite an altered current version.
                    f.next_step = command("rollback", dir.name) + ", then " +
                                  command("deploy", dir.name) + " (uploads the version again)";
                    break;
                }
        }
        auto verdict = renewal::evaluate_expiry(leaf->info, inv.policy, now);
        if (verdict.severity == renewal::Severity::Warning ||
            verdict.severity == renewal::Severity::Critical) {
            bool expired = verdict.left.count() <= 0;
            auto& f =
                add(expired ? FindingKind::Expired : FindingKind::Expiring, dir.current_cert, leaf);
            f.certificate = dir.name;
            f.loaded = loader(dir.path) != nullptr;
            f.detail = verdict.text + "; it is the store's current version: renewal has not " +
                       "replaced it in time";
            f.next_step = "certfleet renew " + dir.name + " (and see certfleet check)";
        }
    }
}

void Classifier::missing_dirs() {
    for (const auto& cert : deployed_here) {
        bool present =
            std::any_of(host.cert_dirs.begin(), host.cert_dirs.end(),
                        [&cert = cert](const ObservedCertDir& d) { return d.name == cert; });
        if (present)
            continue;
        const std::string path = host.cert_root + "/" + cert;
        auto& f = add(FindingKind::Missing, path);
        f.certificate = cert;
        bool issued = managed.current_serial.count(cert) > 0;
        f.detail = host.host + " should serve '" + cert +
                   "' but has no certfleet deployment of it" +
                   (file(path + "/fullchain.pem") ? " (hand-managed files are there)" : "");
        f.next_step = issued ? command("deploy", cert)
                             : "certfleet issue " + cert + ", then " + command("deploy", cert);
    }
}

// The inventory's `verify` endpoint of each deployed certificate serves its current version.
void Classifier::verified() {
    for (const auto& [cert, serve] : host.verified) {
        if (!serve.served)
            continue;
        auto dir =
            std::find_if(host.cert_dirs.begin(), host.cert_dirs.end(),
                         [&cert = cert](const ObservedCertDir& d) { return d.name == cert; });
        if (dir == host.cert_dirs.end() || dir->current_cert.empty())
            continue;
        const ObservedFile* current = file(dir->current_cert);
        const core::PemCertificate* leaf = current ? leaf_of(*current) : nullptr;
        if (!leaf || serve.served->serial_hex == leaf->info.serial_hex)
            continue;
        const auto& s = *serve.served;
        auto& f = add(FindingKind::ServedMismatch, dir->path);
        f.certificate = cert;
        f.subject = s.subject;
        f.serial = s.serial_hex;
        f.not_after = s.not_after;
        f.detail = serve.endpoint + " serves serial " + s.serial_hex +
                   ", but current is versions/" + dir->current_version.value_or("?") + " (serial " +
                   leaf->info.serial_hex + ")";
        f.next_step = "reload the web server on " + host.host + ", or " + command("deploy", cert) +
                      " --force";
    }
}

void Classifier::uses() {
    for (const auto& use : host.uses) {
        const ObservedFile* cert = use.certificate.empty() ? nullptr : file(use.certificate);
        const core::PemCertificate* leaf = cert ? leaf_of(*cert) : nullptr;
        if (!leaf)
            continue;
        // certfleet's own pairs are compared in cert_dirs(), once.
        bool in_layout =
            std::any_of(host.cert_dirs.begin(), host.cert_dirs.end(),
                        [&](const ObservedCertDir& d) { return under(use.certificate, d.path); });
        bool own_pair = in_layout && std::any_of(host.cert_dirs.begin(), host.cert_dirs.end(),
                                                 [&](const ObservedCertDir& d) {
                                                     return under(use.certificate, d.path) &&
                                                            under(use.key, d.path);
                                                 });
        const ObservedFile* key = use.key.empty() || own_pair ? nullptr : file(use.key);
        bool mismatch = false;
        if (key)
            for (const auto& k : key->pem.keys)
                if (!k.public_key_sha256.empty() && k.public_key_sha256 != leaf->public_key_sha256)
                    mismatch = true;
        if (mismatch) {
            auto& f = add(FindingKind::KeyMismatch, use.certificate, leaf);
            f.loaded = true;
            f.detail = use.key + " does not belong to this certificate (loaded together at " +
                       use.source + "); the web server refuses this pair on its next reload";
            f.next_step =
                "point the key directive at this certificate's key (or the certificate "
                "at the key's), then test the configuration and reload";
            continue;  // what it serves meanwhile is beside the point
        }
        // A managed certificate's endpoint is the inventory's `verify` one,
        // compared in verified(): one finding per cause, not two.
        bool verified_elsewhere =
            in_layout && std::any_of(host.cert_dirs.begin(), host.cert_dirs.end(),
                                     [&](const ObservedCertDir& d) {
                                         auto v = host.verified.find(d.name);
                                         return under(use.certificate, d.path) &&
                                                v != host.verified.end() && v->second.served;
                                     });
        for (const auto& serve : use.serves) {
            if (verified_elsewhere)
                break;
            if (!serve.served || serve.served->serial_hex == leaf->info.serial_hex)
                continue;
            // A server with an ECDSA and an RSA certificate serves either.
            bool sibling = std::any_of(host.uses.begin(), host.uses.end(), [&](const auto& u) {
                const ObservedFile* other = u.certificate.empty() ? nullptr : file(u.certificate);
                const core::PemCertificate* l = other ? leaf_of(*other) : nullptr;
                return l && u.server_names == use.server_names &&
                       l->info.serial_hex == serve.served->serial_hex;
            });
            if (sibling)
                continue;
            const auto& s = *serve.served;
            auto& f = add(FindingKind::ServedMismatch, use.certificate);
            f.loaded = true;
            f.subject = s.subject;
            f.serial = s.serial_hex;
            f.not_after = s.not_after;
            f.detail = serve.endpoint + " serves serial " + s.serial_hex + ", but " + use.source +
                       " loads serial " + leaf->info.serial_hex;
            f.next_step = "reload the web server on " + host.host +
                          "; if that does not help, another server or a balancer answers there";
            break;
        }
    }
}

// Certificates outside certfleet's own directories: scan_dirs, hand-made
// files under cert_root, whatever the web server loads from elsewhere.
void Classifier::loose_files() {
    for (const auto& [path, f] : host.files) {
        bool in_layout =
            std::any_of(host.cert_dirs.begin(), host.cert_dirs.end(),
                        [&path = path](const ObservedCertDir& d) { return under(path, d.path); });
        // Hand-managed files of a certificate certfleet should deploy here are
        // the `missing` finding (the first deployment adopts them).
        // Init-captures: clang 14 (clang-tidy) cannot capture structured bindings.
        bool awaiting = std::any_of(
            deployed_here.begin(), deployed_here.end(),
            [&, &path = path](const auto& c) { return under(path, host.cert_root + "/" + c); });
        if (in_layout || awaiting)
            continue;
        const bool loaded = loaded_by.count(path) > 0;
        for (const auto& cert : f.pem.certificates) {
            // CA certificates in a bundle are not findings; the first one of
            // a file a server loads is its own certificate, CA:TRUE or not.
            const bool served_leaf = loaded && &cert == &f.pem.certificates.front();
            if (cert.info.is_ca && !served_leaf)
                continue;
            auto owner = managed.serial_owner.find(cert.info.serial_hex);
            bool managed_here =
                owner != managed.serial_owner.end() && deployed_here.count(owner->second);
            if (cert.info.not_after <= now) {
                auto& x = add(FindingKind::Expired, path, &cert);
                x.loaded = loaded;
                x.detail = "expired " + core::format_rfc3339(cert.info.not_after) + "; " +
                           loaded_text(path);
                x.next_step = loaded ? "replace it: add its names to the inventory, or remove it "
                                       "from the server configuration"
                                     : "remove it";
                continue;
            }
            if (auto verdict = renewal::evaluate_expiry(cert.info, inv.policy, now);
                loaded && verdict.severity != renewal::Severity::Ok) {
                auto& x = add(FindingKind::Expiring, path, &cert);
                x.loaded = true;
                x.detail = verdict.text + "; " + loaded_text(path);
                x.next_step = managed_here ? "point the server configuration at " + host.cert_root +
                                                 "/" + owner->second + "/fullchain.pem"
                                           : "replace it before it expires: add its names to the "
                                             "inventory, or remove it from the server "
                                             "configuration";
            }
            if (!managed_here) {
                auto& x = add(FindingKind::Orphan, path, &cert);
                x.loaded = loaded;
                std::string names;
                for (const auto& n : cert.info.dns_names)
                    names += (names.empty() ? "" : ", ") + n;
                x.detail = "not a certificate certfleet manages for this host (" +
                           (names.empty() ? cert.info.subject : names) + ", expires " +
                           core::format_rfc3339(cert.info.not_after) + "); " + loaded_text(path);
                x.next_step = loaded ? "add it to the inventory, or remove it from the server "
                                       "configuration"
                                     : "remove it, or add it to the inventory";
            } else if (auto cur = managed.current_serial.find(owner->second);
                       cur != managed.current_serial.end() && cur->second != cert.info.serial_hex) {
                auto& x = add(FindingKind::Stale, path, &cert);
                x.certificate = owner->second;
                x.detail = "an old version of '" + owner->second + "' (the current serial is " +
                           cur->second + "); " + loaded_text(path);
                x.next_step = loaded ? "point the server configuration at " + host.cert_root + "/" +
                                           owner->second + "/fullchain.pem"
                                     : "remove it";
            }
        }
    }
}

}  // namespace

const core::PemCertificate* leaf_of(const ObservedFile& file) {
    // A server sends the first certificate of its file as its own, whatever
    // its basic constraints (`openssl req -x509` marks a self-signed one
    // CA:TRUE), so that one is judged.
    return file.pem.certificates.empty() ? nullptr : &file.pem.certificates.front();
}

std::vector<AuditFinding> classify_host(const inventory::Inventory& inventory,
                                        const ManagedState& managed, const HostObservation& host,
                                        core::TimePoint now) {
    Classifier c{inventory, managed, host, now, {}, {}, {}};
    if (auto here = managed.certificates_on_host.find(host.host);
        here != managed.certificates_on_host.end())
        c.deployed_here.insert(here->second.begin(), here->second.end());
    for (const auto& use : host.uses) {
        if (!use.certificate.empty())
            c.loaded_by[use.certificate].push_back(&use);
        if (!use.key.empty())
            c.loaded_by[use.key].push_back(&use);
    }
    c.cert_dirs();
    c.missing_dirs();
    c.verified();
    c.uses();
    c.loose_files();
    auto it = inventory.hosts.find(host.host);
    find_exposed_keys(
        host, it == inventory.hosts.end() ? mode_t{0600} : it->second.settings.key_mode, c.out);
    dedupe(c.out);
    return std::move(c.out);
}

}  // namespace certfleet::audit
