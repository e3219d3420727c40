// The session context digest: loading its material from the store and rendering it within a budget.
#include "memory/context.h"

#include <algorithm>
#include <unordered_set>

#include "core/text.h"
#include "core/utf8.h"
#include "memory/engine_internals.h"
#include "memory/sessions.h"
#include "memory/time_text.h"

namespace memtrace {
namespace {

constexpr std::size_t kMaxContentBytes = 280;
constexpr std::size_t kMaxReasoningBytes = 200;
constexpr std::size_t kMaxNameBytes = 64;
constexpr std::size_t kMaxHeaderLineBytes = 400;
// How much a digest with a window or types reads from the store: the newest memories of the window,
// and its decisions (which may be older than every one of those memories, and always deserve a place).
constexpr std::size_t kScanLimit = 1000;
constexpr std::size_t kDecisionLimit = 200;
// Every memory line takes at least this many bytes of the budget ("- ", the 20-byte time, ": ", ...),
// so a digest of the whole session never shows more than budget / kMinMemoryLineBytes + 1 memories.
constexpr std::size_t kMinMemoryLineBytes = 24;
// It reads first as many as lines of this size would fill (a memory line of eight words is about 100
// bytes), and the rest of that bound only if the lines it read could not fill the budget.
constexpr std::size_t kShortMemoryLineBytes = 64;

enum class Section { kDecisions = 0, kImportant = 1, kRecent = 2 };
constexpr const char* kSectionHeadings[] = {"## Decisions", "## Important", "## Recent"};

// out += the text on one line (control characters, line breaks and tabs among them, become spaces),
// cut to max_bytes with "..." at a character boundary if it is longer. Replacing control characters
// keeps every byte where it was, so the cut falls where it would in the original text.
void append_clipped(std::string& out, std::string_view text, std::size_t max_bytes) {
  const bool cut = text.size() > max_bytes;
  const std::string_view kept = cut ? utf8_prefix(text, max_bytes < 3 ? max_bytes : max_bytes - 3) : text;
  const std::size_t from = out.size();
  out += kept;
  for (std::size_t i = from; i < out.size(); ++i) {
    const auto c = static_cast<unsigned char>(out[i]);
    if (c < 0x20 || c == 0x7f) out[i] = ' ';
  }
  if (cut && max_bytes >= 3) out += "...";
}

std::string clip(std::string_view text, std::size_t max_bytes) {
  std::string out;
  append_clipped(out, text, max_bytes);
  return out;
}

Section section_of(const Memory& m) {
  if (m.type == "decision") return Section::kDecisions;
  if (m.importance >= kImportantThreshold) return Section::kImportant;
  return Section::kRecent;
}

bool newer(const Memory& a, const Memory& b) {
  if (a.created_at != b.created_at) return a.created_at > b.created_at;
  return a.id > b.id;
}

// Which memories survive a tight budget: the most important, and among equals the newest by id (the
// order they were written in, as recall orders them; Store::rank_memories reads them in this order).
bool keep_before(const Memory& a, const Memory& b) {
  if (a.importance != b.importance) return a.importance > b.importance;
  return a.id > b.id;
}

// At most the bytes of memory_line(m, ...) plus its line break: what clip() keeps, less its "...".
constexpr RankQuery::Weight kLineFloor{2 + 20 + 4 + 4 + 2 + 1, kMaxNameBytes - 3, kMaxNameBytes - 3,
                                       kMaxContentBytes - 3};

std::string memory_line(const Memory& m, Section section) {
  std::string line;
  line.reserve(64 + m.agent_id.size() + m.type.size() + m.content.size() + 16 * m.tags.size());
  line += "- ";
  append_utc_seconds(line, m.created_at);
  line += " · ";
  append_clipped(line, m.agent_id, kMaxNameBytes);
  line += " · ";
  append_clipped(line, m.type, kMaxNameBytes);
  if (!m.tags.empty()) {
    line += " · [";
    if (m.tags.size() == 1) {
      append_clipped(line, m.tags.front(), kMaxHeaderLineBytes);
    } else {
      append_clipped(line, join(m.tags, ", "), kMaxHeaderLineBytes);
    }
    line += "]";
  }
  if (section == Section::kImportant) {
    line += " · importance ";
    line += two_digit_number(m.importance);
  }
  line += ": ";
  append_clipped(line, m.content, kMaxContentBytes);
  if (m.reasoning && !m.reasoning->empty()) {
    line += " — because: ";
    append_clipped(line, *m.reasoning, kMaxReasoningBytes);
  }
  return line;
}

// "… [at least ]N older or less important memor(y|ies) omitted.", in pieces, so that its size can be
// counted without writing it.
constexpr std::string_view kOmittedLead = "… ";
constexpr std::string_view kOmittedAtLeast = "at least ";
constexpr std::string_view kOmittedMiddle = " older or less important ";
constexpr std::string_view kOmittedEnd = " omitted.";
std::string_view omitted_noun(std::size_t count, bool lower_bound) {
  return count == 1 && !lower_bound ? "memory" : "memories";
}

std::string omitted_line(std::size_t count, bool lower_bound) {
  std::string line(kOmittedLead);
  if (lower_bound) line += kOmittedAtLeast;
  line += std::to_string(count);
  line += kOmittedMiddle;
  line += omitted_noun(count, lower_bound);
  line += kOmittedEnd;
  return line;
}

// omitted_line(count, lower_bound).size(), without writing it (a digest asks once per memory it places).
std::size_t omitted_line_size(std::size_t count, bool lower_bound) {
  std::size_t digits = 1;
  for (std::size_t rest = count; rest >= 10; rest /= 10) ++digits;
  return kOmittedLead.size() + (lower_bound ? kOmittedAtLeast.size() : 0) + digits + kOmittedMiddle.size() +
         omitted_noun(count, lower_bound).size() + kOmittedEnd.size();
}

struct Header {
  std::string title;
  // Output order: status, metadata, agents, window; each may be empty (absent).
  std::string status, metadata, agents, window, empty_note;
};

Header make_header(const ContextMaterial& in) {
  const Session& s = in.session.session;
  Header h;
  h.title = clip("# Session context: " + s.id, kMaxHeaderLineBytes);

  std::string status = "Status: " + std::string(to_string(s.status));
  if (!in.stored) {
    status += " · nothing stored yet";
  } else {
    if (s.status == SessionStatus::kClosed && s.closed_at) status += " " + format_utc_seconds(*s.closed_at);
    status += " · started " + format_utc_seconds(s.created_at);
    if (!s.created_by.empty()) status += " by " + clip(s.created_by, kMaxNameBytes);
    if (in.session.last_activity > 0)
      status += " · last activity " + format_utc_seconds(in.session.last_activity);
  }
  h.status = clip(status, kMaxHeaderLineBytes);

  if (!s.metadata.empty()) {
    std::string metadata;
    for (const auto& [key, value] : s.metadata) {
      if (!metadata.empty()) metadata += ", ";
      metadata += key + "=" + value;
    }
    h.metadata = clip("Metadata: " + metadata, kMaxHeaderLineBytes);
  }
  if (!in.session.agents.empty()) {
    h.agents = clip("Agents: " + join(in.session.agents, ", "), kMaxHeaderLineBytes);
  }

  std::string window = in.since
                           ? "Window: " + format_utc_seconds(*in.since) + " to " + format_utc_seconds(in.now)
                           : "Window: whole session up to " + format_utc_seconds(in.now);
  if (!in.types.empty()) window += " · types: " + join(in.types, ", ");
  h.window = clip(window, kMaxHeaderLineBytes);

  if (in.memories.empty() && in.total == 0) {
    h.empty_note = in.since || !in.types.empty() ? "No memories in this window." : "No memories yet.";
  }
  return h;
}

}  // namespace

std::size_t estimate_tokens(std::string_view text) {
  return (text.size() + kBytesPerToken - 1) / kBytesPerToken;
}

Digest render_context(const ContextMaterial& in, std::size_t max_tokens) {
  Digest digest;
  digest.session_id = in.session.session.id;
  const std::size_t budget = max_tokens * kBytesPerToken;
  const std::size_t total = std::max(in.total, in.memories.size());
  digest.omitted_is_lower_bound = in.total_is_lower_bound;

  const Header header = make_header(in);
  auto finish = [&](std::string text, std::size_t listed) {
    digest.text = std::move(text);
    digest.tokens_estimate = estimate_tokens(digest.text);
    digest.listed = listed;
    digest.omitted = total - listed;
    return digest;
  };
  if (header.title.size() + 1 > budget) return finish(utf8_ellipsize(header.title, budget), 0);

  // Sizes are added up, never re-rendered: a blank line and the omitted line cost this much.
  auto omitted_cost = [&](std::size_t omitted) -> std::size_t {
    return omitted == 0 ? 0 : 1 + omitted_line_size(omitted, in.total_is_lower_bound) + 1;
  };
  std::size_t size = header.title.size() + 1;
  // If even the omitted line does not fit beside the title, the title stands alone.
  if (size + omitted_cost(total) > budget) return finish(header.title + "\n", 0);

  // Header lines in order of value; one that does not fit is skipped and the next is tried. Before
  // memories are placed, the header may fill only half the budget; afterwards, what the memories left
  // over may still take a skipped header line.
  bool use_status = false, use_window = false, use_agents = false, use_metadata = false, use_empty = false;
  auto try_header = [&](std::size_t limit, std::size_t omitted) {
    auto try_line = [&](const std::string& line, bool& use, std::size_t extra = 0) {
      if (line.empty() || use) return;
      const std::size_t cost = extra + line.size() + 1;
      if (size + cost <= limit && size + cost + omitted_cost(omitted) <= budget) {
        size += cost;
        use = true;
      }
    };
    try_line(header.status, use_status);
    try_line(header.empty_note, use_empty, 1);  // after a blank line
    try_line(header.window, use_window);
    try_line(header.agents, use_agents);
    try_line(header.metadata, use_metadata);
  };
  try_header(budget / 2, total);

  // Memories, most worth keeping first, until the first that does not fit.
  std::vector<const Memory*> order;
  order.reserve(in.memories.size());
  for (const auto& m : in.memories) order.push_back(&m);
  std::sort(order.begin(), order.end(), [](const Memory* a, const Memory* b) { return keep_before(*a, *b); });

  // Each memory's line is rendered once, when it is weighed.
  struct Listed {
    const Memory* memory;
    std::string line;
  };
  std::vector<Listed> chosen[3];
  std::size_t listed = 0;
  for (const Memory* m : order) {
    const Section section = section_of(*m);
    std::string line = memory_line(*m, section);
    auto& bucket = chosen[static_cast<int>(section)];
    const std::size_t heading =
        bucket.empty() ? 1 + std::string_view(kSectionHeadings[static_cast<int>(section)]).size() + 1 : 0;
    const std::size_t cost = heading + line.size() + 1;
    if (size + cost + omitted_cost(total - listed - 1) > budget) break;
    size += cost;
    bucket.push_back({m, std::move(line)});
    ++listed;
  }
  try_header(budget, total - listed);

  std::string text;
  text.reserve(size + omitted_cost(total - listed));
  text += header.title + "\n";
  if (use_status) text += header.status + "\n";
  if (use_metadata) text += header.metadata + "\n";
  if (use_agents) text += header.agents + "\n";
  if (use_window) text += header.window + "\n";
  if (use_empty) text += "\n" + header.empty_note + "\n";
  for (int s = 0; s < 3; ++s) {
    auto& bucket = chosen[s];
    if (bucket.empty()) continue;
    if (s == static_cast<int>(Section::kImportant)) {
      std::sort(bucket.begin(), bucket.end(),
                [](const Listed& a, const Listed& b) { return keep_before(*a.memory, *b.memory); });
    } else {
      std::sort(bucket.begin(), bucket.end(),
                [](const Listed& a, const Listed& b) { return newer(*a.memory, *b.memory); });
    }
    text += "\n";
    text += kSectionHeadings[s];
    text += "\n";
    for (const Listed& l : bucket) {
      text += l.line;
      text += '\n';
    }
  }
  if (total > listed) text += "\n" + omitted_line(total - listed, in.total_is_lower_bound) + "\n";
  return finish(std::move(text), listed);
}

Result<ContextMaterial> load_context(Engine& engine, const Caller& caller, const std::string& session_id,
                                     const ContextRequest& request) {
  const std::string& id = session_id.empty() ? caller.session_id : session_id;
  ContextMaterial material;
  material.now = engine.clock().now_ms();
  material.types = request.types;
  if (request.since) {
    auto since = parse_time_bound("since", *request.since, material.now);
    if (!since) return tl::unexpected(since.error());
    material.since = *since;
  }

  Store& store = EngineInternals::store(engine);
  // The session, or what a digest of a session not created yet says (a new client's first read).
  auto take_session = [&](std::optional<SessionSummary> found) -> Result<bool> {
    if (found) {
      material.session = std::move(*found);
      return true;
    }
    if (id != caller.session_id) {
      return fail(ErrorCode::kNotFound,
                  "there is no session " + id + "; find one with memtrace_session_search");
    }
    material.stored = false;
    material.session.session.ns = caller.ns;
    material.session.session.id = id;
    material.session.session.created_by = caller.agent_id;
    return false;
  };

  if (!material.since && request.types.empty()) {
    // The whole session: its summary, its memories in the order the digest keeps them, as many as the
    // budget could show, and how many there are; in one read of the store, whatever the session's size.
    const std::size_t budget = request.max_tokens * kBytesPerToken;
    RankQuery ranked_query;
    ranked_query.ns = caller.ns;
    ranked_query.session_id = id;
    ranked_query.now = material.now;
    ranked_query.limit = budget / kShortMemoryLineBytes + 1;
    ranked_query.count_limit = kScanLimit;
    ranked_query.with_session = true;
    // No memory past the one whose line (at its shortest) fills the budget can be shown.
    ranked_query.weight = kLineFloor;
    ranked_query.max_weight = budget;
    auto ranked = store.rank_memories(ranked_query);
    if (!ranked) return tl::unexpected(ranked.error());
    auto stored = take_session(std::move(ranked->session));
    if (!stored) return tl::unexpected(stored.error());
    if (!*stored) return material;
    std::size_t least_bytes = 0;
    for (const auto& m : ranked->memories) least_bytes += kLineFloor.of(m);
    if (ranked->total > ranked->memories.size() && least_bytes <= budget) {
      // Short lines: the budget could show memories beyond those, so read as many as it ever could.
      ranked_query.limit = budget / kMinMemoryLineBytes + 1;
      ranked_query.with_session = false;
      ranked = store.rank_memories(ranked_query);
      if (!ranked) return tl::unexpected(ranked.error());
    }
    material.memories = std::move(ranked->memories);
    material.total = ranked->total;
    if (ranked->total_is_lower_bound) {
      // Past 1,000 the session's own count says how many there are (it counts superseded ones too).
      material.total = std::max(material.total, static_cast<std::size_t>(material.session.memory_count));
    }
    return material;
  }

  auto described = describe_session(store, caller.ns, id, material.now);
  if (!described) return tl::unexpected(described.error());
  auto stored = take_session(std::move(*described));
  if (!stored) return tl::unexpected(stored.error());
  if (!*stored) return material;

  MemoryQuery query;
  query.ns = caller.ns;
  query.session_id = id;
  query.since = material.since;
  query.now = material.now;
  query.exclude_superseded = true;  // the digest says what is true now
  bool truncated = false;
  std::unordered_set<std::string> seen;
  auto collect = [&](MemoryQuery q, std::size_t limit) -> Result<void> {
    q.limit = limit + 1;
    auto rows = store.query_memories(q);
    if (!rows) return tl::unexpected(rows.error());
    if (rows->size() > limit) truncated = true;
    for (auto& m : *rows) {
      if (seen.insert(m.id).second) material.memories.push_back(std::move(m));
    }
    return {};
  };
  const bool want_decisions = request.types.empty() || std::find(request.types.begin(), request.types.end(),
                                                                 "decision") != request.types.end();
  if (want_decisions) {
    MemoryQuery decisions = query;
    decisions.types = {"decision"};
    if (auto ok = collect(decisions, kDecisionLimit); !ok) return tl::unexpected(ok.error());
  }
  query.types = request.types;
  if (auto ok = collect(query, kScanLimit); !ok) return tl::unexpected(ok.error());

  material.total = material.memories.size();
  if (truncated) {
    if (!request.since && request.types.empty() && material.session.memory_count > 0) {
      material.total = std::max(material.total, static_cast<std::size_t>(material.session.memory_count));
    } else {
      material.total_is_lower_bound = true;
    }
  }
  return material;
}

Result<Digest> session_context(Engine& engine, const Caller& caller, const std::string& session_id,
                               const ContextRequest& request) {
  if (request.max_tokens < 1 || request.max_tokens > kMaxContextTokens) {
    return fail(ErrorCode::kInvalidArgument, "max_tokens must be between 1 and " +
                                                 std::to_string(kMaxContextTokens) + ", got " +
                                                 std::to_string(request.max_tokens));
  }
  for (const auto& type : request.types) {
    const auto& known = all_memory_types();
    if (std::find(known.begin(), known.end(), type) == known.end()) {
      return fail(ErrorCode::kInvalidArgument,
                  "types may contain " + join(known, ", ") + "; got \"" + type + "\"");
    }
  }
  auto material = load_context(engine, caller, session_id, request);
  if (!material) return tl::unexpected(material.error());
  return render_context(*material, request.max_tokens);
}

}  // namespace memtrace
