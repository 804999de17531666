#include "inventory/model.hpp"

#include <algorithm>

namespace certfleet::inventory {

std::vector<std::string> deploy_hosts(const Inventory& inventory, const CertificateSpec& cert) {
    std::vector<std::string> hosts;
    for (const auto& target : cert.deploy_to) {
        if (auto group = inventory.groups.find(target); group != inventory.groups.end())
            hosts.insert(hosts.end(), group->second.hosts.begin(), group->second.hosts.end());
        else if (inventory.hosts.count(target))
            hosts.push_back(target);
    }
    std::sort(hosts.begin(), hosts.end());
    hosts.erase(std::unique(hosts.begin(), hosts.end()), hosts.end());
    return hosts;
}

std::vector<std::string> certificates_for_host(const Inventory& inventory,
                                               const std::string& host) {
    std::vector<std::string> names;
    for (const auto& [name, cert] : inventory.certificates) {
        auto hosts = deploy_hosts(inventory, cert);
        if (std::binary_search(hosts.begin(), hosts.end(), host))
            names.push_back(name);
    }
    return names;
}

}  // namespace certfleet::inventory
