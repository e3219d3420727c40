// Conformance fixtures, named and shaped as the suite's scenarios require (conformance 0.1.16 and
// 0.2.0-alpha.12, requirement set 2025-11-25; the 2026-07-28 set's are in stateless_fixtures.cpp). The image and audio are tiny files made for this purpose:
// a 1×1 red PNG and four samples of 8 kHz silence as WAV.
#include "conformance/fixtures.h"

#include "conformance/fixture_support.h"
#include "conformance/stateless_fixtures.h"

#include <chrono>
#include <functional>
#include <optional>
#include <thread>

namespace memtrace::conformance {

using namespace memtrace::mcp;  // NOLINT(google-build-using-namespace): the fixtures are written against mcp
using support::tool;

namespace {

constexpr const char* kPngBase64 =
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC";
constexpr const char* kWavBase64 = "UklGRiwAAABXQVZFZm10IBAAAAABAAEAQB8AAIA+AAACABAAZGF0YQgAAAAAAAAAAAAAAA==";

ToolResult content(Json blocks) {
  ToolResult result;
  result.content = std::move(blocks);
  return result;
}

Json text_block(const std::string& text) {
  return {{"type", "text"}, {"text", text}};
}

void pause() {
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
}

void register_tools(ToolRegistry& tools) {
  tools.add(tool("test_simple_text", "Returns a simple text response"), [](const Json&, ToolContext&) {
    return content(Json::array({text_block("This is a simple text response for testing.")}));
  });
  tools.add(tool("test_image_content", "Returns an image (a 1x1 PNG)"), [](const Json&, ToolContext&) {
    return content(Json::array({{{"type", "image"}, {"data", kPngBase64}, {"mimeType", "image/png"}}}));
  });
  tools.add(tool("test_audio_content", "Returns audio (a short WAV)"), [](const Json&, ToolContext&) {
    return content(Json::array({{{"type", "audio"}, {"data", kWavBase64}, {"mimeType", "audio/wav"}}}));
  });
  tools.add(tool("test_embedded_resource", "Returns an embedded text resource"),
            [](const Json&, ToolContext&) {
              return content(Json::array({{{"type", "resource"},
                                           {"resource",
                                            {{"uri", "test://embedded-resource"},
                                             {"mimeType", "text/plain"},
                                             {"text", "This is an embedded resource content."}}}}}));
            });
  tools.add(tool("test_multiple_content_types", "Returns text, an image and a resource"), [](const Json&,
                                                                                             ToolContext&) {
    return content(Json::array({text_block("Multiple content types test:"),
                                {{"type", "image"}, {"data", kPngBase64}, {"mimeType", "image/png"}},
                                {{"type", "resource"},
                                 {"resource",
                                  {{"uri", "test://mixed-content-resource"},
                                   {"mimeType", "application/json"},
                                   {"text", R"({"test":"data","value":123})"}}}}}));
  });
  tools.add(tool("test_tool_with_logging", "Sends three info log messages while it runs"),
            [](const Json&, ToolContext& context) {
              context.log(LogLevel::kInfo, "Tool execution started");
              pause();
              context.log(LogLevel::kInfo, "Tool processing data");
              pause();
              context.log(LogLevel::kInfo, "Tool execution completed");
              return content(Json::array({text_block("Tool with logging executed successfully")}));
            });
  tools.add(tool("test_tool_with_progress", "Reports progress 0, 50 and 100 of 100 while it runs"),
            [](const Json&, ToolContext& context) {
              context.progress(0, 100, "Completed step 0 of 100");
              pause();
              context.progress(50, 100, "Completed step 50 of 100");
              pause();
              context.progress(100, 100, "Completed step 100 of 100");
              return content(Json::array({text_block("Tool with progress executed successfully")}));
            });
  tools.add(tool("test_error_handling", "Always fails"), [](const Json&, ToolContext&) {
    return ToolResult::error("This tool intentionally returns an error for testing");
  });
  tools.add(tool("test_reconnection", "Closes its SSE stream mid-call; the result follows on resumption"),
            [](const Json&, ToolContext& context) {
              context.close_stream();  // the client reconnects with Last-Event-ID and gets the result
              pause();
              pause();
              return content(Json::array({text_block(
                  "Reconnection test completed successfully. If you received this, the client properly "
                  "reconnected after stream closure.")}));
            });
  // SEP-1613 / SEP-2106: the schema is served exactly as written.
  Json schema = Json::parse(R"({
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "$defs": {
      "address": {
        "$anchor": "addressDef",
        "type": "object",
        "properties": {"street": {"type": "string"}, "city": {"type": "string"}}
      }
    },
    "properties": {
      "name": {"type": "string"},
      "address": {"$ref": "#/$defs/address"},
      "contactMethod": {"type": "string", "enum": ["phone", "email"]},
      "phone": {"type": "string"},
      "email": {"type": "string"}
    },
    "allOf": [{"anyOf": [{"required": ["phone"]}, {"required": ["email"]}]}],
    "if": {"properties": {"contactMethod": {"const": "phone"}}, "required": ["contactMethod"]},
    "then": {"required": ["phone"]},
    "else": {"required": ["email"]},
    "additionalProperties": false
  })");
  tools.add(tool("json_schema_2020_12_tool", "Tool with JSON Schema 2020-12 features", std::move(schema)),
            [](const Json& arguments, ToolContext&) {
              return content(Json::array({text_block("Received: " + arguments.dump())}));
            });
}

// ---- tools that ask the client (sampling, elicitation) ----------------------------------------------

constexpr std::chrono::seconds kClientTimeout{30};

ToolResult ask_client(ToolContext& context, const char* method, const Json& params,
                      const std::function<std::string(const Json&)>& describe) {
  auto answer = context.request(method, params, kClientTimeout);
  if (!answer) return ToolResult::error(std::string(method) + " failed: " + answer.error().message);
  return content(Json::array({text_block(describe(*answer))}));
}

std::string elicitation_text(const char* prefix, const Json& answer) {
  return std::string(prefix) + "action=" + answer.value("action", std::string("unknown")) +
         ", content=" + answer.value("content", Json::object()).dump();
}

Json string_schema(const char* description) {
  return {{"type", "string"}, {"description", description}};
}

void register_client_request_tools(ToolRegistry& tools) {
  tools.add(tool("test_sampling", "Asks the client's LLM (sampling/createMessage)",
                 {{"type", "object"},
                  {"properties", {{"prompt", string_schema("The prompt to send to the LLM")}}},
                  {"required", {"prompt"}}}),
            [](const Json& arguments, ToolContext& context) {
              Json params = {
                  {"messages",
                   Json::array(
                       {{{"role", "user"}, {"content", {{"type", "text"}, {"text", arguments["prompt"]}}}}})},
                  {"maxTokens", 100}};
              return ask_client(context, "sampling/createMessage", params, [](const Json& answer) {
                std::string text = "No response";
                if (answer.contains("content") && answer["content"].is_object()) {
                  text = answer["content"].value("text", text);
                }
                return "LLM response: " + text;
              });
            });
  tools.add(tool("test_elicitation", "Asks the user for input (elicitation/create)",
                 {{"type", "object"},
                  {"properties", {{"message", string_schema("The message to show the user")}}},
                  {"required", {"message"}}}),
            [](const Json& arguments, ToolContext& context) {
              Json params = {{"message", arguments["message"]},
                             {"requestedSchema",
                              {{"type", "object"},
                               {"properties",
                                {{"username", string_schema("User's response")},
                                 {"email", string_schema("User's email address")}}},
                               {"required", {"username", "email"}}}}};
              return ask_client(context, "elicitation/create", params, [](const Json& answer) {
                return elicitation_text("User response: ", answer);
              });
            });
  tools.add(
      tool("test_elicitation_sep1034_defaults", "Elicitation whose fields have defaults (SEP-1034)"),
      [](const Json&, ToolContext& context) {
        Json properties = {
            {"name", {{"type", "string"}, {"description", "User name"}, {"default", "John Doe"}}},
            {"age", {{"type", "integer"}, {"description", "User age"}, {"default", 30}}},
            {"score", {{"type", "number"}, {"description", "User score"}, {"default", 95.5}}},
            {"status",
             {{"type", "string"},
              {"description", "User status"},
              {"enum", {"active", "inactive", "pending"}},
              {"default", "active"}}},
            {"verified", {{"type", "boolean"}, {"description", "Verification status"}, {"default", true}}}};
        Json params = {{"message", "Please review and update the form fields with defaults"},
                       {"requestedSchema",
                        {{"type", "object"}, {"properties", properties}, {"required", Json::array()}}}};
        return ask_client(context, "elicitation/create", params, [](const Json& answer) {
          return elicitation_text("Elicitation completed: ", answer);
        });
      });
  tools.add(
      tool("test_elicitation_sep1330_enums", "Elicitation with the five enum forms (SEP-1330)"),
      [](const Json&, ToolContext& context) {
        auto titled = [](const char* a, const char* ta, const char* b, const char* tb, const char* c,
                         const char* tc) {
          return Json::array(
              {{{"const", a}, {"title", ta}}, {{"const", b}, {"title", tb}}, {{"const", c}, {"title", tc}}});
        };
        Json properties = {
            {"untitledSingle", {{"type", "string"}, {"enum", {"option1", "option2", "option3"}}}},
            {"titledSingle",
             {{"type", "string"},
              {"oneOf",
               titled("value1", "First Option", "value2", "Second Option", "value3", "Third Option")}}},
            {"legacyEnum",
             {{"type", "string"},
              {"enum", {"opt1", "opt2", "opt3"}},
              {"enumNames", {"Option One", "Option Two", "Option Three"}}}},
            {"untitledMulti",
             {{"type", "array"},
              {"items", {{"type", "string"}, {"enum", {"option1", "option2", "option3"}}}}}},
            {"titledMulti",
             {{"type", "array"},
              {"items",
               {{"anyOf",
                 titled("value1", "First Choice", "value2", "Second Choice", "value3", "Third Choice")}}}}}};
        Json params = {{"message", "Please choose from the options"},
                       {"requestedSchema", {{"type", "object"}, {"properties", properties}}}};
        return ask_client(context, "elicitation/create", params, [](const Json& answer) {
          return elicitation_text("Elicitation completed: ", answer);
        });
      });
}

// ---- resources, prompts, completion ------------------------------------------------------------------

constexpr const char* kTemplatePrefix = "test://template/";
constexpr const char* kTemplateSuffix = "/data";

RpcResult contents(const std::string& uri, const char* mime_type, const char* field,
                   const std::string& value) {
  return Json{{"contents", Json::array({{{"uri", uri}, {"mimeType", mime_type}, {field, value}}})}};
}

std::optional<RpcResult> read_fixture(const std::string& uri) {
  if (uri == "test://static-text") {
    return contents(uri, "text/plain", "text", "This is the content of the static text resource.");
  }
  if (uri == "test://static-binary") return contents(uri, "image/png", "blob", kPngBase64);
  if (uri == "test://watched-resource")
    return contents(uri, "text/plain", "text", "Watched resource content");
  std::string prefix = kTemplatePrefix, suffix = kTemplateSuffix;
  if (uri.size() > prefix.size() + suffix.size() && uri.rfind(prefix, 0) == 0 &&
      uri.compare(uri.size() - suffix.size(), suffix.size(), suffix) == 0) {
    std::string id = uri.substr(prefix.size(), uri.size() - prefix.size() - suffix.size());
    Json data = {{"id", id}, {"templateTest", true}, {"data", "Data for ID: " + id}};
    return contents(uri, "application/json", "text", data.dump());
  }
  return std::nullopt;
}

Json fixture_resources() {
  return Json::array({{{"uri", "test://static-text"},
                       {"name", "static-text"},
                       {"description", "A static text resource for testing"},
                       {"mimeType", "text/plain"}},
                      {{"uri", "test://static-binary"},
                       {"name", "static-binary"},
                       {"description", "A static binary resource (image) for testing"},
                       {"mimeType", "image/png"}},
                      {{"uri", "test://watched-resource"},
                       {"name", "watched-resource"},
                       {"description", "A resource that can be subscribed to"},
                       {"mimeType", "text/plain"}}});
}

Json fixture_templates() {
  return Json::array({{{"uriTemplate", "test://template/{id}/data"},
                       {"name", "template"},
                       {"description", "A resource template with an id parameter"},
                       {"mimeType", "application/json"}}});
}

Json fixture_prompts() {
  auto argument = [](const char* name, const char* description) {
    return Json{{"name", name}, {"description", description}, {"required", true}};
  };
  return Json::array(
      {{{"name", "test_simple_prompt"}, {"description", "A simple prompt without arguments"}},
       {{"name", "test_prompt_with_arguments"},
        {"description", "A prompt with two required arguments"},
        {"arguments", {argument("arg1", "First test argument"), argument("arg2", "Second test argument")}}},
       {{"name", "test_prompt_with_embedded_resource"},
        {"description", "A prompt embedding a resource"},
        {"arguments", {argument("resourceUri", "URI of the resource to embed")}}},
       {{"name", "test_prompt_with_image"}, {"description", "A prompt with an image"}}});
}

Json user_message(Json content) {
  return {{"role", "user"}, {"content", std::move(content)}};
}

std::optional<RpcResult> get_fixture_prompt(const Json& params) {
  if (!params.is_object() || !params.contains("name") || !params["name"].is_string()) return std::nullopt;
  const std::string name = params["name"];
  Json arguments = params.value("arguments", Json::object());
  auto argument = [&](const char* key) -> std::optional<std::string> {
    if (!arguments.is_object() || !arguments.contains(key) || !arguments[key].is_string())
      return std::nullopt;
    return arguments[key].get<std::string>();
  };
  auto missing = [&](const char* key) -> RpcResult {
    return tl::unexpected(jsonrpc::ErrorObject{
        jsonrpc::kInvalidParams, "Invalid params: prompt " + name + " needs argument " + key, nullptr});
  };
  if (name == "test_simple_prompt") {
    return Json{{"messages", {user_message(text_block("This is a simple prompt for testing."))}}};
  }
  if (name == "test_prompt_with_arguments") {
    auto arg1 = argument("arg1");
    auto arg2 = argument("arg2");
    if (!arg1) return missing("arg1");
    if (!arg2) return missing("arg2");
    return Json{
        {"messages",
         {user_message(text_block("Prompt with arguments: arg1='" + *arg1 + "', arg2='" + *arg2 + "'"))}}};
  }
  if (name == "test_prompt_with_embedded_resource") {
    auto uri = argument("resourceUri");
    if (!uri) return missing("resourceUri");
    Json resource = {
        {"type", "resource"},
        {"resource",
         {{"uri", *uri}, {"mimeType", "text/plain"}, {"text", "Embedded resource content for testing."}}}};
    return Json{
        {"messages",
         {user_message(resource), user_message(text_block("Please process the embedded resource above."))}}};
  }
  if (name == "test_prompt_with_image") {
    Json image = {{"type", "image"}, {"data", kPngBase64}, {"mimeType", "image/png"}};
    return Json{
        {"messages", {user_message(image), user_message(text_block("Please analyze the image above."))}}};
  }
  return std::nullopt;
}

std::optional<RpcResult> complete_fixture(const Json& params) {
  if (!params.is_object() || !params.contains("ref") || !params["ref"].is_object()) return std::nullopt;
  const Json& ref = params["ref"];
  bool ours = (ref.value("type", "") == "ref/prompt" && ref.value("name", "").rfind("test_", 0) == 0) ||
              (ref.value("type", "") == "ref/resource" && ref.value("uri", "").rfind("test://", 0) == 0);
  if (!ours) return std::nullopt;
  std::string prefix;
  if (params.contains("argument") && params["argument"].is_object())
    prefix = params["argument"].value("value", "");
  Json values = Json::array();
  if (ref.value("name", "") == "test_prompt_with_arguments") {
    for (const char* candidate : {"paris", "park", "party"}) {
      if (std::string(candidate).rfind(prefix, 0) == 0) values.push_back(candidate);
    }
  }
  return Json{{"completion", {{"values", values}, {"total", values.size()}, {"hasMore", false}}}};
}

void register_extensions(Extensions& extensions) {
  extensions.resources = fixture_resources;
  extensions.resource_templates = fixture_templates;
  extensions.read_resource = read_fixture;
  extensions.subscribable = [](const std::string& uri) { return uri.rfind("test://", 0) == 0; };
  extensions.prompts = [] {
    Json prompts = fixture_prompts();
    for (auto& prompt : stateless_prompts()) prompts.push_back(std::move(prompt));
    return prompts;
  };
  extensions.get_prompt = [](const Json& params) {
    if (auto answer = get_stateless_prompt(params)) return answer;
    return get_fixture_prompt(params);
  };
  extensions.complete = complete_fixture;
}

}  // namespace

void register_conformance_fixtures(Server& server) {
  register_tools(server.tools());
  register_client_request_tools(server.tools());
  register_stateless_tools(server.tools());
  register_extensions(server.extensions());
}

}  // namespace memtrace::conformance
