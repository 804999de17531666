// --help in plain words: "--concurrency N", "CERT...", "--host HOST", with
// defaults and choices said in the description, instead of CLI11's
// "INT:INT in [1 - 64]=8", "TEXT ..." and "REQUIRED".
#pragma once

#include <CLI/CLI.hpp>

namespace certfleet::cli {

class PlainHelp : public CLI::Formatter {
public:
    std::string make_option_opts(const CLI::Option* opt) const override;
    std::string make_option_desc(const CLI::Option* opt) const override;
};

}  // namespace certfleet::cli
