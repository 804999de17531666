// Inventories for the deployment tests: the lab's fleet (one sshd, one nginx
// per host) with certificate "media" deployed to group "cdn".
#pragma once

#include <string>

#include "issue_support.hpp"

namespace certfleet::testing {

inline nlohmann::json fleet_hosts() {
    const Lab& lab = Lab::get();
    nlohmann::json hosts = nlohmann::json::object();
    for (const auto& h : lab.hosts())
        hosts[h.name] = {{"address", h.address},
                         {"groups", {"cdn"}},
                         {"cert_root", h.cert_root},
                         {"test_command", h.test_command},
                         {"reload_command", h.reload_command}};
    return hosts;
}

inline TestInventory write_fleet_inventory(const std::string& prefix,
                                           const std::function<void(nlohmann::json&)>& tweak = {}) {
    const Lab& lab = Lab::get();
    nlohmann::json certs = {
        {"media",
         {{"domains", {"media.example.test"}}, {"dns", "lab-bind"}, {"deploy_to", {"cdn"}}}}};
    return write_inventory(prefix, certs, [&](nlohmann::json& inv) {
        inv["defaults"] = {{"ssh",
                            {{"user", lab.ssh_user},
                             {"port", std::stoi(lab.ssh_port)},
                             {"identity_file", lab.ssh_identity},
                             {"known_hosts", lab.ssh_known_hosts},
                             {"connect_timeout", "5s"}}},
                           {"verify", {{"port", std::stoi(lab.nginx_port)}}}};
        inv["groups"] = {
            {"cdn", {{"rollout", {{"canary", 1}, {"batch", "50%"}, {"max_failures", 0}}}}}};
        inv["hosts"] = fleet_hosts();
        if (tweak)
            tweak(inv);
    });
}

}  // namespace certfleet::testing
