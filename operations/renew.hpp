// `renew --host H`: which certificates a renewal limited to some hosts covers.
#pragma once

#include <string>
#include <vector>

#include "core/result.hpp"
#include "inventory/model.hpp"

namespace certfleet::operations {

// The certificates to renew: `names` (all when empty) narrowed to those every
// host in `hosts` serves, in turn. Fails (ErrorKind::Config) when a host
// serves none of them, naming the host.
core::Result<std::vector<std::string>> certificates_to_renew(const inventory::Inventory& inventory,
                                                             std::vector<std::string> names,
                                                             const std::vector<std::string>& hosts);

}  // namespace certfleet::operations
