#include "hooks/hooks.hpp"

#include <spdlog/spdlog.h>

#include "core/process.hpp"

namespace certfleet::hooks {

void HookRunner::fire(const HookEvent& e) const {
    auto it = m_config.commands.find(e.event);
    if (it == m_config.commands.end() || it->second.empty())
        return;
    std::string domains;
    for (const auto& d : e.domains)
        domains += (domains.empty() ? "" : " ") + d;
    core::ProcessOptions p;
    p.argv = {"/bin/sh", "-c", it->second};
    p.timeout = std::chrono::duration_cast<std::chrono::milliseconds>(m_config.timeout);
    p.env = {{"CERTFLEET_EVENT", e.event},         {"CERTFLEET_CERT", e.cert},
             {"CERTFLEET_DOMAINS", domains},       {"CERTFLEET_SERIAL", e.serial},
             {"CERTFLEET_NOT_AFTER", e.not_after}, {"CERTFLEET_FULLCHAIN_PATH", e.fullchain_path},
             {"CERTFLEET_KEY_PATH", e.key_path},   {"CERTFLEET_HOST", e.host},
             {"CERTFLEET_MESSAGE", e.message}};
    std::string what = e.event + " hook" + (e.cert.empty() ? "" : " for " + e.cert) +
                       (e.host.empty() ? "" : " on " + e.host);
    auto r = core::run_process(p);
    if (!r) {
        spdlog::error("{} could not start: {}", what, r.error().message);
        return;
    }
    for (const auto* text : {&r->out, &r->err})
        if (!text->empty())
            spdlog::info("{}: {}", what, core::summarize_output(*text));
    if (!r->success())
        spdlog::error("{} failed ({}); continuing", what, r->status_text());
}

}  // namespace certfleet::hooks
