// The fleet-wide hooks (docs/inventory.md: pre and post around a renewal) and the post
// hook a killed run still owes (see fire_hook in issue.hpp).
#include <spdlog/spdlog.h>

#include "operations/issue.hpp"
#include "operations/ledger_errors.hpp"

namespace certfleet::operations {

hooks::HookRunner make_hook_runner(const inventory::Inventory& inventory) {
    hooks::HookConfig config;
    for (const auto& [event, command] : inventory.hooks.commands)
        config.commands[std::string(inventory::hook_event_name(event))] = command;
    config.timeout = inventory.hooks.timeout;
    return hooks::HookRunner(config);
}

void settle_owed_post_hook(const Context& ctx) {
    auto since = ctx.ledger.hook_owed_since("post");
    if (!since)
        return;
    if (ctx.hooks && ctx.hooks->has("post")) {
        const std::string message = "the run started at " + core::format_rfc3339(*since) +
                                    " was interrupted after its pre hook; this is its post hook";
        spdlog::warn("{}", message);
        ctx.hooks->fire({"post", "", {}, "", "", "", "", "", message});
    }
    if (auto st = ctx.ledger.settle_hook("post"); !st)
        log_unrecorded(ctx.ledger, "post hook", "that the owed post hook ran", st.error(),
                       "the next run runs it once more");
}

void fire_hook(const Context& ctx, const std::string& event, const std::string& message) {
    if (!ctx.hooks)
        return;
    if (event == "pre") {
        settle_owed_post_hook(ctx);
        if (ctx.hooks->has("post"))
            if (auto st = ctx.ledger.owe_hook("post", ctx.clock.now()); !st)
                log_unrecorded(ctx.ledger, "post hook", "that this run owes its post hook",
                               st.error(),
                               "if this run is killed, the next one will not run the post hook "
                               "for it");
    }
    ctx.hooks->fire({event, "", {}, "", "", "", "", "", message});
    if (event == "post")
        if (auto st = ctx.ledger.settle_hook("post"); !st)
            log_unrecorded(ctx.ledger, "post hook", "that the post hook ran", st.error(),
                           "the next run runs the post hook once more");
}

}  // namespace certfleet::operations
