// SAX classification of outbound messages and SSE framing.
#include "transport/http/wire.h"

#include <nlohmann/json.hpp>

namespace memtrace::transport::http {
namespace {

using Json = nlohmann::json;

// Stops as soon as the top-level keys tell what the message is, unless asked to find result.isError.
class Classifier : public nlohmann::json_sax<Json> {
 public:
  explicit Classifier(bool look_for_tool_error) : look_(look_for_tool_error) {}
  OutboundInfo info;

  bool null() override { return value(); }
  bool boolean(bool v) override {
    if (in_is_error_) info.is_tool_error = v;
    in_is_error_ = false;
    return value();
  }
  bool number_integer(number_integer_t) override { return value(); }
  bool number_unsigned(number_unsigned_t) override { return value(); }
  bool number_float(number_float_t, const string_t&) override { return value(); }
  bool string(string_t&) override { return value(); }
  bool binary(binary_t&) override { return value(); }
  bool start_object(std::size_t) override {
    ++depth_;
    if (depth_ == 2 && pending_result_) in_result_ = true;
    pending_result_ = false;
    return true;
  }
  bool end_object() override {
    if (depth_ == 2 && in_result_) {
      in_result_ = false;
      if (done_) return false;
    }
    --depth_;
    return true;
  }
  bool start_array(std::size_t) override {
    if (depth_ == 0) {
      info.kind = OutboundKind::kBatch;
      return false;
    }
    ++depth_;
    pending_result_ = false;
    return true;
  }
  bool end_array() override {
    --depth_;
    return true;
  }
  bool key(string_t& k) override {
    in_is_error_ = false;
    if (depth_ == 1) {
      if (k == "method") {
        method_seen_ = true;
        if (has_id_) {
          info.kind = OutboundKind::kRequest;
          return false;
        }
        info.kind = OutboundKind::kNotification;  // unless an "id" follows
        return true;
      }
      if (k == "id") {
        has_id_ = true;
        if (method_seen_) {
          info.kind = OutboundKind::kRequest;
          return false;
        }
      }
      if (k == "error") {
        info.kind = OutboundKind::kResponse;
        info.is_error = true;
        return false;
      }
      if (k == "result") {
        info.kind = OutboundKind::kResponse;
        if (!look_) return false;
        pending_result_ = true;
        done_ = true;
      }
    } else if (depth_ == 2 && in_result_ && k == "isError") {
      in_is_error_ = true;
    }
    return true;
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override {
    return false;
  }

 private:
  bool value() {
    pending_result_ = false;
    in_is_error_ = false;
    return true;
  }

  bool look_;
  int depth_ = 0;
  bool has_id_ = false;
  bool method_seen_ = false;
  bool pending_result_ = false;
  bool in_result_ = false;
  bool in_is_error_ = false;
  bool done_ = false;
};

}  // namespace

OutboundInfo classify_outbound(std::string_view message, bool look_for_tool_error) {
  Classifier classifier(look_for_tool_error);
  Json::sax_parse(message.begin(), message.end(), &classifier, nlohmann::detail::input_format_t::json, false);
  return classifier.info;
}

std::string sse_message(std::string_view id, std::string_view data) {
  std::string out;
  out.reserve(data.size() + id.size() + 32);
  out += "event: message\n";
  if (!id.empty()) {
    out += "id: ";
    out += id;
    out += '\n';
  }
  out += "data: ";
  out += data;
  out += "\n\n";
  return out;
}

std::string sse_priming(std::string_view id, int retry_ms) {
  std::string out = "id: ";
  out += id;
  out += "\nretry: " + std::to_string(retry_ms) + "\ndata: \n\n";
  return out;
}

std::string sse_retry(int retry_ms) {
  return "retry: " + std::to_string(retry_ms) + "\n\n";
}

std::string error_body(int code, std::string_view message) {
  Json body = {{"jsonrpc", "2.0"}, {"error", {{"code", code}, {"message", message}}}};
  return body.dump(-1, ' ', false, Json::error_handler_t::replace);
}

}  // namespace memtrace::transport::http
