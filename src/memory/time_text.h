// Time as people and models write it: "30m", "4h", "7d" windows and ISO-8601 instants.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "core/clock.h"
#include "core/error.h"

namespace memtrace {

// "30s", "15m", "4h", "7d", "2w" → milliseconds. nullopt if not of that form.
std::optional<UnixMillis> parse_duration(std::string_view text);

// "2026-11-20", "2026-11-20T10:00:00Z", "2026-11-20T10:00:00.250+02:00" → Unix milliseconds.
std::optional<UnixMillis> parse_iso8601(std::string_view text);

// A point in time from either form: a duration counts back from `now`.
// The error names the field and lists what is accepted.
Result<UnixMillis> parse_time_bound(std::string_view field, std::string_view text, UnixMillis now);

// "2026-11-22T00:25:21.123Z"
std::string format_iso8601(UnixMillis t);
// The same into `out` (at least kIso8601Chars long), without allocating; returns the length written.
inline constexpr std::size_t kIso8601Chars = 64;
std::size_t format_iso8601(UnixMillis t, char* out);
// To the second, as lines for a model show times: "2026-11-22T00:25:21Z".
std::string format_utc_seconds(UnixMillis t);
// The same, appended to `out` without a string in between (lines of many memories).
void append_utc_seconds(std::string& out, UnixMillis t);

}  // namespace memtrace
