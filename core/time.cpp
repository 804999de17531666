#include "core/time.hpp"

#include <cctype>
#include <charconv>
#include <cstdio>
#include <ctime>
#include <thread>

namespace certfleet::core {

TimePoint SystemClock::now() const {
    return std::chrono::time_point_cast<Seconds>(std::chrono::system_clock::now());
}

bool interruptible_sleep(std::chrono::milliseconds duration, const std::atomic<bool>* cancel) {
    using namespace std::chrono;
    auto deadline = steady_clock::now() + duration;
    while (true) {
        if (cancel && cancel->load())
            return false;
        auto left = duration_cast<milliseconds>(deadline - steady_clock::now());
        if (left <= milliseconds(0))
            return true;
        std::this_thread::sleep_for(std::min(left, milliseconds(50)));
    }
}

std::optional<Seconds> parse_duration(std::string_view text) {
    if (text.empty())
        return std::nullopt;
    long long total_ms = 0;
    size_t i = 0;
    while (i < text.size()) {
        long long n = 0;
        auto [p, ec] = std::from_chars(text.data() + i, text.data() + text.size(), n);
        if (ec != std::errc() || n < 0)
            return std::nullopt;
        i = static_cast<size_t>(p - text.data());
        std::string_view rest = text.substr(i);
        long long unit_ms = 0;
        if (rest.starts_with("ms")) {
            unit_ms = 1;
            i += 2;
        } else if (!rest.empty()) {
            switch (rest[0]) {
                case 's':
                    unit_ms = 1000;
                    break;
                case 'm':
                    unit_ms = 60'000;
                    break;
                case 'h':
                    unit_ms = 3'600'000;
                    break;
                case 'd':
                    unit_ms = 86'400'000;
                    break;
                case 'w':
                    unit_ms = 7 * 86'400'000LL;
                    break;
                default:
                    return std::nullopt;
            }
            i += 1;
        } else {
            return std::nullopt;  // a bare number is ambiguous: require a unit
        }
        if (n > (1LL << 40))
            return std::nullopt;
        total_ms += n * unit_ms;
    }
    return Seconds((total_ms + 999) / 1000);
}

std::string format_duration(Seconds d) {
    long long s = d.count();
    if (s == 0)
        return "0s";
    std::string out;
    if (s < 0) {
        out = "-";
        s = -s;
    }
    const std::pair<long long, const char*> units[] = {
        {86400, "d"}, {3600, "h"}, {60, "m"}, {1, "s"}};
    int parts = 0;
    for (auto [len, name] : units) {
        if (s >= len && parts < 2) {
            out += std::to_string(s / len) + name;
            s %= len;
            ++parts;
        } else if (parts > 0) {
            ++parts;  // only the two most significant adjacent units
        }
    }
    return out;
}

namespace {
bool read_int(std::string_view s, size_t pos, size_t len, int& out) {
    if (pos + len > s.size())
        return false;
    int v = 0;
    for (size_t k = pos; k < pos + len; ++k) {
        if (!std::isdigit(static_cast<unsigned char>(s[k])))
            return false;
        v = v * 10 + (s[k] - '0');
    }
    out = v;
    return true;
}
}  // namespace

std::optional<TimePoint> parse_rfc3339(std::string_view s) {
    int y, mo, d, h = 0, mi = 0, se = 0;
    if (!read_int(s, 0, 4, y) || s.size() < 10 || s[4] != '-' || !read_int(s, 5, 2, mo) ||
        s[7] != '-' || !read_int(s, 8, 2, d))
        return std::nullopt;
    using namespace std::chrono;
    year_month_day ymd{year{y}, month{static_cast<unsigned>(mo)}, day{static_cast<unsigned>(d)}};
    if (!ymd.ok())
        return std::nullopt;
    long offset = 0;
    if (s.size() > 10) {
        if ((s[10] != 'T' && s[10] != 't' && s[10] != ' ') || !read_int(s, 11, 2, h) ||
            s.size() < 19 || s[13] != ':' || !read_int(s, 14, 2, mi) || s[16] != ':' ||
            !read_int(s, 17, 2, se))
            return std::nullopt;
        if (h > 23 || mi > 59 || se > 60)
            return std::nullopt;
        size_t i = 19;
        if (i < s.size() && s[i] == '.') {
            ++i;
            while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i])))
                ++i;
        }
        if (i >= s.size())
            return std::nullopt;  // a date-time needs a zone
        if (s[i] == 'Z' || s[i] == 'z') {
            ++i;
        } else if (s[i] == '+' || s[i] == '-') {
            int oh, om;
            if (!read_int(s, i + 1, 2, oh) || s.size() < i + 6 || s[i + 3] != ':' ||
                !read_int(s, i + 4, 2, om))
                return std::nullopt;
            offset = (oh * 3600L + om * 60L) * (s[i] == '+' ? 1 : -1);
            i += 6;
        } else {
            return std::nullopt;
        }
        if (i != s.size())
            return std::nullopt;
    }
    TimePoint t = sys_days(ymd) + hours(h) + minutes(mi) + seconds(se);
    return t - seconds(offset);
}

static std::tm utc_tm(TimePoint t) {
    std::time_t tt = t.time_since_epoch().count();
    std::tm tm{};
    gmtime_r(&tt, &tm);
    return tm;
}

std::string format_rfc3339(TimePoint t) {
    std::tm tm = utc_tm(t);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

std::string format_compact_utc(TimePoint t) {
    std::tm tm = utc_tm(t);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
    return buf;
}

}  // namespace certfleet::core
