// The audit's classifiers that are not about one host's web server: the
// manager's own store, and key files exposed beyond key_mode / key_group.
#include <cstdio>
#include <set>

#include "audit/classify_internal.hpp"

namespace certfleet::audit {

using detail::dedupe;
using detail::under;

namespace {

std::string octal(mode_t mode) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(mode & 07777));
    return buf;
}

}  // namespace

void find_exposed_keys(const HostObservation& host, mode_t key_mode,
                       std::vector<AuditFinding>& out) {
    // Others never; the group only as key_mode allows, and only key_group when set.
    const mode_t allowed = key_mode & 0770;
    for (const auto& [path, f] : host.files) {
        if (f.pem.keys.empty())
            continue;
        std::string why;
        mode_t extra = f.mode & 0777 & ~allowed;
        bool wrong_group = (f.mode & 0070) && host.key_group_gid && f.gid != *host.key_group_gid;
        if (extra & 0007)
            why = "mode " + octal(f.mode) + ": readable by everyone on " + host.host;
        else if (extra & 0070 || wrong_group)
            why = "mode " + octal(f.mode) + ": readable by group " + std::to_string(f.gid) +
                  (host.key_group_gid ? ", not key_group" : ", and no key_group allows it");
        else if (!host.allowed_key_owners.empty() && !host.allowed_key_owners.count(f.uid))
            why = "owned by uid " + std::to_string(f.uid) + ", not root or the deploying user";
        if (why.empty())
            continue;
        AuditFinding x;
        x.host = host.host;
        x.kind = FindingKind::KeyExposed;
        x.path = path;
        x.detail = "private key " + why;
        std::string fix;
        if (why.rfind("owned", 0) == 0)
            fix = "chown it to the deploying user (or root)";
        else if (!(extra & 0077))
            fix = "chgrp it to key_group";
        else
            fix = "chmod " + octal(key_mode & 0640) + " " + path;
        x.next_step = fix +
                      "; treat the key as seen by others: renew with a new key (certfleet "
                      "renew CERT --force, with \"reuse_key\": false)";
        out.push_back(std::move(x));
    }
}

std::vector<AuditFinding> classify_store(const inventory::Inventory& inventory,
                                         const HostObservation& store) {
    std::vector<AuditFinding> out;
    std::set<std::string> public_keys;  // of every certificate in the store
    for (const auto& [path, f] : store.files)
        for (const auto& c : f.pem.certificates)
            public_keys.insert(c.public_key_sha256);
    for (const auto& dir : store.cert_dirs) {
        const ObservedFile* current = nullptr;
        if (auto it = store.files.find(dir.current_cert); it != store.files.end())
            current = &it->second;
        const core::PemCertificate* leaf = current ? leaf_of(*current) : nullptr;
        if (!inventory.certificates.count(dir.name)) {
            AuditFinding f;
            f.host = store.host;
            f.kind = FindingKind::Orphan;
            f.path = dir.path;
            if (leaf) {
                f.subject = leaf->info.subject;
                f.serial = leaf->info.serial_hex;
                f.not_after = leaf->info.not_after;
            }
            f.detail = "'" + dir.name + "' is no longer in the inventory (its keys stay here)";
            f.next_step = "remove " + dir.path + " once no host serves '" + dir.name +
                          "' any more (certfleet audit shows where it is), or add it back to the "
                          "inventory";
            out.push_back(std::move(f));
        }
        if (!leaf || dir.current_key.empty())
            continue;
        if (auto it = store.files.find(dir.current_key); it != store.files.end())
            for (const auto& k : it->second.pem.keys)
                if (!k.public_key_sha256.empty() &&
                    k.public_key_sha256 != leaf->public_key_sha256) {
                    AuditFinding f;
                    f.host = store.host;
                    f.kind = FindingKind::KeyMismatch;
                    f.path = dir.current_key;
                    f.certificate = dir.name;
                    f.subject = leaf->info.subject;
                    f.serial = leaf->info.serial_hex;
                    f.not_after = leaf->info.not_after;
                    f.detail = "the store's current key of '" + dir.name +
                               "' does not belong to its certificate";
                    f.next_step = "certfleet renew " + dir.name + " --force";
                    out.push_back(std::move(f));
                    break;
                }
    }
    // Keys that belong to no certificate: left by an interrupted issuance or by hand.
    for (const auto& [path, f] : store.files) {
        if (!under(path, store.cert_root))
            continue;  // account keys live beside the certificates
        for (const auto& k : f.pem.keys) {
            if (k.public_key_sha256.empty() || public_keys.count(k.public_key_sha256))
                continue;
            AuditFinding x;
            x.host = store.host;
            x.kind = FindingKind::Orphan;
            x.path = path;
            x.detail = "a private key that belongs to no certificate in the store";
            x.next_step = "remove it (an interrupted issuance leaves these; nothing uses it)";
            out.push_back(std::move(x));
            break;
        }
    }
    find_exposed_keys(store, 0600, out);
    dedupe(out);
    return out;
}

}  // namespace certfleet::audit
