#include "mcp/schema_validator.h"

#include <regex>

#include <nlohmann/json.hpp>
#include <valijson/adapters/nlohmann_json_adapter.hpp>
#include <valijson/schema.hpp>
#include <valijson/schema_parser.hpp>
#include <valijson/validator.hpp>

namespace memtrace::mcp {
namespace {

using Json = nlohmann::json;

std::string json_type_name(const Json& v) {
  if (v.is_null()) return "null";
  if (v.is_boolean()) return "a boolean";
  if (v.is_number_integer()) return "an integer";
  if (v.is_number()) return "a number";
  if (v.is_string()) return "a string";
  if (v.is_array()) return "an array";
  return "an object";
}

std::string expected_type(const Json& type) {
  auto one = [](const std::string& t) {
    if (t == "array") return std::string("an array");
    if (t == "object") return std::string("an object");
    if (t == "integer") return std::string("an integer");
    return "a " + t;
  };
  if (type.is_string()) return one(type.get<std::string>());
  std::string out;
  for (const auto& t : type) out += (out.empty() ? "" : " or ") + one(t.get<std::string>());
  return out;
}

// As valijson decides: 200.0 is a number but not an integer (the handlers read integers as integers).
bool matches_type(const Json& v, const std::string& t) {
  if (t == "string") return v.is_string();
  if (t == "number") return v.is_number();
  if (t == "integer") return v.is_number_integer();
  if (t == "boolean") return v.is_boolean();
  if (t == "array") return v.is_array();
  if (t == "object") return v.is_object();
  return v.is_null();
}

std::string short_value(const Json& v) {
  std::string text = v.dump(-1, ' ', false, Json::error_handler_t::replace);
  if (text.size() > 60) text = text.substr(0, 57) + "...";
  return text;
}

// What was sent instead of the expected type: the number itself when a number of the wrong kind came
// ("limit must be an integer, got 200.0"), else its type ("content must be a string, got an integer").
std::string got_instead(const Json& v) {
  return v.is_number_float() ? short_value(v) : json_type_name(v);
}

std::string characters(std::size_t n) {
  return std::to_string(n) + (n == 1 ? " character" : " characters");
}

// Characters as JSON Schema counts them (code points), not bytes.
std::size_t utf8_length(const std::string& s) {
  std::size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

// The length rules of a string, checked before any pattern so that no regex ever runs on unbounded input
// (std::regex recurses per character). Empty if the length is fine.
std::string explain_length(const std::string& name, const Json& schema, const std::string& text) {
  std::size_t length = utf8_length(text);
  if (auto m = schema.find("maxLength"); m != schema.end() && length > m->get<std::size_t>()) {
    return name + " must be at most " + characters(m->get<std::size_t>()) + " long, got " +
           std::to_string(length);
  }
  if (auto m = schema.find("minLength"); m != schema.end() && length < m->get<std::size_t>()) {
    return m->get<std::size_t>() == 1
               ? name + " must not be empty"
               : name + " must be at least " + characters(m->get<std::size_t>()) + " long";
  }
  return {};
}

// Explains why `value` fails `schema`, checking the common keywords in the order a reader cares
// about. `name` is the field's path ("importance", "tags[2]"). Empty if nothing here explains it.
std::string explain(const std::string& name, const Json& schema, const Json& value) {
  if (!schema.is_object()) return {};
  if (auto type = schema.find("type"); type != schema.end()) {
    bool ok = type->is_string() ? matches_type(value, type->get<std::string>())
                                : std::any_of(type->begin(), type->end(), [&](const Json& t) {
                                    return matches_type(value, t.get<std::string>());
                                  });
    if (!ok) return name + " must be " + expected_type(*type) + ", got " + got_instead(value);
  }
  if (auto any = schema.find("anyOf"); any != schema.end() && any->is_array()) {
    // The alternatives of one field, each of its own type (the portable form of a type union): the
    // alternative of the value's type explains it; if none has that type, name the types there are.
    Json types = Json::array();
    bool typed_alike = false;
    for (const auto& alternative : *any) {
      auto t = alternative.find("type");
      if (t != alternative.end() && t->is_string() && !matches_type(value, t->get<std::string>())) {
        types.push_back(*t);
        continue;
      }
      typed_alike = true;
      if (auto why = explain(name, alternative, value); !why.empty()) return why;
      break;
    }
    if (!typed_alike && !types.empty()) {
      return name + " must be " + expected_type(types) + ", got " + got_instead(value);
    }
  }
  if (auto e = schema.find("enum"); e != schema.end() && std::find(e->begin(), e->end(), value) == e->end()) {
    std::string options;
    for (const auto& o : *e)
      options += (options.empty() ? "" : ", ") + (o.is_string() ? o.get<std::string>() : o.dump());
    return name + " must be one of " + options + "; got " + short_value(value);
  }
  if (value.is_number()) {
    double d = value.get<double>();
    auto min = schema.find("minimum");
    auto max = schema.find("maximum");
    bool below = min != schema.end() && d < min->get<double>();
    bool above = max != schema.end() && d > max->get<double>();
    if (below || above) {
      if (min != schema.end() && max != schema.end()) {
        return name + " must be between " + min->dump() + " and " + max->dump() + ", got " + value.dump();
      }
      return name + " must be " + (below ? "at least " + min->dump() : "at most " + max->dump()) + ", got " +
             value.dump();
    }
  }
  if (value.is_string()) {
    if (auto why = explain_length(name, schema, value.get_ref<const std::string&>()); !why.empty())
      return why;
    if (auto p = schema.find("pattern"); p != schema.end()) {
      if (!std::regex_search(value.get<std::string>(), std::regex(p->get<std::string>()))) {
        std::string hint = schema.value("description", std::string());
        return name + " has the wrong form: " + short_value(value) + (hint.empty() ? "" : " (" + hint + ")");
      }
    }
  }
  if (value.is_array()) {
    if (auto m = schema.find("maxItems"); m != schema.end() && value.size() > m->get<std::size_t>()) {
      return name + " may hold at most " + m->dump() + " items, got " + std::to_string(value.size());
    }
    if (auto m = schema.find("minItems"); m != schema.end() && value.size() < m->get<std::size_t>()) {
      return name + " must hold at least " + m->dump() + " items, got " + std::to_string(value.size());
    }
    if (auto items = schema.find("items"); items != schema.end()) {
      for (std::size_t i = 0; i < value.size(); ++i) {
        auto why = explain(name + "[" + std::to_string(i) + "]", *items, value[i]);
        if (!why.empty()) return why;
      }
    }
  }
  if (value.is_object()) {
    const Json empty = Json::object();
    const Json& properties = schema.contains("properties") ? schema["properties"] : empty;
    std::string prefix = name.empty() ? "" : name + ".";
    std::string what = name.empty() ? std::string("the arguments") : name;
    if (auto m = schema.find("maxProperties"); m != schema.end() && value.size() > m->get<std::size_t>()) {
      return what + " may hold at most " + m->dump() + " keys, got " + std::to_string(value.size());
    }
    if (auto names = schema.find("propertyNames"); names != schema.end()) {
      for (auto it = value.begin(); it != value.end(); ++it) {
        auto why = explain_length("a key of " + what, *names, it.key());
        if (!why.empty()) return why;
      }
    }
    if (auto required = schema.find("required"); required != schema.end()) {
      for (const auto& key : *required) {
        if (!value.contains(key.get<std::string>())) return prefix + key.get<std::string>() + " is required";
      }
    }
    for (auto it = value.begin(); it != value.end(); ++it) {
      const Json additional = schema.value("additionalProperties", Json(true));
      if (auto p = properties.find(it.key()); p != properties.end()) {
        auto why = explain(prefix + it.key(), *p, it.value());
        if (!why.empty()) return why;
      } else if (additional.is_object()) {
        auto why = explain(prefix + it.key(), additional, it.value());
        if (!why.empty()) return why;
      } else if (additional == Json(false)) {
        std::string known;
        for (auto k = properties.begin(); k != properties.end(); ++k)
          known += (known.empty() ? "" : ", ") + k.key();
        return "unknown argument \"" + prefix + it.key() + "\"; the arguments are: " + known;
      }
    }
  }
  return {};
}

}  // namespace

struct SchemaValidator::Impl {
  const Json& document;
  valijson::Schema schema;
};

SchemaValidator::SchemaValidator(const Json& schema) : impl_(new Impl{schema, {}}) {
  valijson::SchemaParser parser(valijson::SchemaParser::kDraft7);
  valijson::adapters::NlohmannJsonAdapter adapter(schema);
  parser.populateSchema(adapter, impl_->schema);
}

SchemaValidator::~SchemaValidator() = default;
SchemaValidator::SchemaValidator(SchemaValidator&&) noexcept = default;

std::optional<std::string> SchemaValidator::validate(const Json& value) const {
  // Without a results object valijson stops at the first failing constraint, and it checks maxLength
  // before pattern: a string over its maxLength never reaches std::regex. (With results it would run
  // every constraint to collect all errors.) The sentence then comes from explain(), which keeps the
  // same order.
  // One Validator per thread, kept: it caches the compiled std::regex of every "pattern" keyword, and a
  // fresh one per call recompiled them all (tens of microseconds per tool call). The cache is keyed by
  // the pattern text, so one Validator serves every schema; it is not thread-safe, hence per thread.
  static thread_local valijson::Validator validator;
  valijson::adapters::NlohmannJsonAdapter target(value);
  if (validator.validate(impl_->schema, target, nullptr)) return std::nullopt;

  std::string why = explain("", impl_->document, value);
  if (!why.empty()) return why;
  // A keyword explain() does not know (e.g. a composition keyword in a fixture schema). valijson is not
  // asked for its own words: collecting them runs every constraint, patterns on over-long strings too.
  return std::string("the arguments do not match the tool's input schema; see its description in tools/list");
}

}  // namespace memtrace::mcp
