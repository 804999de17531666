// User hooks (docs/inventory.md, hooks): shell commands run at pre / post / deploy / failure /
// warning, with a timeout, the CERTFLEET_* environment, output to the log.
// Key material is never passed: only paths to it.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "core/time.hpp"

namespace certfleet::hooks {

struct HookEvent {
    std::string event;  // pre | post | deploy | failure | warning
    std::string cert;
    std::vector<std::string> domains;
    std::string serial;
    std::string not_after;  // RFC 3339
    std::string fullchain_path;
    std::string key_path;
    std::string host;  // where a host is concerned
    std::string message;
};

struct HookConfig {
    std::map<std::string, std::string> commands;  // event → shell command
    core::Seconds timeout{120};
};

class HookRunner {
public:
    HookRunner() = default;
    explicit HookRunner(HookConfig config) : m_config(std::move(config)) {}

    bool has(const std::string& event) const { return m_config.commands.count(event) > 0; }
    // Runs the hook for `e.event` if one is configured. A failing hook is
    // logged, never fatal: it must not stop a renewal or a rollback.
    void fire(const HookEvent& e) const;

private:
    HookConfig m_config;
};

}  // namespace certfleet::hooks
