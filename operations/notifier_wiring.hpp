// Maps the inventory's notifiers onto hooks/ channels (hooks/ knows nothing
// of the inventory) and names the Prometheus textfiles to write.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "hooks/notify.hpp"
#include "inventory/model.hpp"

namespace certfleet::operations {

// The channel config of a notifier; nullopt for a Prometheus textfile,
// which is not a channel.
std::optional<hooks::NotifierConfig> notifier_config(const inventory::NotifierSettings& settings);

// Every channel of `notify`, in order. A password file that cannot be read
// fails the whole set, naming the notifier ("notify[2]: email ...").
core::Result<std::vector<std::unique_ptr<hooks::Notifier>>> make_notifiers(
    const std::vector<inventory::NotifierSettings>& notify, const hooks::NotifierOptions& options);

// The textfile of every Prometheus notifier, in order.
std::vector<std::string> textfile_paths(const std::vector<inventory::NotifierSettings>& notify);

}  // namespace certfleet::operations
