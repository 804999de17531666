// lego-compatible exec provider: one command run per record.
//   COMMAND present <fqdn.> <value>          COMMAND cleanup <fqdn.> <value>
//   raw mode: COMMAND present -- <domain> <token> <key-authorization>
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "acme/dns/config.hpp"
#include "acme/dns/provider.hpp"
#include "core/result.hpp"

namespace certfleet::acme::dns {

core::Result<std::unique_ptr<DnsProvider>> make_exec_provider(ExecConfig config);

// The command string split on whitespace (no quoting, no shell).
std::vector<std::string> split_command(std::string_view command);

// argv for one call; `action` is "present" or "cleanup".
std::vector<std::string> exec_argv(const ExecConfig& config, std::string_view action,
                                   const ChallengeRecord& record);

}  // namespace certfleet::acme::dns
