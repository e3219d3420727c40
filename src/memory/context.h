// The session context: a markdown digest of one session that a model reads well, for prompt
// injection (resources, prompts, tool results, the initialize instructions), bounded by a token budget.
//
// Layout (each part is omitted when empty):
//   # Session context: <id>
//   Status: active · started <time> by <agent> · last activity <time>
//   Metadata: account_id="42", channel="telegram"
//   Agents: billing, internet
//   Window: whole session up to <now> · types: fact, decision
//
//   ## Decisions         every decision, newest first, with its reasoning
//   ## Important         other memories with importance >= 0.7, most important first
//   ## Recent            the rest, newest first
//
//   … 37 older or less important memories omitted.
//
// Every memory line reads "- <UTC time to the second> · <agent> · <type> · [tags]: <content>";
// no memory is listed twice. Contents longer than 280 bytes (reasoning: 200) are cut at a UTF-8
// character boundary and end in "...". Line breaks inside contents become spaces.
//
// Budget: the token estimate is 1 token per 4 bytes of UTF-8, rounded up: tokens = ceil(bytes / 4).
// A digest never exceeds max_tokens by that estimate, i.e. it is at most 4 * max_tokens bytes. To fit,
// memories are dropped whole, least important first and, at equal importance, oldest (smallest id)
// first; the last
// line then says how many were left out. The header lines after the first may take half the budget
// before memories are placed, and whatever the memories leave over afterwards; a header line that
// does not fit is left out. The first line and the "omitted" line come before everything else; a
// budget too small for even the first line gets that line cut at a character boundary.
//
// Rendering is deterministic: the same material and budget give the same bytes ("now" is an input).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "memory/engine.h"
#include "store/records.h"

namespace memtrace {

inline constexpr std::size_t kBytesPerToken = 4;
inline constexpr std::size_t kDefaultContextTokens = 2000;
inline constexpr std::size_t kMaxContextTokens = 100000;
inline constexpr double kImportantThreshold = 0.7;

// ceil(bytes / 4): the estimate every budget in memtrace-mcp uses.
std::size_t estimate_tokens(std::string_view text);

struct ContextRequest {
  std::optional<std::string> since;  // "4h" or an ISO-8601 time; default: the whole session
  std::vector<std::string> types;    // only these memory types; default: all
  std::size_t max_tokens = kDefaultContextTokens;
};

// Everything a digest is rendered from; plain data, so rendering can be tested without a store.
struct ContextMaterial {
  SessionSummary session;
  bool stored = true;            // false: the caller's current session, nothing written to it yet
  std::vector<Memory> memories;  // candidates in any order, each id once
  std::size_t total = 0;         // memories matching window and types; at least memories.size()
  bool total_is_lower_bound = false;
  std::optional<UnixMillis> since;
  std::vector<std::string> types;
  UnixMillis now = 0;
};

struct Digest {
  std::string session_id;
  std::string text;
  std::size_t tokens_estimate = 0;
  std::size_t listed = 0;   // memories shown
  std::size_t omitted = 0;  // memories matching but left out (a lower bound if omitted_is_lower_bound)
  bool omitted_is_lower_bound = false;
};

Digest render_context(const ContextMaterial& material, std::size_t max_tokens);

// Reads what a digest needs: the session with its agents and counts, and its memories. A digest of the
// whole session (no since, no types) reads them in the order it keeps them (Store::rank_memories), as
// many as max_tokens could show; one with a window or types reads the newest 1,000 memories there and
// up to 200 decisions, and says "at least" of what it left out beyond those. `session_id` empty means
// the caller's current session; only that one may be missing from the store (nothing written yet).
// kNotFound for any other unknown session.
Result<ContextMaterial> load_context(Engine& engine, const Caller& caller, const std::string& session_id,
                                     const ContextRequest& request);

// load_context + render_context, after checking the request (max_tokens 1..100000, known types).
Result<Digest> session_context(Engine& engine, const Caller& caller, const std::string& session_id,
                               const ContextRequest& request);

}  // namespace memtrace
