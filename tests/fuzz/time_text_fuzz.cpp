// Fuzz harness: the parsers of time as clients write it (the `since`, `ttl` and `lease` arguments:
// "30m", "7d", ISO-8601 instants) and of the cursors clients hand back (memory and session page
// cursors, change-feed cursors read by the SQLite store).
//
// Properties: nothing crashes or overflows (UBSan); a parsed duration is positive-or-zero and at most a
// century; every instant the server formats parses back to itself; a change cursor the store refuses
// is refused as an invalid argument, never as an internal error.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "core/ids.h"
#include "fuzz_check.h"
#include "memory/time_text.h"
#include "store/sqlite/sqlite_store.h"

namespace {

constexpr memtrace::UnixMillis kCentury = 100LL * 365 * 24 * 3600 * 1000;
constexpr memtrace::UnixMillis kNow =
    1795000000000;  // 2026-11-20, fixed: the outcome depends on the input only

// One read-only store for every input: reading the change feed changes nothing in it.
memtrace::Store& store() {
  static std::unique_ptr<memtrace::Store> instance = *memtrace::open_sqlite_store({":memory:"});
  return *instance;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace memtrace;
  std::string_view text(reinterpret_cast<const char*>(data), size);

  if (auto duration = parse_duration(text)) {
    FUZZ_CHECK(*duration >= 0 && *duration <= kCentury, "a duration outside [0, a century]");
  }
  if (auto instant = parse_iso8601(text)) {
    // Whatever was accepted formats and parses back to the same instant (the year may be 0000..9999).
    auto again = parse_iso8601(format_iso8601(*instant));
    if (*instant >= -62167219200000LL && *instant < 253402300800000LL) {
      FUZZ_CHECK(again && *again == *instant, "a formatted instant does not parse back to itself");
    }
  }
  auto bound = parse_time_bound("since", text, kNow);
  if (!bound) FUZZ_CHECK(bound.error().code == ErrorCode::kInvalidArgument, "since refused oddly");

  // An instant from the bytes (any int64) formats without crashing.
  if (size >= 8) {
    std::int64_t t = 0;
    for (int i = 0; i < 8; ++i) t = static_cast<std::int64_t>(static_cast<std::uint64_t>(t) << 8 | data[i]);
    if (t > -kCentury * 1000 && t < kCentury * 1000) {
      auto formatted = format_iso8601(t);
      FUZZ_CHECK(!formatted.empty(), "an instant formatted to nothing");
    }
  }

  // Page cursors are memory or session ids; change cursors are the store's own.
  looks_like_id(std::string(text));
  ChangeQuery query;
  query.cursor = std::string(text);
  query.limit = 10;
  query.now = kNow;
  auto page = store().read_changes(query);
  if (!page) {
    FUZZ_CHECK(page.error().code == ErrorCode::kInvalidArgument,
               "a change cursor refused as something other than the client's error");
  }
  return 0;
}
