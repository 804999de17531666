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

}  // namespace certfleet::operations
