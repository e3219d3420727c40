#include "mcp/memory_tools.h"

#include <spdlog/spdlog.h>

#include "core/utf8.h"
#include "mcp/memory_json.h"
#include "mcp/tool_args.h"

namespace memtrace::mcp {
namespace {

// The narrowing and paging that recall and search share (the fields have the same names in both).
template <class ReadInput>
void read_window(const Json& args, ReadInput& input) {
  input.since = opt_string(args, "since");
  input.session_id = opt_string(args, "session_id");
  input.agent_id = opt_string(args, "agent_id");
  input.types = strings(args, "types");
  input.limit = opt_integer(args, "limit");
  input.cursor = opt_string(args, "cursor");
  input.include_superseded = args.value("include_superseded", false);
}

ToolResult stored_result(const Stored& stored, const std::string& what,
                         const std::function<void(LogLevel, const std::string&)>& log) {
  ToolResult result;
  result.structured = stored_to_json(stored);
  if (stored.deduplicated) {
    result.text = "Already stored as " + what + " " + stored.memory.id + " (" +
                  result.structured["created_at"].get<std::string>() + ", session " +
                  stored.memory.session_id + "); no copy was stored.";
  } else {
    result.text = "Stored " + what + " " + stored.memory.id + " in session " + stored.memory.session_id +
                  " as " + stored.memory.agent_id + ".";
  }
  if (!stored.superseded.empty()) {
    std::string ids;
    for (const auto& id : stored.superseded) ids += (ids.empty() ? "" : ", ") + id;
    result.text += " It supersedes " + ids + ".";
  }
  if (stored.memory.expires_at)
    result.text += " It expires at " + result.structured["expires_at"].get<std::string>() + ".";
  log(LogLevel::kDebug, result.text);
  return result;
}

ToolResult page_result(const Page& page) {
  ToolResult result;
  result.structured = page_to_json(page);
  result.text = render_page(page);
  return result;
}

void normalize_tags(Json& arguments) {
  split_comma_separated(arguments, "tags");
}

void normalize_search(Json& arguments) {
  split_comma_separated(arguments, "tags");
  split_comma_separated(arguments, "types");
}

}  // namespace

void split_comma_separated(Json& arguments, const char* field) {
  auto it = arguments.find(field);
  if (it == arguments.end() || !it->is_string()) return;
  const std::string text = it->get<std::string>();
  Json items = Json::array();
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t comma = text.find(',', start);
    if (comma == std::string::npos) comma = text.size();
    std::string item = text.substr(start, comma - start);
    auto b = item.find_first_not_of(" \t");
    auto e = item.find_last_not_of(" \t");
    if (b != std::string::npos) items.push_back(item.substr(b, e - b + 1));
    start = comma + 1;
  }
  *it = std::move(items);
}

ToolResult tool_error(const Error& error, const Engine& engine) {
  switch (error.code) {
    case ErrorCode::kUnavailable:
    case ErrorCode::kTimeout:
      return ToolResult::error("The memory store (" + engine.describe_store() +
                               ") is not answering: " + error.message +
                               ". Check that it is running and reachable; the call can be retried.");
    case ErrorCode::kInternal:
      spdlog::error("internal error: {}", error.message);
      return ToolResult::error("Internal error in memtrace-mcp: " + error.message);
    default:
      return ToolResult::error(error.message);
  }
}

// A write whose outcome is unknown (the store timed out or went away after the call was sent) may have
// been stored: say so, and how to retry it without storing it twice.
ToolResult write_error(const Error& error, const Engine& engine) {
  ToolResult result = tool_error(error, engine);
  if (error.code == ErrorCode::kUnavailable || error.code == ErrorCode::kTimeout) {
    result.text +=
        " This write may or may not have been stored. Retry it with the same idempotency_key (pass one, e.g. a "
        "UUID, with every write you may retry) and it is stored at most once; without a key, recall first to "
        "see whether it arrived.";
  }
  return result;
}

// The answer to a memory write: at once, or, for a write its group sent without waiting, once the group
// has committed (ToolResult::settle).
ToolResult write_result(const Result<Stored>& stored, const std::string& what, const Engine& engine,
                        const ToolContext& context) {
  if (!stored) return write_error(stored.error(), engine);
  if (!stored->confirmation) return stored_result(*stored, what, context.log);
  ToolResult later;
  later.settle = [confirmation = stored->confirmation, what, &engine, log = context.log] {
    const auto& outcome = confirmation->outcome();
    return outcome ? stored_result(*outcome, what, log) : write_error(outcome.error(), engine);
  };
  return later;
}

void register_memory_tools(ToolRegistry& registry, Engine& engine) {
  registry.add_embedded(
      "memtrace_remember",
      [&engine](const Json& args, ToolContext& context) {
        RememberInput input;
        input.content = args.value("content", "");
        input.tags = strings(args, "tags");
        input.importance = opt_number(args, "importance");
        input.type = args.value("type", "observation");
        input.session_id = opt_string(args, "session_id");
        if (auto m = args.find("metadata"); m != args.end()) input.metadata_json = m->dump();
        input.ttl = opt_string(args, "ttl");
        input.supersedes = strings(args, "supersedes");
        input.idempotency_key = opt_string(args, "idempotency_key");
        return write_result(engine.remember(context.caller, std::move(input)), "memory", engine, context);
      },
      normalize_tags);

  registry.add_embedded(
      "memtrace_decide",
      [&engine](const Json& args, ToolContext& context) {
        DecideInput input;
        input.decision = args.value("decision", "");
        input.reasoning = args.value("reasoning", "");
        input.session_id = opt_string(args, "session_id");
        input.tags = strings(args, "tags");
        input.importance = opt_number(args, "importance");
        input.idempotency_key = opt_string(args, "idempotency_key");
        return write_result(engine.decide(context.caller, std::move(input)), "decision", engine, context);
      },
      normalize_tags);

  registry.add_embedded(
      "memtrace_recall",
      [&engine](const Json& args, ToolContext& context) {
        RecallInput input;
        read_window(args, input);
        auto page = engine.recall(context.caller, input);
        if (!page) return tool_error(page.error(), engine);
        return page_result(*page);
      },
      [](Json& args) { split_comma_separated(args, "types"); });

  registry.add_embedded(
      "memtrace_search",
      [&engine](const Json& args, ToolContext& context) {
        SearchInput input;
        read_window(args, input);
        input.content_contains = opt_string(args, "content_contains");
        input.tags = strings(args, "tags");
        input.min_importance = opt_number(args, "min_importance");
        input.until = opt_string(args, "until");
        auto page = engine.search(context.caller, input);
        if (!page) return tool_error(page.error(), engine);
        return page_result(*page);
      },
      normalize_search);

  registry.add_embedded("memtrace_forget", [&engine](const Json& args, ToolContext& context) {
    const std::string id = args.value("id", "");
    auto forgotten = engine.forget(context.caller, id);
    if (!forgotten) return tool_error(forgotten.error(), engine);
    ToolResult result;
    result.structured = {{"id", id}, {"forgotten", true}};
    result.text = "Forgot memory " + id + " (\"" + utf8_ellipsize(forgotten->content, 80) + "\").";
    return result;
  });
}

}  // namespace memtrace::mcp
