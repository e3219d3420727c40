// Fuzz harness: the session context renderer (memory/context.h), on material built from the input:
// session, metadata, agents, memories of any type, importance, time, tags, content and reasoning, a
// window, a type filter and a budget (1..100000 tokens, what the tools and resources accept).
//
// Properties (the renderer's documented contract): nothing crashes; the digest never exceeds its
// budget and reports its own size; no more memories are listed than were given; with valid UTF-8 in,
// the digest is valid UTF-8 (cuts fall on character boundaries).
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include <fuzzer/FuzzedDataProvider.h>

#include "fuzz_check.h"
#include "memory/context.h"
#include "support/utf8_check.h"

namespace {

using memtrace::testing::valid_utf8;

constexpr std::int64_t kYear2000 = 946684800000;
constexpr std::int64_t kYear2100 = 4102444800000;
const char* const kTypes[] = {"observation", "action", "event", "fact", "decision", "result"};

struct Source {
  FuzzedDataProvider& in;
  bool utf8 = true;  // every string taken so far was valid UTF-8
  std::string text(std::size_t max) {
    std::string s = in.ConsumeRandomLengthString(max);
    utf8 = utf8 && valid_utf8(s);
    return s;
  }
  std::int64_t time() { return in.ConsumeIntegralInRange<std::int64_t>(kYear2000, kYear2100); }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace memtrace;
  FuzzedDataProvider provider(data, size);
  Source src{provider};

  const auto max_tokens = provider.ConsumeIntegralInRange<std::size_t>(1, kMaxContextTokens);
  ContextMaterial m;
  m.now = src.time();
  m.stored = provider.ConsumeBool();
  auto& session = m.session.session;
  session.id = src.text(80);
  session.created_by = src.text(80);
  session.created_at = src.time();
  session.updated_at = src.time();
  if (provider.ConsumeBool()) {
    session.status = SessionStatus::kClosed;
    session.closed_at = src.time();
  }
  for (int n = provider.ConsumeIntegralInRange(0, 4); n > 0; --n) {
    std::string key = src.text(40);
    session.metadata[key] = src.text(120);
  }
  for (int n = provider.ConsumeIntegralInRange(0, 4); n > 0; --n) m.session.agents.push_back(src.text(80));
  if (provider.ConsumeBool()) m.since = src.time();
  for (int n = provider.ConsumeIntegralInRange(0, 3); n > 0; --n) {
    m.types.push_back(kTypes[provider.ConsumeIntegralInRange<std::size_t>(0, 5)]);
  }

  std::set<std::string> ids;
  const int count = provider.ConsumeIntegralInRange(0, 60);
  for (int i = 0; i < count && provider.remaining_bytes() > 0; ++i) {
    Memory memory;
    memory.id = src.text(30);
    if (!ids.insert(memory.id).second) continue;  // each id once, as the material promises
    memory.session_id = session.id;
    memory.agent_id = src.text(80);
    memory.type = kTypes[provider.ConsumeIntegralInRange<std::size_t>(0, 5)];
    memory.content = src.text(600);
    for (int n = provider.ConsumeIntegralInRange(0, 3); n > 0; --n) memory.tags.push_back(src.text(30));
    memory.importance = provider.ConsumeProbability<double>();
    memory.created_at = src.time();
    if (memory.type == "decision" && provider.ConsumeBool()) memory.reasoning = src.text(400);
    m.memories.push_back(std::move(memory));
  }
  m.total = m.memories.size() + provider.ConsumeIntegralInRange<std::size_t>(0, 1000);
  m.total_is_lower_bound = provider.ConsumeBool();

  Digest digest = render_context(m, max_tokens);
  FUZZ_CHECK(digest.tokens_estimate == estimate_tokens(digest.text), "the digest misreports its size");
  FUZZ_CHECK(digest.tokens_estimate <= max_tokens, "the digest exceeds its budget");
  FUZZ_CHECK(digest.text.size() <= max_tokens * kBytesPerToken, "the digest exceeds its budget in bytes");
  FUZZ_CHECK(digest.listed <= m.memories.size(), "more memories listed than given");
  if (src.utf8) FUZZ_CHECK(valid_utf8(digest.text), "valid UTF-8 in, invalid UTF-8 out");
  return 0;
}
