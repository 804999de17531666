#include "fleet/hosts.hpp"

#include "distribute/local_transport.hpp"
#include "distribute/ssh_transport.hpp"

namespace certfleet::fleet {

std::unique_ptr<distribute::Transport> make_transport(const inventory::Host& host) {
    if (host.transport == inventory::HostTransport::Local)
        return std::make_unique<distribute::LocalTransport>(host.name);
    const auto& ssh = host.settings.ssh;
    distribute::SshOptions o;
    o.host_name = host.name;
    o.address = host.address;
    o.port = ssh.port;
    o.user = ssh.user;
    o.identity_file = ssh.identity_file;
    o.known_hosts = ssh.known_hosts;
    o.connect_timeout = ssh.connect_timeout;
    return std::make_unique<distribute::SshTransport>(o);
}

distribute::HostTarget host_target(const inventory::Inventory& inventory,
                                   const inventory::Host& host,
                                   const inventory::CertificateSpec& cert) {
    const auto& s = host.settings;
    distribute::HostTarget t;
    t.host_name = host.name;
    t.cert_root = s.cert_root;
    t.test_command = s.test_command;
    t.reload_command = s.reload_command;
    t.key_mode = s.key_mode;
    t.key_group = s.key_group;
    t.keep_versions = inventory.policy.keep_versions;
    t.verify.enabled = s.verify.enabled;
    t.verify.address = s.verify.address.value_or(
        host.transport == inventory::HostTransport::Local ? "127.0.0.1" : host.address);
    t.verify.port = s.verify.port;
    if (s.verify.server_name) {
        t.verify.server_name = *s.verify.server_name;
    } else {
        for (const auto& d : cert.domains)
            if (!d.starts_with("*.")) {
                t.verify.server_name = d;
                break;
            }
        if (t.verify.server_name.empty() && !cert.domains.empty())
            t.verify.server_name = "certfleet-probe." + cert.domains.front().substr(2);
    }
    return t;
}

distribute::Deadline host_deadline(const inventory::Host& host,
                                   const std::optional<distribute::Deadline>& run_limit) {
    const auto timeout = host.settings.host_timeout;
    distribute::Deadline own{std::chrono::steady_clock::now() + timeout,
                             "the host_timeout of " + core::format_duration(timeout)};
    return run_limit && run_limit->at < own.at ? *run_limit : own;
}

distribute::Deadline run_limit_deadline(core::Seconds limit) {
    return {std::chrono::steady_clock::now() + limit,
            "the run's --time-limit of " + core::format_duration(limit)};
}

distribute::RolloutPolicy rollout_policy(const inventory::RolloutSettings& rollout) {
    distribute::RolloutPolicy policy;
    policy.canary = rollout.canary;
    policy.batch.unit = rollout.batch.unit == inventory::RolloutBatch::Unit::Hosts
                            ? distribute::BatchSize::Unit::Hosts
                            : distribute::BatchSize::Unit::Percent;
    policy.batch.value = rollout.batch.value;
    policy.max_failures = rollout.max_failures;
    return policy;
}

distribute::Transport& TransportPool::get(const std::string& host) {
    std::lock_guard lock(m_mutex);
    m_idle.erase(host);
    auto& slot = m_transports[host];
    if (!slot)
        slot = make_transport(m_inventory.hosts.at(host));
    return *slot;
}

void TransportPool::release(const std::string& host, bool more_work) {
    std::unique_ptr<distribute::Transport> closing;
    {
        std::lock_guard lock(m_mutex);
        auto it = m_transports.find(host);
        if (it == m_transports.end())
            return;
        if (more_work && (m_idle.count(host) || m_idle.size() < m_max_idle)) {
            m_idle.insert(host);
            return;
        }
        m_idle.erase(host);
        closing = std::move(it->second);
        m_transports.erase(it);
    }
    // Outside the lock: an SSH disconnect waits for the peer.
}

size_t TransportPool::open_count() const {
    std::lock_guard lock(m_mutex);
    return m_transports.size();
}

}  // namespace certfleet::fleet
