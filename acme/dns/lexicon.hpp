// DNS-Lexicon (Debian's `lexicon`, 3.11), so certfleet reaches every DNS API
// lexicon speaks without code of its own. Lexicon is used as a library from
// one long-lived Python process per provider (started with the interpreter
// of the `lexicon` program, fed one JSON line per record): a Python start and
// lexicon import per record would cost more than the DNS API calls.
// Credentials reach it only through its environment
// (LEXICON_<PROVIDER>_AUTH_<NAME>), never its command line.
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

// The configuration key lexicon reads an option under ("pdns-server" →
// "pdns_server", as its command line maps --pdns-server).
std::string lexicon_option_key(const std::string& option);

// The driver's Python source (lexicon_driver.cpp).
extern const char* const kLexiconDriver;

// "LEXICON_<PROVIDER>_AUTH_<NAME>", upper case, '-' as '_'.
std::string lexicon_credential_variable(const std::string& provider, const std::string& name);

}  // namespace certfleet::acme::dns
