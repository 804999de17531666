#include "operations/renew.hpp"

#include <algorithm>

namespace certfleet::operations {

core::Result<std::vector<std::string>> certificates_to_renew(
    const inventory::Inventory& inventory, std::vector<std::string> names,
    const std::vector<std::string>& hosts) {
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
    return names;
}

}  // namespace certfleet::operations
