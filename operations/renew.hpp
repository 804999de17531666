// `renew --host H`: which certificates a renewal limited to some hosts covers.
#pragma once

#include <string>
#include <vector>

#include "core/result.hpp"
#include "inventory/model.hpp"
#include "operations/deploy.hpp"
#include "operations/issue.hpp"

namespace certfleet::operations {

// The certificates to renew: `names` (all when empty) narrowed to those every
// host in `hosts` serves, in turn, then to those some host of each group in
// `groups` serves. Fails (ErrorKind::Config) when a host or group serves none
// of them, naming it.
core::Result<std::vector<std::string>> certificates_to_renew(
    const inventory::Inventory& inventory, std::vector<std::string> names,
    const std::vector<std::string>& hosts, const std::vector<std::string>& groups = {});

// After a renewal limited to some hosts: for each certificate it issued anew,
// the other hosts that serve it and now run an older version (not touched).
struct LeftBehind {
    std::string certificate;
    std::vector<std::string> hosts;
};
std::vector<LeftBehind> hosts_left_behind(const inventory::Inventory& inventory,
                                          const IssueReport& issued, const DeployReport& deployed);

}  // namespace certfleet::operations
