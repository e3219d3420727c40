#include "memory/time_text.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdint>
#include <cstdio>

namespace memtrace {
namespace {

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

void civil_from_days(std::int64_t z, std::int64_t& y, unsigned& m, unsigned& d) {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  y = static_cast<std::int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp < 10 ? mp + 3 : mp - 9;
  y += m <= 2;
}

bool read_digits(std::string_view text, std::size_t& pos, std::size_t count, int& out) {
  if (pos + count > text.size()) return false;
  out = 0;
  for (std::size_t i = 0; i < count; ++i) {
    char c = text[pos + i];
    if (c < '0' || c > '9') return false;
    out = out * 10 + (c - '0');
  }
  pos += count;
  return true;
}

}  // namespace

std::optional<UnixMillis> parse_duration(std::string_view text) {
  if (text.size() < 2) return std::nullopt;
  UnixMillis amount = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size() - 1, amount);
  if (ec != std::errc() || end != text.data() + text.size() - 1 || amount < 0) return std::nullopt;
  UnixMillis unit = 0;
  switch (text.back()) {
    case 's':
      unit = 1000;
      break;
    case 'm':
      unit = 60 * 1000;
      break;
    case 'h':
      unit = 3600 * 1000;
      break;
    case 'd':
      unit = 24 * 3600 * 1000;
      break;
    case 'w':
      unit = 7 * 24 * 3600 * 1000LL;
      break;
    default:
      return std::nullopt;
  }
  if (amount > 100LL * 365 * 24 * 3600 * 1000 / unit) return std::nullopt;  // over a century: a typo
  return amount * unit;
}

std::optional<UnixMillis> parse_iso8601(std::string_view text) {
  std::size_t pos = 0;
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0, millis = 0;
  if (!read_digits(text, pos, 4, year) || pos >= text.size() || text[pos++] != '-' ||
      !read_digits(text, pos, 2, month) || pos >= text.size() || text[pos++] != '-' ||
      !read_digits(text, pos, 2, day)) {
    return std::nullopt;
  }
  if (month < 1 || month > 12 || day < 1 || day > 31) return std::nullopt;
  UnixMillis offset_ms = 0;
  if (pos < text.size()) {
    if (text[pos] != 'T' && text[pos] != 't' && text[pos] != ' ') return std::nullopt;
    ++pos;
    if (!read_digits(text, pos, 2, hour) || pos >= text.size() || text[pos++] != ':' ||
        !read_digits(text, pos, 2, minute)) {
      return std::nullopt;
    }
    if (pos < text.size() && text[pos] == ':') {
      ++pos;
      if (!read_digits(text, pos, 2, second)) return std::nullopt;
      if (pos < text.size() && (text[pos] == '.' || text[pos] == ',')) {
        ++pos;
        int scale = 100;
        std::size_t digits = 0;
        while (pos < text.size() && std::isdigit(static_cast<unsigned char>(text[pos]))) {
          millis += (text[pos] - '0') * scale;
          scale /= 10;
          ++pos;
          ++digits;
        }
        if (digits == 0) return std::nullopt;
      }
    }
    if (hour > 23 || minute > 59 || second > 60) return std::nullopt;
    if (pos == text.size()) return std::nullopt;  // a time without a zone is ambiguous
    if (text[pos] == 'Z' || text[pos] == 'z') {
      ++pos;
    } else if (text[pos] == '+' || text[pos] == '-') {
      int sign = text[pos++] == '-' ? -1 : 1;
      int oh = 0, om = 0;
      if (!read_digits(text, pos, 2, oh)) return std::nullopt;
      if (pos < text.size() && text[pos] == ':') ++pos;
      if (!read_digits(text, pos, 2, om) || oh > 23 || om > 59) return std::nullopt;
      offset_ms = sign * (oh * 3600 + om * 60) * 1000LL;
    } else {
      return std::nullopt;
    }
    if (pos != text.size()) return std::nullopt;
  }
  std::int64_t days = days_from_civil(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
  return ((days * 24 + hour) * 60 + minute) * 60000LL + second * 1000LL + millis - offset_ms;
}

Result<UnixMillis> parse_time_bound(std::string_view field, std::string_view text, UnixMillis now) {
  if (auto duration = parse_duration(text)) return now - *duration;
  if (auto instant = parse_iso8601(text)) return *instant;
  return fail(ErrorCode::kInvalidArgument, std::string(field) +
                                               " accepts 30s, 15m, 4h, 7d, 2w or an ISO-8601 time such as "
                                               "2026-01-31T09:00:00Z; got \"" +
                                               std::string(text) + "\"");
}

std::size_t format_iso8601(UnixMillis t, char* out) {
  std::int64_t days = t >= 0 ? t / 86400000 : (t - 86399999) / 86400000;
  std::int64_t ms_of_day = t - days * 86400000;
  std::int64_t year = 0;
  unsigned month = 0, day = 0;
  civil_from_days(days, year, month, day);
  if (year >= 0 && year <= 9999) {
    // The digits written directly: every memory in a search result or a digest has a time or two, and
    // snprintf was a third of the cost of rendering a session context.
    auto put = [out](std::size_t at, std::int64_t value, std::size_t width) {
      for (std::size_t i = width; i-- > 0; value /= 10) out[at + i] = static_cast<char>('0' + value % 10);
    };
    put(0, year, 4), put(5, month, 2), put(8, day, 2);
    put(11, ms_of_day / 3600000, 2), put(14, ms_of_day / 60000 % 60, 2), put(17, ms_of_day / 1000 % 60, 2);
    put(20, ms_of_day % 1000, 3);
    out[4] = out[7] = '-', out[10] = 'T', out[13] = out[16] = ':', out[19] = '.', out[23] = 'Z';
    return 24;  // YYYY-MM-DDTHH:MM:SS.mmmZ
  }
  const int written = std::snprintf(
      out, kIso8601Chars, "%04lld-%02u-%02uT%02lld:%02lld:%02lld.%03lldZ", static_cast<long long>(year),
      month, day, static_cast<long long>(ms_of_day / 3600000), static_cast<long long>(ms_of_day / 60000 % 60),
      static_cast<long long>(ms_of_day / 1000 % 60), static_cast<long long>(ms_of_day % 1000));
  return written < 0 ? 0 : std::min<std::size_t>(static_cast<std::size_t>(written), kIso8601Chars - 1);
}

std::string format_iso8601(UnixMillis t) {
  char out[kIso8601Chars];
  return std::string(out, format_iso8601(t, out));
}

void append_utc_seconds(std::string& out, UnixMillis t) {
  char text[kIso8601Chars];
  const std::size_t seconds = std::min<std::size_t>(19, format_iso8601(t, text));  // up to ".mmmZ"
  out.append(text, seconds);
  out += 'Z';
}

std::string format_utc_seconds(UnixMillis t) {
  std::string out;
  append_utc_seconds(out, t);
  return out;
}

}  // namespace memtrace
