// The tools a server offers: each one's definition (from schemas/tools/<name>.json), the validator
// built from that same definition's inputSchema, and the handler that serves it.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "jsonrpc/message.h"

#include "mcp/protocol_version.h"
#include "mcp/schema_validator.h"
#include "memory/engine.h"

namespace memtrace::mcp {

using Json = nlohmann::json;

enum class LogLevel { kDebug, kInfo, kNotice, kWarning, kError, kCritical, kAlert, kEmergency };
const char* to_string(LogLevel level);
bool parse_log_level(const std::string& text, LogLevel& out);

// What a tool handler can see of, and do to, the request and connection it serves.
struct ToolContext {
  Caller caller;
  // notifications/message to this client, if its log level admits `level`.
  std::function<void(LogLevel level, const std::string& message)> log = [](LogLevel, const std::string&) {};
  // notifications/progress, if the request carried a progress token.
  std::function<void(double progress, std::optional<double> total, const std::string& message)> progress =
      [](double, std::optional<double>, const std::string&) {};
  std::function<bool()> cancelled = [] { return false; };
  // A request to the client while the call runs (sampling/createMessage, elicitation/create), sent on
  // the call's own stream: the client's result, or an error (its JSON-RPC error; kTimeout). Blocks.
  std::function<Result<Json>(const std::string& method, const Json& params,
                             std::chrono::milliseconds timeout)>
      request = [](const std::string&, const Json&, std::chrono::milliseconds) -> Result<Json> {
    return tl::unexpected(
        Error{ErrorCode::kUnavailable, "this connection cannot send requests to the client"});
  };
  // Closes the HTTP connection carrying this call's SSE stream; the client resumes the stream and gets
  // the result there (SEP-1699 polling). A no-op on transports without such streams.
  std::function<void()> close_stream = [] {};
  // Makes `session_id` the connection's current session (memtrace_session_create).
  std::function<void(const std::string& session_id)> switch_session = [](const std::string&) {};
  // A stateless (2026-07-28) request: what its client declared in _meta, and what a retry after an
  // input-required result brings back (params.inputResponses, params.requestState; null if absent).
  bool stateless = false;
  Json client_capabilities = Json::object();
  Json input_responses;
  Json request_state;
};

struct ToolResult {
  Json structured;   // matches the tool's outputSchema; sent as structuredContent where the version has it
  std::string text;  // a compact rendering for the model and for clients without structured output
  Json content;      // explicit content blocks, replacing `text` (fixtures with images, resources)
  bool is_error = false;
  // Stateless requests only: an object with inputRequests (and requestState) answers the call with an
  // input-required result, which the client retries with the inputs (2026-07-28 multi round-trip).
  Json input_required;
  // A protocol error instead of a result (e.g. -32021 when the call needs an undeclared capability).
  std::optional<jsonrpc::ErrorObject> protocol_error;
  // Set when the result is known only once the writes of the call's group are committed (a write sent
  // without waiting, Stored::confirmation): the call is answered with what settle() returns then, and
  // the rest of this result is not used.
  std::function<ToolResult()> settle;

  static ToolResult error(std::string message) {
    ToolResult result;
    result.text = std::move(message);
    result.is_error = true;
    return result;
  }
};

using ToolHandler = std::function<ToolResult(const Json& arguments, ToolContext& context)>;

// Rewrites arguments before validation, for documented leniencies (e.g. "a,b" where tags[] is expected).
using ArgumentNormalizer = std::function<void(Json& arguments)>;

// Thread-safety: add() during setup only; afterwards every method is safe to call concurrently.
class ToolRegistry {
 public:
  // `definition` holds name, title, description, inputSchema and optionally outputSchema, annotations.
  void add(Json definition, ToolHandler handler, ArgumentNormalizer normalize = nullptr);
  // Adds the tool whose definition is the embedded schemas/tools/<name>.json.
  void add_embedded(const std::string& name, ToolHandler handler, ArgumentNormalizer normalize = nullptr);

  // The definitions as a client of `version` should see them, in a stable order (by name).
  Json list(ProtocolVersion version) const;
  bool contains(const std::string& name) const { return tools_.count(name) != 0; }
  // True if the tool's definition says it changes nothing (annotations.readOnlyHint); false if unknown.
  bool read_only(const std::string& name) const;

  // Validates and runs the tool; an invalid argument becomes an isError result that explains it.
  ToolResult call(const std::string& name, Json arguments, ToolContext& context) const;

  // The definition, as loaded (for tests: validate structuredContent against outputSchema).
  const Json* definition(const std::string& name) const;

 private:
  struct Tool {
    std::unique_ptr<Json> definition;  // stable address: the validators keep references into it
    std::unique_ptr<SchemaValidator> validator;
    ToolHandler handler;
    ArgumentNormalizer normalize;
  };
  std::map<std::string, Tool> tools_;
};

}  // namespace memtrace::mcp
