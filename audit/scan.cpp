#include "audit/scan.hpp"

#include <unistd.h>

#include "audit/scanner.hpp"
#include "core/pem_scan.hpp"
#include "distribute/local_transport.hpp"
#include "fleet/hosts.hpp"

namespace certfleet::audit {

namespace {

using audit::HostObservation;
using detail::Scanner;

// Who may own a key there: root and the user certfleet logs in as; and the
// key_group's number, so a key readable by that group is not "exposed".
void learn_owners(distribute::Transport& t, const inventory::Host& host, HostObservation& obs) {
    auto number = [&](const std::string& cmd, int field) -> std::optional<unsigned long> {
        auto out = t.run(cmd, core::Seconds(20));
        if (!out || out->exit_code != 0)
            return std::nullopt;
        std::string line = out->out.substr(0, out->out.find('\n'));
        for (int i = 0; i < field; ++i)
            line = line.substr(std::min(line.size(), line.find(':') + 1));
        try {
            return std::stoul(line);
        } catch (...) {
            return std::nullopt;
        }
    };
    obs.allowed_key_owners.insert(0);
    if (auto uid = t.user_id())  // over SFTP where the host allows: no login shell
        obs.allowed_key_owners.insert(*uid);
    else
        obs.allowed_key_owners.clear();  // unknown: owners are not judged
    if (!host.settings.key_group)
        return;
    // validated as [a-z_][a-z0-9_-]*: safe inside single quotes
    if (auto gid = number("getent group '" + *host.settings.key_group + "'", 2))
        obs.key_group_gid = static_cast<gid_t>(*gid);
    else
        obs.unchecked.push_back("key_group " + *host.settings.key_group +
                                " is not a group there: group-readable keys are not judged");
}

}  // namespace

core::PemScan PemCache::scan(std::string_view content) {
    const std::string digest = core::sha256(content);
    {
        std::lock_guard lock(m_mutex);
        if (auto it = m_by_digest.find(digest); it != m_by_digest.end())
            return it->second;
    }
    core::PemScan scan = core::scan_pem(content);
    std::lock_guard lock(m_mutex);
    m_by_digest.emplace(digest, scan);
    return scan;
}

core::Result<HostObservation> observe_host(distribute::Transport& transport,
                                           const inventory::Inventory& inventory,
                                           const inventory::Host& host,
                                           const std::vector<std::string>& certificates,
                                           const ScanLimits& limits, PemCache* cache) {
    if (auto s = transport.connect(); !s)
        return s.failure();
    HostObservation obs;
    obs.host = host.name;
    obs.cert_root = host.settings.cert_root;
    Scanner scan(transport, obs, limits, cache);
    learn_owners(transport, host, obs);
    scan.cert_root(host.settings.cert_root);
    for (const auto& dir : host.settings.audit.scan_dirs)
        scan.scan_dir(dir, "scan_dirs");
    if (!host.settings.audit.config_dump_command.empty()) {
        if (auto s = scan.nginx(host.settings.audit.config_dump_command, host); !s)
            return s.failure();
    }
    if (limits.probe)
        for (const auto& cert : certificates) {
            auto target = fleet::host_target(inventory, host, inventory.certificates.at(cert));
            if (!target.verify.enabled)
                continue;
            obs.verified.emplace(cert, scan.probe(target.verify.address, target.verify.port,
                                                  target.verify.server_name));
        }
    return obs;
}

audit::HostObservation observe_store(const inventory::Inventory& inventory,
                                     const ScanLimits& limits) {
    HostObservation obs;
    obs.host = audit::kStoreHost;
    obs.cert_root = inventory.state_dir + "/certificates";
    obs.allowed_key_owners = {0, geteuid()};
    distribute::LocalTransport local(audit::kStoreHost);
    Scanner scan(local, obs, limits, nullptr);
    scan.cert_root(obs.cert_root);
    const std::string accounts = inventory.state_dir + "/accounts";
    if (auto info = local.stat(accounts); info && info->is_dir)
        scan.scan_dir(accounts, "accounts");
    return obs;
}

}  // namespace certfleet::audit
