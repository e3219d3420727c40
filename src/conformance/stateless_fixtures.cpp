// Shaped as the scenarios' requirement texts say (server-stateless, input-required-result-*).
// requestState tokens are kept here, server-side, so a tampered token is simply unknown.
#include "conformance/stateless_fixtures.h"

#include <atomic>
#include <mutex>
#include <string>
#include <unordered_map>

#include "conformance/fixture_support.h"
#include "mcp/modern_era.h"

namespace memtrace::conformance {

using namespace memtrace::mcp;  // NOLINT(google-build-using-namespace): the fixtures are written against mcp
using support::tool;

namespace {

ToolResult text(const std::string& value) {
  ToolResult result;
  result.content = Json::array({{{"type", "text"}, {"text", value}}});
  return result;
}

Json object_schema(const char* field, const char* type) {
  return {{"type", "object"}, {"properties", {{field, {{"type", type}}}}}, {"required", {field}}};
}

Json elicit(const char* message, const char* field, const char* type = "string") {
  return {{"method", "elicitation/create"},
          {"params", {{"message", message}, {"requestedSchema", object_schema(field, type)}}}};
}

Json sample(const char* prompt, int max_tokens) {
  return {
      {"method", "sampling/createMessage"},
      {"params",
       {{"messages", Json::array({{{"role", "user"}, {"content", {{"type", "text"}, {"text", prompt}}}}})},
        {"maxTokens", max_tokens}}}};
}

Json list_roots() {
  return {{"method", "roots/list"}, {"params", Json::object()}};
}

// Opaque request states: token → what it stands for ("<tool>:<round>").
class StateTokens {
 public:
  std::string issue(const std::string& meaning) {
    std::lock_guard lock(mutex_);
    std::string token = "state-" + std::to_string(++next_);
    tokens_[token] = meaning;
    return token;
  }
  std::optional<std::string> meaning(const Json& token) const {
    if (!token.is_string()) return std::nullopt;
    std::lock_guard lock(mutex_);
    auto it = tokens_.find(token.get<std::string>());
    if (it == tokens_.end()) return std::nullopt;
    return it->second;
  }

 private:
  mutable std::mutex mutex_;
  std::uint64_t next_ = 0;
  std::unordered_map<std::string, std::string> tokens_;
};

StateTokens& tokens() {
  static StateTokens instance;
  return instance;
}

ToolResult input_required(Json requests, std::optional<std::string> state = std::nullopt) {
  ToolResult result;
  result.input_required = {{"inputRequests", std::move(requests)}};
  if (state) result.input_required["requestState"] = tokens().issue(*state);
  return result;
}

// The response the client gave for `key`, if it looks like one (an object).
const Json* response(const ToolContext& context, const char* key) {
  if (!context.input_responses.is_object()) return nullptr;
  auto it = context.input_responses.find(key);
  if (it == context.input_responses.end() || !it->is_object()) return nullptr;
  return &*it;
}

std::string elicited(const Json& answer, const char* field) {
  if (answer.contains("content") && answer["content"].is_object() && answer["content"].contains(field) &&
      answer["content"][field].is_string()) {
    return answer["content"][field].get<std::string>();
  }
  return "unknown";
}

ToolResult bad_state() {
  ToolResult result;
  result.protocol_error = jsonrpc::ErrorObject{
      jsonrpc::kInvalidParams, "Invalid params: requestState failed its integrity check", nullptr};
  return result;
}

void register_diagnostics(ToolRegistry& tools) {
  tools.add(tool("test_missing_capability", "Needs the client's sampling capability"),
            [](const Json&, ToolContext& context) {
              if (context.stateless && !context.client_capabilities.contains("sampling")) {
                ToolResult result;
                result.protocol_error = modern::missing_capability("sampling");
                return result;
              }
              return text("The client declared sampling");
            });
  tools.add(tool("test_logging_tool", "Logs at info level while it runs"),
            [](const Json&, ToolContext& context) {
              context.log(LogLevel::kInfo, "test_logging_tool ran");
              return text("Logged at info level");
            });
  tools.add(tool("test_streaming_elicitation", "Asks the user for input (as an input-required result)"),
            [](const Json&, ToolContext& context) {
              if (const Json* answer = response(context, "user_name")) {
                return text("Hello, " + elicited(*answer, "name") + "!");
              }
              return input_required({{"user_name", elicit("What is your name?", "name")}});
            });
}

void register_input_required(ToolRegistry& tools) {
  tools.add(tool("test_input_required_result_elicitation", "Asks for the user's name, then greets"),
            [](const Json&, ToolContext& context) {
              if (const Json* answer = response(context, "user_name")) {
                return text("Hello, " + elicited(*answer, "name") + "!");
              }
              return input_required({{"user_name", elicit("What is your name?", "name")}});
            });
  tools.add(tool("test_input_required_result_sampling", "Asks the client's LLM a question"),
            [](const Json&, ToolContext& context) {
              if (const Json* answer = response(context, "capital_question")) {
                std::string said = "No response";
                if (answer->contains("content") && (*answer)["content"].is_object()) {
                  said = (*answer)["content"].value("text", said);
                }
                return text("LLM response: " + said);
              }
              return input_required({{"capital_question", sample("What is the capital of France?", 100)}});
            });
  tools.add(tool("test_input_required_result_list_roots", "Asks for the client's roots"),
            [](const Json&, ToolContext& context) {
              if (const Json* answer = response(context, "client_roots")) {
                std::string uris;
                if (answer->contains("roots") && (*answer)["roots"].is_array()) {
                  for (const auto& root : (*answer)["roots"]) {
                    if (root.is_object() && root.contains("uri") && root["uri"].is_string()) {
                      uris += (uris.empty() ? "" : ", ") + root["uri"].get<std::string>();
                    }
                  }
                }
                return text("Client roots: " + (uris.empty() ? std::string("none") : uris));
              }
              return input_required({{"client_roots", list_roots()}});
            });
  tools.add(
      tool("test_input_required_result_request_state", "Round-trips a request state"),
      [](const Json&, ToolContext& context) {
        if (response(context, "confirm")) {
          if (tokens().meaning(context.request_state) != "request_state:1") return bad_state();
          return text("state-ok: the request state came back intact");
        }
        return input_required({{"confirm", elicit("Please confirm", "ok", "boolean")}}, "request_state:1");
      });
  tools.add(tool("test_input_required_result_multiple_inputs", "Asks for three inputs at once"),
            [](const Json&, ToolContext& context) {
              if (response(context, "user_name") && response(context, "greeting") &&
                  response(context, "client_roots")) {
                if (tokens().meaning(context.request_state) != "multiple_inputs:1") return bad_state();
                return text("Received all inputs for " + elicited(*response(context, "user_name"), "name"));
              }
              return input_required({{"user_name", elicit("What is your name?", "name")},
                                     {"greeting", sample("Generate a greeting", 50)},
                                     {"client_roots", list_roots()}},
                                    "multiple_inputs:1");
            });
  tools.add(
      tool("test_input_required_result_multi_round", "Asks twice, one question per round"),
      [](const Json&, ToolContext& context) {
        auto round = tokens().meaning(context.request_state);
        if (round == "multi_round:2" && response(context, "step2")) {
          return text("Completed both rounds: color " + elicited(*response(context, "step2"), "color"));
        }
        if (round == "multi_round:1" && response(context, "step1")) {
          return input_required({{"step2", elicit("Step 2: What is your favorite color?", "color")}},
                                "multi_round:2");
        }
        if (!context.request_state.is_null() && !round) return bad_state();
        return input_required({{"step1", elicit("Step 1: What is your name?", "name")}}, "multi_round:1");
      });
  tools.add(tool("test_input_required_result_capabilities", "Asks only through what the client declared"),
            [](const Json&, ToolContext& context) {
              if (context.input_responses.is_object()) return text("Received the inputs");
              const Json& declared = context.client_capabilities;
              Json requests = Json::object();
              if (declared.contains("elicitation"))
                requests["user_name"] = elicit("What is your name?", "name");
              if (declared.contains("sampling")) requests["greeting"] = sample("Generate a greeting", 50);
              if (declared.contains("roots")) requests["client_roots"] = list_roots();
              if (requests.empty()) return text("The client declared nothing to ask through");
              return input_required(std::move(requests));
            });
  tools.add(
      tool("test_input_required_result_tampered_state", "Rejects a request state it did not issue"),
      [](const Json&, ToolContext& context) {
        if (!context.request_state.is_null() || context.input_responses.is_object()) {
          if (tokens().meaning(context.request_state) != "tampered_state:1") return bad_state();
          return text("The request state is intact");
        }
        return input_required({{"confirm", elicit("Please confirm", "ok", "boolean")}}, "tampered_state:1");
      });
}

}  // namespace

void register_stateless_tools(ToolRegistry& tools) {
  register_diagnostics(tools);
  register_input_required(tools);
}

Json stateless_prompts() {
  return Json::array({{{"name", "test_input_required_result_prompt"},
                       {"description", "A prompt that first asks the user for its context"}}});
}

std::optional<RpcResult> get_stateless_prompt(const Json& params) {
  if (!params.is_object() || params.value("name", "") != "test_input_required_result_prompt")
    return std::nullopt;
  const Json responses = params.value("inputResponses", Json());
  if (responses.is_object() && responses.contains("user_context") && responses["user_context"].is_object()) {
    return Json{
        {"messages",
         Json::array(
             {{{"role", "user"},
               {"content",
                {{"type", "text"},
                 {"text", "Use this context: " + elicited(responses["user_context"], "context")}}}}})}};
  }
  return Json{
      {"resultType", "input_required"},
      {"inputRequests", {{"user_context", elicit("What context should the prompt use?", "context")}}}};
}

}  // namespace memtrace::conformance
