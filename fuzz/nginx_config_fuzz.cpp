// libFuzzer: what a host's files say, on arbitrary bytes -- parse_nginx_dump
// (`nginx -T`) and group_id_in (/etc/group). Beyond "no crash, leak or
// timeout" (ASan, UBSan, -timeout), the documented bounds must hold.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "audit/nginx_config.hpp"
#include "distribute/host_files.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    const auto dump = certfleet::audit::parse_nginx_dump(text);
    if (dump.problems.size() > 101 || dump.uses.size() > 100000)
        __builtin_trap();
    if (dump.files.empty() && !dump.uses.empty())
        __builtin_trap();
    for (const auto& use : dump.uses) {
        const bool known_context =
            use.context == "http" || use.context == "stream" || use.context == "mail";
        if (!known_context || use.line < 1 || use.file.empty() ||
            !use.directive.ends_with("_certificate") || (use.key.empty() && use.key_is_path))
            __builtin_trap();
    }
    // A name found in the text is a name of the text.
    for (const char* name : {"root", "ssl-cert", "nginx"}) {
        if (certfleet::distribute::group_id_in(text, name) &&
            text.find(name) == std::string_view::npos)
            __builtin_trap();
    }
    (void)certfleet::distribute::effective_uid_in(text);
    return 0;
}
