// Clock, durations ("90s", "15m", "12h", "21d") and RFC 3339 timestamps.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace certfleet::core {

using TimePoint = std::chrono::sys_seconds;
using Seconds = std::chrono::seconds;

// Injected wherever "now" matters so tests can pin time.
class Clock {
public:
    virtual ~Clock() = default;
    virtual TimePoint now() const = 0;
};

class SystemClock final : public Clock {
public:
    TimePoint now() const override;
};

class FixedClock final : public Clock {
public:
    explicit FixedClock(TimePoint t) : m_now(t) {}
    TimePoint now() const override { return m_now; }
    void set(TimePoint t) { m_now = t; }
    void advance(Seconds d) { m_now += d; }

private:
    TimePoint m_now;
};

// "90s" "15m" "12h" "21d" (also "1w", "500ms" rounds up to 1s). nullopt if malformed.
std::optional<Seconds> parse_duration(std::string_view text);
std::string format_duration(Seconds d);  // "21d", "1h30m", "45s"

// RFC 3339: "2026-11-21", "2026-11-21T10:30:00Z", "2026-11-21T10:30:00.123+02:00".
std::optional<TimePoint> parse_rfc3339(std::string_view text);
std::string format_rfc3339(TimePoint t);      // "2026-11-21T10:30:00Z"
std::string format_compact_utc(TimePoint t);  // "20261121T103000Z" (version names)

// Sleeps in short slices so SIGINT/SIGTERM (which set `cancel`) interrupt it.
// Returns false when cancelled.
bool interruptible_sleep(std::chrono::milliseconds duration, const std::atomic<bool>* cancel);

}  // namespace certfleet::core
