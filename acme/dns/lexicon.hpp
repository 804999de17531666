// DNS-Lexicon (Debian's `lexicon`, 3.11): one run per record, so certfleet
// reaches every DNS API lexicon speaks without code of its own. Credentials
// go to lexicon only through its environment (LEXICON_<PROVIDER>_AUTH_<NAME>).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "acme/dns/config.hpp"
#include "acme/dns/provider.hpp"
#include "core/result.hpp"

namespace certfleet::acme::dns {

// Validates the settings without running anything (ErrorKind::Config).
core::Result<std::unique_ptr<DnsProvider>> make_lexicon_provider(LexiconConfig config);

// lexicon's argv for one record: action "create" or "delete".
std::vector<std::string> lexicon_argv(const LexiconConfig& config, const std::string& action,
                                      const ChallengeRecord& record);

// "LEXICON_<PROVIDER>_AUTH_<NAME>", upper case, '-' as '_'.
std::string lexicon_credential_variable(const std::string& provider, const std::string& name);

}  // namespace certfleet::acme::dns
