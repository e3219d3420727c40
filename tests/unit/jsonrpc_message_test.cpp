// Parsing and classification of JSON-RPC messages, and what goes back on the wire.
#include <chrono>
#include <cstdint>
#include <limits>
#include <random>
#include <string>

#include <gtest/gtest.h>

#include "jsonrpc/message.h"

namespace memtrace::jsonrpc {
namespace {

Message only(std::string_view text) {
  Parsed parsed = parse(text);
  EXPECT_FALSE(parsed.is_batch);
  EXPECT_EQ(parsed.messages.size(), 1u);
  return parsed.messages.front();
}

// Text of every kind a reply can carry: ASCII, each control character, quotes and backslashes, 2- to
// 4-byte characters, and ill-formed UTF-8 (stray continuation bytes, overlong forms, surrogates, cut
// sequences, bytes above U+10FFFF).
std::string random_text(std::mt19937& random) {
  static const std::vector<std::string> pieces = {"a",
                                                  "memory",
                                                  "a memory of eight plain words, longer than a block",
                                                  " ",
                                                  "\"",
                                                  "\\",
                                                  "/",
                                                  "\x7f",
                                                  "\xc2\xb7",
                                                  "\xc3\xa9",
                                                  "\xe2\x82\xac",
                                                  "\xf0\x9f\x98\x80",
                                                  "\xef\xbf\xbd",
                                                  "\x80",
                                                  "\xbf",
                                                  "\xc0\xaf",
                                                  "\xe0\x80\xaf",
                                                  "\xed\xa0\x80",
                                                  "\xf4\x90\x80\x80",
                                                  "\xe2\x82",
                                                  "\xf0\x9f",
                                                  "\xf8\x88\x80\x80\x80",
                                                  "\xff",
                                                  "\xc2"};
  std::string text;
  const int parts = std::uniform_int_distribution<int>(0, 12)(random);
  for (int i = 0; i < parts; ++i) {
    if (random() % 4 == 0) {
      text += static_cast<char>(random() % 0x20);  // a control character
    } else {
      text += pieces[random() % pieces.size()];
    }
  }
  return text;
}

Json random_value(std::mt19937& random, int depth) {
  switch (random() % (depth > 4 ? 6 : 8)) {
    case 0:
      return nullptr;
    case 1:
      return random() % 2 == 0;
    case 2:
      return static_cast<std::int64_t>(random()) - (std::int64_t{1} << 31);
    case 3: {
      static const std::vector<Json> edges = {std::numeric_limits<std::int64_t>::min(),
                                              std::numeric_limits<std::uint64_t>::max(),
                                              0,
                                              -0.0,
                                              0.1,
                                              0.5,
                                              1e300,
                                              2.5e-8,
                                              1.0 / 3,
                                              123456789.0};
      return edges[random() % edges.size()];
    }
    case 4:
      return std::uniform_real_distribution<double>(-1e6, 1e6)(random);
    case 5:
      return random_text(random);
    case 6: {
      Json array = Json::array();
      for (int i = random() % 5; i > 0; --i) array.push_back(random_value(random, depth + 1));
      return array;
    }
    default: {
      Json object = Json::object();
      for (int i = random() % 5; i > 0; --i) object[random_text(random)] = random_value(random, depth + 1);
      return object;
    }
  }
}

// dump() writes strings by copying what needs no escape; the bytes must be those nlohmann's serializer
// writes (with invalid UTF-8 replaced), which every client has parsed so far.
TEST(JsonRpcMessage, DumpWritesTheSameBytesAsNlohmannForAnyValue) {
  std::mt19937 random(20261201);
  for (int round = 0; round < 20000; ++round) {
    const Json value = random_value(random, 0);
    const std::string expected = value.dump(-1, ' ', false, Json::error_handler_t::replace);
    ASSERT_EQ(dump(value), expected) << "round " << round;
  }
  for (int c = 0; c < 0x20; ++c) {
    const Json value = std::string(1, static_cast<char>(c));
    EXPECT_EQ(dump(value), value.dump()) << c;
  }
}

// Long runs are scanned eight bytes at a time: a character to escape (or one that must stay as it is)
// at any offset of a block, in any block, comes out as nlohmann writes it.
TEST(JsonRpcMessage, DumpEscapesACharacterAtAnyOffsetOfALongString) {
  const std::vector<std::string> characters = {
      "\"", "\\",   "\n",       "\t",           std::string(1, '\0'), "\x01", "\x1f", " ", "!", "#", "[",
      "]",  "\x7f", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80"};
  for (const auto& character : characters) {
    for (std::size_t at = 0; at <= 40; ++at) {
      std::string text(40, 'a');
      text.insert(at, character);
      const Json value = text;
      ASSERT_EQ(dump(value), value.dump()) << "at " << at;
      const Json twice = text + character + text;
      ASSERT_EQ(dump(twice), twice.dump()) << "at " << at;
    }
  }
}

// The same value, written through JsonWriter's calls.
void write(JsonWriter& out, const Json& value) {
  switch (value.type()) {
    case Json::value_t::object:
      out.begin_object();
      for (auto it = value.begin(); it != value.end(); ++it) {
        out.key(it.key());
        write(out, it.value());
      }
      out.end_object();
      return;
    case Json::value_t::array:
      out.begin_array();
      for (const auto& item : value) write(out, item);
      out.end_array();
      return;
    case Json::value_t::string:
      out.value(value.get_ref<const std::string&>());
      return;
    case Json::value_t::boolean:
      out.value(value.get<bool>());
      return;
    case Json::value_t::number_integer:
      out.value(value.get<std::int64_t>());
      return;
    case Json::value_t::number_float:
      out.value(value.get<double>());
      return;
    case Json::value_t::null:
      out.null();
      return;
    default:
      out.json(value);
  }
}

// A page of memories is written by JsonWriter, not dumped from a DOM: what a client parses must be the
// same value, numbers included, and strings the same bytes.
TEST(JsonRpcMessage, JsonWriterWritesWhatDumpWritesForAnyValue) {
  std::mt19937 random(20261202);
  for (int round = 0; round < 20000; ++round) {
    const Json value = random_value(random, 0);
    std::string text;
    JsonWriter out(text);
    write(out, value);
    // Ill-formed UTF-8 is replaced in both, so the value to compare with is the one dump() sends.
    ASSERT_EQ(Json::parse(text), Json::parse(dump(value))) << "round " << round << ": " << text;
    if (!text.empty() && text.find_first_of(".e") == std::string::npos) {
      EXPECT_EQ(text, dump(value)) << "round " << round;  // no floating point: the very same bytes
    }
  }
}

TEST(JsonRpcMessage, JsonWriterWritesDoublesAsNlohmannDoes) {
  // Importances are hundredths between 0 and 1: the bytes are those clients have always seen.
  for (int hundredths = 0; hundredths <= 100; ++hundredths) {
    const double importance = hundredths / 100.0;
    std::string text;
    JsonWriter(text).value(importance);
    EXPECT_EQ(text, Json(importance).dump()) << importance;
  }
  for (double whole : {0.0, 1.0, -3.0, 1e15}) {
    std::string text;
    JsonWriter(text).value(whole);
    EXPECT_EQ(Json::parse(text).get<double>(), whole);
    EXPECT_NE(text.find_first_of(".e"), std::string::npos) << text << ": a whole double still reads as one";
  }
  std::string text;
  JsonWriter(text)
      .begin_array()
      .value(std::numeric_limits<double>::quiet_NaN())
      .value(1e308 * 10)
      .end_array();
  EXPECT_EQ(text, "[null,null]");
}

TEST(JsonRpcMessage, RawJsonIsWrittenAsIsInsideAnyMessage) {
  std::string page;
  JsonWriter(page).begin_object().key("memories").begin_array().value("a\"b").end_array().end_object();
  Json result = {{"content", Json::array()}, {"structuredContent", raw_json(page)}};
  EXPECT_EQ(dump(result), R"({"content":[],"structuredContent":{"memories":["a\"b"]}})");
  EXPECT_EQ(serialize_result(Id(3), result),
            R"({"jsonrpc":"2.0","id":3,"result":{"content":[],"structuredContent":{"memories":["a\"b"]}}})");
  // Other binary values are not raw JSON: they are written as nlohmann writes them.
  const Json bytes = Json::binary({1, 2});
  EXPECT_EQ(dump(bytes), bytes.dump());
}

TEST(JsonRpcMessage, RequestWithIntegerAndStringIds) {
  auto a = std::get<Request>(only(R"({"jsonrpc":"2.0","id":7,"method":"ping"})"));
  EXPECT_EQ(a.id, Id(7));
  EXPECT_EQ(a.method, "ping");
  auto b = std::get<Request>(only(R"({"jsonrpc":"2.0","id":"abc","method":"tools/list","params":{}})"));
  EXPECT_EQ(b.id, Id(std::string("abc")));
  EXPECT_TRUE(b.params.is_object());
}

TEST(JsonRpcMessage, WholeFloatIdIsAcceptedFractionalIsNot) {
  EXPECT_EQ(std::get<Request>(only(R"({"jsonrpc":"2.0","id":3.0,"method":"ping"})")).id, Id(3));
  auto invalid = std::get<Invalid>(only(R"({"jsonrpc":"2.0","id":1.5,"method":"ping"})"));
  EXPECT_EQ(invalid.error.code, kInvalidRequest);
  EXPECT_FALSE(invalid.id);
}

TEST(JsonRpcMessage, NotificationHasNoId) {
  auto n = std::get<Notification>(only(R"({"jsonrpc":"2.0","method":"notifications/initialized"})"));
  EXPECT_EQ(n.method, "notifications/initialized");
}

TEST(JsonRpcMessage, NullIdIsInvalidNotANotification) {
  auto invalid = std::get<Invalid>(only(R"({"jsonrpc":"2.0","id":null,"method":"ping"})"));
  EXPECT_EQ(invalid.error.code, kInvalidRequest);
}

TEST(JsonRpcMessage, BadJsonIsParseError) {
  for (const char* text : {"{", "not json", R"({"jsonrpc":"2.0",})", "\xff\xfe"}) {
    auto invalid = std::get<Invalid>(only(text));
    EXPECT_EQ(invalid.error.code, kParseError) << text;
    EXPECT_FALSE(invalid.id);
  }
}

TEST(JsonRpcMessage, InvalidUtf8InsideAStringIsParseError) {
  auto invalid = std::get<Invalid>(only("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"p\xc3\x28\"}"));
  EXPECT_EQ(invalid.error.code, kParseError);
}

TEST(JsonRpcMessage, WrongShapesAreInvalidRequestsAndKeepTheId) {
  struct Case {
    const char* text;
    bool id_readable;
  } cases[] = {
      {R"({"jsonrpc":"1.0","id":4,"method":"ping"})", true},
      {R"({"id":4,"method":"ping"})", true},
      {R"({"jsonrpc":"2.0","id":4,"method":42})", true},
      {R"({"jsonrpc":"2.0","id":4})", true},
      {R"({"jsonrpc":"2.0","id":4,"method":"x","params":"str"})", true},
      {R"({"jsonrpc":"2.0","id":{"a":1},"method":"ping"})", false},
      {R"("just a string")", false},
      {R"(42)", false},
  };
  for (const auto& c : cases) {
    auto invalid = std::get<Invalid>(only(c.text));
    EXPECT_EQ(invalid.error.code, kInvalidRequest) << c.text;
    EXPECT_EQ(invalid.id.has_value(), c.id_readable) << c.text;
    if (c.id_readable) {
      EXPECT_EQ(*invalid.id, Id(4));
    }
  }
}

TEST(JsonRpcMessage, ResponseFromClientIsRecognised) {
  EXPECT_TRUE(std::holds_alternative<Response>(only(R"({"jsonrpc":"2.0","id":9,"result":{}})")));
  EXPECT_TRUE(std::holds_alternative<Response>(
      only(R"({"jsonrpc":"2.0","id":9,"error":{"code":-1,"message":"x"}})")));
}

TEST(JsonRpcMessage, BatchIsParsedItemByItem) {
  Parsed parsed = parse(R"([{"jsonrpc":"2.0","id":1,"method":"ping"},{"jsonrpc":"2.0","method":"n"},5])");
  ASSERT_TRUE(parsed.is_batch);
  ASSERT_EQ(parsed.messages.size(), 3u);
  EXPECT_TRUE(std::holds_alternative<Request>(parsed.messages[0]));
  EXPECT_TRUE(std::holds_alternative<Notification>(parsed.messages[1]));
  EXPECT_TRUE(std::holds_alternative<Invalid>(parsed.messages[2]));
}

TEST(JsonRpcMessage, EmptyBatchIsInvalid) {
  EXPECT_EQ(std::get<Invalid>(only("[]")).error.code, kInvalidRequest);
}

TEST(JsonRpcMessage, ErrorWithoutReadableIdOmitsIdInsteadOfNull) {
  auto text = serialize_error(std::nullopt, ErrorObject{kParseError, "Parse error", nullptr});
  auto json = Json::parse(text);
  EXPECT_FALSE(json.contains("id"));
  EXPECT_EQ(json["error"]["code"], kParseError);
  EXPECT_FALSE(json["error"].contains("data"));
}

TEST(JsonRpcMessage, SerializationIsOneLineEvenWithNewlinesInValues) {
  auto text = serialize_result(Id(1), {{"text", "line one\nline two"}});
  EXPECT_EQ(text.find('\n'), std::string::npos);
  EXPECT_EQ(Json::parse(text)["result"]["text"], "line one\nline two");
}

TEST(JsonRpcMessage, SerializationReplacesInvalidUtf8InsteadOfThrowing) {
  std::string bad = "ok \xc3\x28 end";
  std::string text;
  EXPECT_NO_THROW(text = serialize_result(Id(1), {{"text", bad}}));
  EXPECT_FALSE(Json::parse(text, nullptr, false).is_discarded());
}

TEST(JsonRpcMessage, SniffIdFindsTopLevelIdInATruncatedMessage) {
  EXPECT_EQ(sniff_id(R"({"jsonrpc":"2.0","id":42,"method":"tools/call","params":{"content":"xxxxx)"), Id(42));
  EXPECT_EQ(sniff_id(R"({"method":"m","params":{"id":1,"x":[1,2,{"id":3}]},"id":"top","jsonrpc")"),
            Id(std::string("top")));
  EXPECT_FALSE(sniff_id(R"({"method":"m","params":{"id":1,"content":"xxxxxxxx)"));
  EXPECT_FALSE(sniff_id("garbage"));
  EXPECT_FALSE(sniff_id(R"({"id":null,"method":"x"})"));
}

std::string nested_objects(std::size_t levels) {
  std::string text;
  for (std::size_t i = 0; i < levels; ++i) text += R"({"a":)";
  text += "1";
  text += std::string(levels, '}');
  return text;
}

std::string request_with_params(const std::string& params) {
  return R"({"jsonrpc":"2.0","id":1,"method":"ping","params":)" + params + "}";
}

TEST(JsonRpcMessageDepth, SixtyFourLevelsAreAcceptedSixtyFiveAreRefusedWithTheId) {
  // The message object is level 1, params level 2: 62 more levels inside params make 64 in all.
  auto ok = std::get<Request>(only(request_with_params(nested_objects(63))));
  EXPECT_TRUE(ok.params.is_object());
  auto deep = std::get<Invalid>(only(request_with_params(nested_objects(64))));
  EXPECT_EQ(deep.error.code, kInvalidRequest);
  EXPECT_EQ(deep.error.message, "Invalid Request: nesting deeper than 64 levels");
  EXPECT_EQ(deep.id, Id(1));
}

TEST(JsonRpcMessageDepth, SixtyThousandNestedObjectsAreRefusedNotParsed) {
  // The reported crash: about 360 KB that used to overflow the stack when params were copied.
  auto deep = std::get<Invalid>(only(request_with_params(nested_objects(60000))));
  EXPECT_EQ(deep.error.code, kInvalidRequest);
  EXPECT_EQ(deep.id, Id(1));
  auto arrays = std::get<Invalid>(only(std::string(200000, '[') + std::string(200000, ']')));
  EXPECT_EQ(arrays.error.code, kInvalidRequest);
  EXPECT_FALSE(arrays.id);
  // The id is found even when it follows the deep part.
  std::string late_id =
      R"({"jsonrpc":"2.0","method":"ping","params":)" + nested_objects(1000) + R"(,"id":"late"})";
  EXPECT_EQ(std::get<Invalid>(only(late_id)).id, Id(std::string("late")));
}

TEST(JsonRpcMessageDepth, BracketsAndEscapedQuotesInsideStringsDoNotCount) {
  std::string brackets(5000, '[');
  std::string text = request_with_params(R"({"s":")" + brackets + R"(\"{{{{\\","t":"\\\"[[[[[["})");
  auto request = std::get<Request>(only(text));
  EXPECT_EQ(request.params["s"].get<std::string>(), brackets + "\"{{{{\\");
  EXPECT_EQ(request.params["t"].get<std::string>(), "\\\"[[[[[[");
  // An escaped backslash before a quote ends the string: what follows is structure again and counts.
  std::string closing = R"({"jsonrpc":"2.0","id":2,"method":"ping","params":{"s":"\\",)";
  for (int i = 0; i < 70; ++i) closing += R"("k":[)";
  EXPECT_EQ(std::get<Invalid>(only(closing)).error.code, kInvalidRequest);
}

TEST(JsonRpcMessageDepth, DeepBatchIsOneInvalidRequest) {
  std::string batch = "[" + request_with_params(nested_objects(100)) + "]";
  Parsed parsed = parse(batch);
  EXPECT_FALSE(parsed.is_batch);
  ASSERT_EQ(parsed.messages.size(), 1u);
  EXPECT_EQ(std::get<Invalid>(parsed.messages.front()).error.code, kInvalidRequest);
}

// The depth scan walks strings with memchr; what it costs is measured by the benchmarks, not timed here
// (a timed test fails on a busy machine). Here: a 4 MiB message of string content still gets through.
TEST(JsonRpcMessageDepth, ABigShallowMessageStillParses) {
  std::string big =
      R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x","arguments":{"content":")" +
      std::string(4 * 1024 * 1024, 'x') + R"(","tags":["a","b"]}}})";
  auto message = only(big);
  ASSERT_TRUE(std::holds_alternative<Request>(message));
  EXPECT_EQ(std::get<Request>(message).params["arguments"]["content"].get<std::string>().size(),
            4u * 1024 * 1024);
}

TEST(JsonRpcMessageDepth, SniffIdIgnoresAnIdThatIsAStructure) {
  EXPECT_FALSE(sniff_id(R"({"id":[[[[1]]]],"method":"x"})"));
}

}  // namespace
}  // namespace memtrace::jsonrpc
