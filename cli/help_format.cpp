#include "cli/help_format.hpp"

#include <string>

namespace certfleet::cli {

namespace {

bool repeatable(const CLI::Option* opt) {
    return opt->get_expected_max() >= CLI::detail::expected_max_vector_size;
}

// "INT:INT in [1 - 64]" → "INT"; "TEXT:{a,b}" → "TEXT".
std::string base_type(const CLI::Option* opt) {
    const std::string type = opt->get_type_name();
    return type.substr(0, type.find(':'));
}

// "TEXT:{a,b,c}" → "a, b, c"; "" when the option has no fixed choices.
std::string choices(const CLI::Option* opt) {
    const std::string type = opt->get_type_name();
    const auto open = type.find('{');
    const auto close = type.find('}', open);
    if (open == std::string::npos || close == std::string::npos)
        return "";
    std::string list = type.substr(open + 1, close - open - 1);
    for (std::size_t at = list.find(','); at != std::string::npos; at = list.find(',', at + 2))
        list.replace(at, 1, ", ");
    return list;
}

// What stands for the value: the option's own name for it ("PATH", "DUR"),
// N for numbers, else the option's name in capitals ("--host" → HOST).
std::string placeholder(const CLI::Option* opt) {
    std::string type = base_type(opt);
    if (type == "INT" || type == "UINT" || type == "FLOAT" || type == "NUMBER")
        return "N";
    if (type != "TEXT")
        return type;
    std::string name = opt->get_name(false, true);
    name = name.substr(name.rfind('-') + 1);
    for (char& c : name)
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return name;
}

// "INT:INT in [1 - 64]" → "1 to 64"; "" without a range.
std::string range(const CLI::Option* opt) {
    const std::string type = opt->get_type_name();
    const auto open = type.find(" in [");
    const auto dash = type.find(" - ", open);
    const auto close = type.find(']', dash);
    if (open == std::string::npos || dash == std::string::npos || close == std::string::npos)
        return "";
    return type.substr(open + 5, dash - open - 5) + " to " +
           type.substr(dash + 3, close - dash - 3);
}

}  // namespace

std::string PlainHelp::make_option_opts(const CLI::Option* opt) const {
    if (opt->get_type_size() == 0)
        return "";  // a flag
    if (opt->get_positional() && !opt->nonpositional())
        return repeatable(opt) ? "..." : "";
    return " " + placeholder(opt) + (repeatable(opt) ? " ..." : "");
}

std::string PlainHelp::make_option_desc(const CLI::Option* opt) const {
    std::string desc = opt->get_description();
    if (const std::string list = choices(opt);
        !list.empty() && desc.find(list.substr(0, list.find(','))) == std::string::npos)
        desc += " (one of: " + list + ")";
    if (const std::string r = range(opt); !r.empty())
        desc += " (" + r + ")";
    if (opt->get_required() && opt->nonpositional())
        desc += " (required)";
    if (const std::string def = opt->get_default_str();
        !def.empty() && opt->get_type_size() != 0 && desc.find("default") == std::string::npos)
        desc += " (default: " + def + ")";
    return desc;
}

}  // namespace certfleet::cli
