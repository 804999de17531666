#include "operations/renew.hpp"

#include <algorithm>
#include <set>

namespace certfleet::operations {

core::Result<std::vector<std::string>> certificates_to_renew(
    const inventory::Inventory& inventory, std::vector<std::string> names,
    const std::vector<std::string>& hosts, const std::vector<std::string>& groups) {
    for (const auto& host : hosts) {
        auto served = inventory::certificates_for_host(inventory, host);
        if (names.empty()) {
            names = served;
        } else {
            std::erase_if(names, [&](const std::string& n) {
                return std::find(served.begin(), served.end(), n) == served.end();
            });
        }
        if (names.empty())
            return core::fail(core::ErrorKind::Config,
                              "host '" + host + "' serves none of the named certificates");
    }
    for (const auto& group : groups) {
        std::set<std::string> served;  // by any host of the group
        if (auto it = inventory.groups.find(group); it != inventory.groups.end())
            for (const auto& host : it->second.hosts)
                for (auto& name : inventory::certificates_for_host(inventory, host))
                    served.insert(std::move(name));
        if (names.empty())
            names.assign(served.begin(), served.end());
        else
            std::erase_if(names, [&](const std::string& n) { return served.count(n) == 0; });
        if (names.empty())
            return core::fail(core::ErrorKind::Config,
                              "no host of group '" + group + "' serves the named certificates");
    }
    return names;
}

std::vector<LeftBehind> hosts_left_behind(const inventory::Inventory& inventory,
                                          const IssueReport& issued, const DeployReport& deployed) {
    std::vector<LeftBehind> out;
    for (const auto& c : issued.certificates) {
        if (c.action != CertificateAction::Issued || !inventory.certificates.count(c.name))
            continue;
        LeftBehind left{c.name, {}};
        for (const auto& host :
             inventory::deploy_hosts(inventory, inventory.certificates.at(c.name)))
            if (std::none_of(deployed.hosts.begin(), deployed.hosts.end(), [&](const auto& h) {
                    return h.certificate == c.name && h.host == host;
                }))
                left.hosts.push_back(host);
        if (!left.hosts.empty())
            out.push_back(std::move(left));
    }
    return out;
}

}  // namespace certfleet::operations
