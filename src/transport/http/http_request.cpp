#include <cctype>

#include <boost/url/parse.hpp>

#include "transport/http/exchange.h"

namespace memtrace::transport::http {

std::string lower_ascii(std::string_view text) {
  std::string out(text);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

void add_request_header(HttpRequest& request, std::string_view name, std::string_view value) {
  auto [it, inserted] = request.headers.try_emplace(lower_ascii(name), std::string(value));
  if (!inserted) it->second += ", " + std::string(value);
}

bool set_request_target(HttpRequest& request, std::string_view target) {
  auto parsed = boost::urls::parse_origin_form(target);
  if (!parsed) return false;
  request.path = parsed->path();
  for (auto param : parsed->params()) request.query.try_emplace(param.key, param.value);
  return true;
}

}  // namespace memtrace::transport::http
