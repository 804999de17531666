// De-duplication of notices per channel (docs/inventory.md, policy.notify_interval):
// pure planning over what the channel was last told, so every boundary can be
// unit-tested with a fixed clock. The caller sends `to_send` and, only when
// the channel accepted it, stores `remember` and forgets `forget`.
#pragma once

#include <string>
#include <vector>

#include "core/time.hpp"
#include "hooks/notify.hpp"

namespace certfleet::hooks {

// What a channel was told about a still-open problem.
struct SentNotice {
    std::string key;
    std::string fingerprint;
    std::string severity;
    std::string summary;
    core::TimePoint first_sent{};
    core::TimePoint last_sent{};
};

struct NoticePlan {
    std::vector<Notice> to_send;       // new, changed, due for repeat, and "resolved" notices
    std::vector<SentNotice> remember;  // state to store once sent
    std::vector<std::string> forget;   // keys whose problem was resolved
};

// `current`: the problems found by this run. `told`: the channel's open
// problems. `evaluated_prefixes`: key prefixes (e.g. "expiry:", "served:")
// this run actually looked at; an open problem under such a prefix that is no
// longer current gets one "resolved" notice. Problems under other prefixes are
// left alone (a run without --probe says nothing about what hosts serve).
NoticePlan plan_notices(const std::vector<Notice>& current, const std::vector<SentNotice>& told,
                        const std::vector<std::string>& evaluated_prefixes, core::TimePoint now,
                        core::Seconds interval);

}  // namespace certfleet::hooks
