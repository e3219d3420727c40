// More hostile inputs, data-driven: each with the answer it must get (a JSON-RPC error code and id, a
// tool result with isError and the sentence it carries, a plain result, or nothing for a notification),
// and the server answering a ping after every one. The reproductions of crashes found so far come first
// (deep nesting, a 30,000-digit ttl or lease, a float limit). Run over stdio, and over Streamable HTTP
// for every case that means the same there.
#include <gtest/gtest.h>

#include "support/e2e_store.h"
#include "support/http_client.h"
#include "support/mcp_client.h"

namespace memtrace::testing {
namespace {

using nlohmann::json;

// What must come back.
enum Expect : int {
  kNoReply = 0,    // a notification or a response: nothing at all
  kResult = 1,     // a result without an error
  kToolError = 2,  // a tools/call result with isError: true
  // anything else: a JSON-RPC error with that code
};

struct Case {
  std::string name;
  std::string line;
  int expect;
  json id = nullptr;      // for errors: the id echoed (null: no id in the error)
  std::string says = {};  // a substring the error message or the tool error's text must contain
  bool over_http = true;  // run over HTTP as well (false where HTTP answers differently by design)
};

std::string nested_objects(std::size_t levels) {
  std::string text;
  for (std::size_t i = 0; i < levels; ++i) text += R"({"a":)";
  return text + "1" + std::string(levels, '}');
}

std::string request(const json& id, const std::string& method, const std::string& params_text) {
  return R"({"jsonrpc":"2.0","id":)" + id.dump() + R"(,"method":")" + method + R"(","params":)" +
         params_text + "}";
}

std::string call(const json& id, const std::string& tool, const json& arguments) {
  return json({{"jsonrpc", "2.0"},
               {"id", id},
               {"method", "tools/call"},
               {"params", {{"name", tool}, {"arguments", arguments}}}})
      .dump();
}

std::vector<Case> corpus() {
  const json none = nullptr;
  std::vector<Case> c;
  // ---- the reproductions -------------------------------------------------------------------------
  c.push_back({"60000 nested objects in params", request(1, "ping", nested_objects(60000)), -32600, 1,
               "nesting deeper than 64 levels"});
  c.push_back({"200000 nested arrays", std::string(200000, '[') + std::string(200000, ']'), -32600, none,
               "nesting deeper than 64 levels"});
  c.push_back({"65 levels in tool arguments",
               request("deep", "tools/call",
                       R"({"name":"memtrace_remember","arguments":{"content":"x","metadata":)" +
                           nested_objects(62) + "}}"),
               -32600, "deep", "nesting deeper than 64 levels"});
  c.push_back({"64 levels are fine", request(2, "ping", nested_objects(63)), kResult});
  c.push_back({"deep nesting hidden after the id",
               R"({"jsonrpc":"2.0","method":"ping","params":)" + nested_objects(5000) + R"(,"id":"after"})",
               -32600, "after", "nesting"});
  c.push_back({"deep nesting inside a string is just text",
               call(3, "memtrace_remember", {{"content", std::string(10000, '[') + std::string(10000, '{')}}),
               kResult});
  c.push_back({"30000-digit ttl",
               call(4, "memtrace_remember", {{"content", "x"}, {"ttl", std::string(30000, '1') + "d"}}),
               kToolError, none, "ttl must be at most 32 characters long, got 30001"});
  c.push_back({"30000-digit lease",
               call(5, "memtrace_claim_task", {{"task_id", "t1"}, {"lease", std::string(30000, '1') + "m"}}),
               kToolError, none, "lease must be at most 32 characters long, got 30001"});
  c.push_back({"float limit", call(6, "memtrace_recall", {{"limit", 200.0}}), kToolError, none,
               "limit must be an integer, got 200.0"});
  c.push_back({"1 MB tag",
               call(7, "memtrace_remember", {{"content", "x"}, {"tags", {std::string(1 << 20, 'a')}}}),
               kToolError, none, "tags[0] must be at most 64 characters long"});
  c.push_back({"1 MB task id", call(8, "memtrace_release_task", {{"task_id", std::string(1 << 20, 'a')}}),
               kToolError, none, "task_id must be at most 59 characters long"});
  c.push_back({"1 MB cursor", call(9, "memtrace_recall", {{"cursor", std::string(1 << 20, 'a')}}), kToolError,
               none, "cursor must be at most 128 characters long"});
  c.push_back({"1 MB since", call(10, "memtrace_search", {{"since", std::string(1 << 20, '1')}}), kToolError,
               none, "since must be at most 64 characters long"});

  // ---- not JSON: -32700, no id ---------------------------------------------------------------------
  for (const char* text : {"{",
                           "}",
                           "[",
                           "]",
                           "{\"jsonrpc\"",
                           "{\"jsonrpc\":}",
                           "{\"a\" 1}",
                           "{\"a\":1,,\"b\":2}",
                           "{,}",
                           "[1,]",
                           "[,1]",
                           "tru",
                           "nul",
                           "fals",
                           "1e",
                           "-",
                           "01",
                           "+1",
                           "0x10",
                           ".5",
                           "NaN",
                           "Infinity",
                           "-Infinity",
                           "{\"id\":1,\"method\":\"ping\"} x",
                           "{\"id\":1}{\"id\":2}",
                           "\"unterminated",
                           "{\"s\":\"\\x41\"}",
                           "{\"s\":\"\\u12\"}",
                           "{\"s\":\"\\udc00\"}",
                           "{\"s\":\"\\ud800\\u0041\"}",
                           "{\"s\":\"tab\there\"}",
                           "// comment",
                           "/* c */ {}",
                           "{\"a\":1 /* c */}",
                           "{a:1}",
                           "{\"a\":undefined}",
                           "\xc0\xaf",
                           "\xed\xa0\x80",
                           "\xf5\x80\x80\x80",
                           "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"\x01}",
                           "[[[[[[[[[[",
                           "]]]]]",
                           "{\"a\":[}",
                           "{\"a\":{]}",
                           "'single'",
                           "`backtick`",
                           "<xml/>",
                           "ping"}) {
    c.push_back({std::string("not json: ") + text, text, -32700, none, "Parse error"});
  }
  c.push_back({"a megabyte of garbage", std::string(1 << 20, '#'), -32700, none, "Parse error"});

  // ---- JSON but not a JSON-RPC message: -32600 ----------------------------------------------------
  struct Bad {
    const char* name;
    const char* line;
    json id;
  } bad[] = {
      {"true", "true", none},
      {"false", "false", none},
      {"negative number", "-3", none},
      {"float", "1.5", none},
      {"empty string", "\"\"", none},
      {"jsonrpc as a number", R"({"jsonrpc":2.0,"id":20,"method":"ping"})", 20},
      {"jsonrpc 2.00", R"({"jsonrpc":"2.00","id":21,"method":"ping"})", 21},
      {"jsonrpc 2", R"({"jsonrpc":"2","id":22,"method":"ping"})", 22},
      {"jsonrpc null", R"({"jsonrpc":null,"id":23,"method":"ping"})", 23},
      {"jsonrpc object", R"({"jsonrpc":{},"id":24,"method":"ping"})", 24},
      {"method null", R"({"jsonrpc":"2.0","id":25,"method":null})", 25},
      {"method array", R"({"jsonrpc":"2.0","id":26,"method":["ping"]})", 26},
      {"method object", R"({"jsonrpc":"2.0","id":27,"method":{"name":"ping"}})", 27},
      {"method boolean", R"({"jsonrpc":"2.0","id":28,"method":true})", 28},
      {"params number", R"({"jsonrpc":"2.0","id":29,"method":"ping","params":1})", 29},
      {"params true", R"({"jsonrpc":"2.0","id":30,"method":"ping","params":true})", 30},
      {"params null", R"({"jsonrpc":"2.0","id":31,"method":"ping","params":null})", 31},
      {"id and nothing else", R"({"jsonrpc":"2.0","id":32})", 32},
      {"missing method with a string id", R"({"jsonrpc":"2.0","id":"m"})", "m"},
      {"id array", R"({"jsonrpc":"2.0","id":[1],"method":"ping"})", none},
      {"id nested deep", R"({"jsonrpc":"2.0","id":[[[[[[1]]]]]],"method":"ping"})", none},
      {"id 1e20", R"({"jsonrpc":"2.0","id":1e20,"method":"ping"})", none},
      {"id -0.5", R"({"jsonrpc":"2.0","id":-0.5,"method":"ping"})", none},
      {"id false", R"({"jsonrpc":"2.0","id":false,"method":"ping"})", none},
      {"id beyond int64", R"({"jsonrpc":"2.0","id":18446744073709551615,"method":"ping"})", none},
      {"batch of one", R"([{"jsonrpc":"2.0","id":33,"method":"ping"}])", none},
      {"batch of numbers", "[1,2,3]", none},
      {"batch of empty objects", "[{},{}]", none},
      {"batch of notifications", R"([{"jsonrpc":"2.0","method":"notifications/x"}])", none},
      {"nested empty arrays", "[[]]", none},
      {"byte order mark before an empty object", "\xef\xbb\xbf{}", none},
  };
  for (const auto& b : bad) c.push_back({std::string("invalid request: ") + b.name, b.line, -32600, b.id});

  // ---- unknown methods: -32601 with the id ----------------------------------------------------------
  int id = 100;
  for (std::string method :
       {"", " ping", "ping ", "PING", "Ping", "tools/CALL", "tools/call/", "/tools/list", "rpc.discover",
        "resources/delete", "prompts/run", "sampling/createMessage", "elicitation/create", "roots/list",
        "ping\\u0000", "\\u00e9t\\u00e9", "memtrace_remember", "../../etc/passwd", "%70ing"}) {
    c.push_back({"unknown method \"" + method + "\"",
                 R"({"jsonrpc":"2.0","id":)" + std::to_string(++id) + R"(,"method":")" + method + "\"}",
                 -32601, id});
  }
  c.push_back({"10 KB method name",
               R"({"jsonrpc":"2.0","id":"long","method":")" + std::string(10000, 'm') + "\"}", -32601,
               "long"});

  // ---- invalid params: -32602 with the id -----------------------------------------------------------
  struct Params {
    const char* name;
    std::string method;
    std::string params;
  } params[] = {
      {"tool name empty", "tools/call", R"({"name":""})"},
      {"tool name null", "tools/call", R"({"name":null})"},
      {"tool name array", "tools/call", R"({"name":["memtrace_recall"]})"},
      {"tool name object", "tools/call", R"({"name":{}})"},
      {"tool name 1 MB", "tools/call", R"({"name":")" + std::string(1 << 20, 'n') + "\"}"},
      {"tool name with a nul", "tools/call", R"({"name":"memtrace_recall\u0000"})"},
      {"arguments a string", "tools/call", R"({"name":"memtrace_recall","arguments":"limit=1"})"},
      {"arguments a number", "tools/call", R"({"name":"memtrace_recall","arguments":5})"},
      {"arguments true", "tools/call", R"({"name":"memtrace_recall","arguments":true})"},
      {"tools/call params an array", "tools/call", R"(["memtrace_recall"])"},
      {"log level empty", "logging/setLevel", R"({"level":""})"},
      {"log level null", "logging/setLevel", R"({"level":null})"},
      {"log level upper case", "logging/setLevel", R"({"level":"DEBUG"})"},
      {"log level missing", "logging/setLevel", R"({})"},
      {"prompt unknown", "prompts/get", R"({"name":"no_such_prompt"})"},
      {"prompt name missing", "prompts/get", R"({})"},
      {"prompt name a number", "prompts/get", R"({"name":5})"},
      {"tools/list cursor a number", "tools/list", R"({"cursor":5})"},
      {"resources/read uri missing", "resources/read", R"({})"},
      {"resources/read uri a number", "resources/read", R"({"uri":5})"},
  };
  for (const auto& p : params) {
    ++id;
    c.push_back({std::string("invalid params: ") + p.name, request(id, p.method, p.params), -32602, id});
  }

  // ---- tool arguments that break the schema or a domain rule: isError with a sentence ---------------
  struct Tool {
    const char* name;
    const char* tool;
    json arguments;
    const char* says;
  } tools[] = {
      {"content missing", "memtrace_remember", json::object(), "content is required"},
      {"content empty", "memtrace_remember", {{"content", ""}}, "content must not be empty"},
      {"content a number", "memtrace_remember", {{"content", 5}}, "content must be a string, got an integer"},
      {"content an object",
       "memtrace_remember",
       {{"content", {{"a", 1}}}},
       "content must be a string, got an object"},
      {"content null", "memtrace_remember", {{"content", nullptr}}, "content must be a string, got null"},
      {"content over 64 KiB", "memtrace_remember", {{"content", std::string(70000, 'c')}}, "65536"},
      {"importance 5", "memtrace_remember", {{"content", "x"}, {"importance", 5}}, "between 0 and 1, got 5"},
      {"importance -0.1", "memtrace_remember", {{"content", "x"}, {"importance", -0.1}}, "between 0 and 1"},
      {"importance a string",
       "memtrace_remember",
       {{"content", "x"}, {"importance", "high"}},
       "importance must be a number, got a string"},
      {"type unknown", "memtrace_remember", {{"content", "x"}, {"type", "decision"}}, "type must be one of"},
      {"tags an object",
       "memtrace_remember",
       {{"content", "x"}, {"tags", {{"a", 1}}}},
       "tags must be an array"},
      {"tag with a space",
       "memtrace_remember",
       {{"content", "x"}, {"tags", {"a b"}}},
       "tags[0] has the wrong form"},
      {"tag empty", "memtrace_remember", {{"content", "x"}, {"tags", {""}}}, "tags[0] has the wrong form"},
      {"33 tags",
       "memtrace_remember",
       {{"content", "x"}, {"tags", json(std::vector<std::string>(33, "t"))}},
       "at most 32 items"},
      {"session id 129 chars",
       "memtrace_remember",
       {{"content", "x"}, {"session_id", std::string(129, 's')}},
       "session_id must be at most 128 characters long"},
      {"metadata a string",
       "memtrace_remember",
       {{"content", "x"}, {"metadata", "k=v"}},
       "metadata must be an object"},
      {"ttl with a bad unit",
       "memtrace_remember",
       {{"content", "x"}, {"ttl", "7y"}},
       "ttl has the wrong form"},
      {"ttl empty", "memtrace_remember", {{"content", "x"}, {"ttl", ""}}, "ttl has the wrong form"},
      {"ttl a number", "memtrace_remember", {{"content", "x"}, {"ttl", 7}}, "ttl must be a string"},
      {"unknown argument",
       "memtrace_remember",
       {{"content", "x"}, {"agent", "me"}},
       "unknown argument \"agent\""},
      {"recall since yesterday", "memtrace_recall", {{"since", "yesterday"}}, "since"},
      {"recall limit -1", "memtrace_recall", {{"limit", -1}}, "limit"},
      {"recall limit 100000", "memtrace_recall", {{"limit", 100000}}, "limit"},
      {"recall limit a string",
       "memtrace_recall",
       {{"limit", "10"}},
       "limit must be an integer, got a string"},
      {"recall limit 1.5", "memtrace_recall", {{"limit", 1.5}}, "limit must be an integer, got 1.5"},
      {"recall types unknown", "memtrace_recall", {{"types", {"bogus"}}}, "types[0] must be one of"},
      {"recall cursor not ours", "memtrace_recall", {{"cursor", "zz"}}, "cursor"},
      {"search min importance 2", "memtrace_search", {{"min_importance", 2}}, "min_importance"},
      {"search content_contains 2000 chars",
       "memtrace_search",
       {{"content_contains", std::string(2000, 'q')}},
       "content_contains must be at most 1024 characters long"},
      {"search until garbage", "memtrace_search", {{"until", "next tuesday"}}, "until"},
      {"forget id short", "memtrace_forget", {{"id", "x"}}, "id has the wrong form"},
      {"forget id 27 chars",
       "memtrace_forget",
       {{"id", std::string(27, 'A')}},
       "id must be at most 26 characters long"},
      {"forget id missing", "memtrace_forget", json::object(), "id is required"},
      {"decide without reasoning", "memtrace_decide", {{"decision", "go"}}, "reasoning is required"},
      {"decide reasoning blank", "memtrace_decide", {{"decision", "go"}, {"reasoning", "   "}}, "reasoning"},
      {"claim lease 25h", "memtrace_claim_task", {{"task_id", "t2"}, {"lease", "25h"}}, "lease"},
      {"claim lease 5y",
       "memtrace_claim_task",
       {{"task_id", "t2"}, {"lease", "5y"}},
       "lease has the wrong form"},
      {"claim task id with a space",
       "memtrace_claim_task",
       {{"task_id", "a b"}},
       "task_id has the wrong form"},
      {"claim task id missing", "memtrace_claim_task", json::object(), "task_id is required"},
      {"share result missing", "memtrace_share_result", {{"task_id", "t3"}}, "result is required"},
      {"session metadata value an array",
       "memtrace_session_create",
       {{"metadata", {{"k", json::array()}}}},
       "metadata.k must be a string or a number or a boolean, got an array"},
      {"session metadata key 200 chars",
       "memtrace_session_create",
       {{"metadata", {{std::string(200, 'k'), "v"}}}},
       "a key of metadata must be at most 128 characters long"},
      {"session metadata 33 keys", "memtrace_session_create",
       [] {
         json m = json::object();
         for (int i = 0; i < 33; ++i) m["k" + std::to_string(i)] = "v";
         return json{{"metadata", m}};
       }(),
       "metadata may hold at most 32 keys"},
      {"session search status unknown",
       "memtrace_session_search",
       {{"status", "open"}},
       "status must be one of"},
      {"agent register name 129 chars",
       "memtrace_agent_register",
       {{"name", std::string(129, 'a')}},
       "name must be at most 128 characters long"},
  };
  for (const auto& t : tools) {
    ++id;
    c.push_back(
        {std::string("tool error: ") + t.name, call(id, t.tool, t.arguments), kToolError, id, t.says});
  }

  // ---- notifications and responses: never answered --------------------------------------------------
  for (
      const char* line :
      {R"({"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":{"a":1}}})",
       R"({"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":null}})",
       R"({"jsonrpc":"2.0","method":"notifications/cancelled","params":{}})",
       R"({"jsonrpc":"2.0","method":"notifications/cancelled"})",
       R"({"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":1,"progress":"x"}})",
       R"({"jsonrpc":"2.0","method":"notifications/initialized"})",
       R"({"jsonrpc":"2.0","method":"notifications/roots/list_changed","params":[]})",
       R"({"jsonrpc":"2.0","method":""})", R"({"jsonrpc":"2.0","method":"ping"})",
       R"({"jsonrpc":"2.0","method":"tools/call","params":{"name":"memtrace_forget","arguments":{"id":"x"}}})",
       R"({"jsonrpc":"2.0","id":"s999","result":{"unexpected":true}})",
       R"({"jsonrpc":"2.0","id":"s998","error":{"code":-1,"message":"no"}})",
       R"({"jsonrpc":"2.0","id":"s997","error":"not an object"})"}) {
    c.push_back({std::string("no reply: ") + line, line, kNoReply});
  }
  return c;
}

// The text of a tools/call result (its first content block), or its error message.
std::string said(const json& reply) {
  if (reply.contains("error")) return reply["error"].value("message", "");
  const json& content = reply["result"]["content"];
  return content.empty() ? std::string() : content[0].value("text", "");
}

void check(const Case& c, const json& reply) {
  switch (c.expect) {
    case kResult:
      EXPECT_TRUE(reply.contains("result") && !reply["result"].value("isError", false)) << reply.dump();
      return;
    case kToolError:
      ASSERT_TRUE(reply.contains("result")) << reply.dump().substr(0, 300);
      EXPECT_TRUE(reply["result"].value("isError", false)) << reply.dump().substr(0, 300);
      break;
    default:
      ASSERT_TRUE(reply.contains("error")) << reply.dump().substr(0, 300);
      EXPECT_EQ(reply["error"]["code"], c.expect) << reply.dump().substr(0, 300);
      if (c.id.is_null()) {
        EXPECT_FALSE(reply.contains("id")) << reply.dump().substr(0, 300);
      } else {
        EXPECT_EQ(reply["id"], c.id);
      }
  }
  EXPECT_NE(said(reply).find(c.says), std::string::npos)
      << "expected \"" << c.says << "\" in: " << said(reply);
}

TEST(StdioHostileCorpus, EveryInputGetsItsAnswerAndTheServerStaysUp) {
  E2eStore e2e;
  auto cases = corpus();
  ASSERT_GE(cases.size(), 180u);
  McpClient client(e2e.single_args({"--workers", "2"}));
  client.initialize("2025-11-25");
  long long probe = 1000000;
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    client.process().write_line(c.line);
    client.process().write_line(json{{"jsonrpc", "2.0"}, {"id", ++probe}, {"method", "ping"}}.dump());
    // Replies to tool calls come from workers: collect until the ping's answer, then judge.
    std::vector<json> replies;
    for (;;) {
      auto reply = client.next_response(std::chrono::seconds(20));
      ASSERT_TRUE(reply) << "no answer; is the server still up?";
      if (reply->value("id", json()) == probe) break;
      replies.push_back(*reply);
    }
    if (c.expect != kNoReply && replies.empty()) {
      // A tool call may be answered after the ping (it runs on a worker): wait for it.
      auto reply = client.next_response(std::chrono::seconds(20));
      ASSERT_TRUE(reply) << "no answer to the input";
      replies.push_back(*reply);
    }
    if (c.expect == kNoReply) {
      EXPECT_TRUE(replies.empty()) << replies.front().dump().substr(0, 300);
      continue;
    }
    ASSERT_EQ(replies.size(), 1u);
    check(c, replies.front());
  }
  EXPECT_FALSE(client.call_tool("memtrace_remember", {{"content", "survived"}}).value("isError", false));
}

TEST(HttpHostileCorpus, EveryInputGetsItsAnswerAndTheServerStaysUp) {
  HttpServerProcess server({"--workers", "2"});
  McpHttpSession session(server.port());
  ASSERT_EQ(session.initialize().status, 200);
  int posted = 0;
  for (const auto& c : corpus()) {
    if (!c.over_http) continue;
    SCOPED_TRACE(c.name);
    ++posted;
    HttpReply reply = session.client().request("POST", "/mcp", session.headers(), c.line);
    if (reply.status == 0) {
      ADD_FAILURE() << "no HTTP answer";
      break;
    }
    if (c.expect == kNoReply) {
      EXPECT_EQ(reply.status, 202) << reply.body.substr(0, 300);
    } else {
      // A message that is not valid JSON-RPC is refused as a bad request (400); the rest is answered (200),
      // as JSON or as an event stream whose last event is the answer.
      bool invalid_message = c.expect == -32700 || c.expect == -32600;
      EXPECT_EQ(reply.status, invalid_message ? 400 : 200) << reply.body.substr(0, 300);
      std::string body = reply.body;
      if (reply.header("content-type").rfind("text/event-stream", 0) == 0) {
        auto last = body.rfind("data: ");
        ASSERT_NE(last, std::string::npos) << body;
        body = body.substr(last + 6, body.find('\n', last) - last - 6);
      }
      auto parsed = json::parse(body, nullptr, false);
      ASSERT_FALSE(parsed.is_discarded()) << body.substr(0, 300);
      check(c, parsed);
    }
    ASSERT_TRUE(session.call("ping").contains("result")) << "the server stopped answering";
  }
  EXPECT_GE(posted, 150);
  EXPECT_FALSE(session.call_tool("memtrace_remember", {{"content", "survived"}}).value("isError", false));
}

}  // namespace
}  // namespace memtrace::testing
