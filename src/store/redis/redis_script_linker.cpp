// Dropping the helpers a script does not use (see redis_script_linker.h).
#include "store/redis/redis_script_linker.h"

#include <cctype>
#include <cstddef>
#include <set>
#include <vector>

namespace memtrace::redis {
namespace {

bool ident_start(char c) {
  return std::isalpha(static_cast<unsigned char>(c)) || c == '_';
}
bool ident_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
}

// The level of a long bracket opening at text[i] ('[' '='* '['), or -1 if none opens there.
int long_bracket(std::string_view text, std::size_t i) {
  if (i >= text.size() || text[i] != '[') return -1;
  std::size_t j = i + 1;
  while (j < text.size() && text[j] == '=') ++j;
  return j < text.size() && text[j] == '[' ? static_cast<int>(j - i - 1) : -1;
}

// The index just past the long bracket of `level` closing at or after `from`.
std::size_t past_long_bracket(std::string_view text, std::size_t from, int level) {
  const std::string close = "]" + std::string(static_cast<std::size_t>(level), '=') + "]";
  const auto at = text.find(close, from);
  return at == std::string_view::npos ? text.size() : at + close.size();
}

// The names a piece of Lua refers to as variables (not as fields: `t.x`, `t:x`), and the names it
// assigns (`x = ...`), outside strings and comments.
struct Names {
  std::set<std::string, std::less<>> used;
  std::set<std::string, std::less<>> assigned;
};

Names names_in(std::string_view text) {
  Names names;
  char previous = 0;  // the last character of the previous token, if it was punctuation
  std::size_t i = 0;
  while (i < text.size()) {
    const char c = text[i];
    if (std::isspace(static_cast<unsigned char>(c))) {
      ++i;
      continue;
    }
    if (c == '-' && i + 1 < text.size() && text[i + 1] == '-') {
      const int level = long_bracket(text, i + 2);
      if (level >= 0) {
        i = past_long_bracket(text, i + 2, level);
      } else {
        const auto end = text.find('\n', i);
        i = end == std::string_view::npos ? text.size() : end;
      }
      continue;
    }
    if (const int level = long_bracket(text, i); level >= 0) {
      i = past_long_bracket(text, i, level);
      previous = 0;
      continue;
    }
    if (c == '\'' || c == '"') {
      ++i;
      while (i < text.size() && text[i] != c) i += text[i] == '\\' ? 2 : 1;
      ++i;
      previous = 0;
      continue;
    }
    if (std::isdigit(static_cast<unsigned char>(c))) {  // a number, hex and exponents included
      while (i < text.size() && (ident_char(text[i]) || text[i] == '.')) ++i;
      previous = 0;
      continue;
    }
    if (ident_start(c)) {
      const std::size_t start = i;
      while (i < text.size() && ident_char(text[i])) ++i;
      const std::string_view name = text.substr(start, i - start);
      if (previous != '.' && previous != ':') {
        names.used.emplace(name);
        std::size_t j = i;
        while (j < text.size() && (text[j] == ' ' || text[j] == '\t')) ++j;
        if (j < text.size() && text[j] == '=' && (j + 1 == text.size() || text[j + 1] != '=')) {
          names.assigned.emplace(name);
        }
      }
      previous = 0;
      continue;
    }
    // Punctuation. A field follows a single '.', never the '..' of a concatenation.
    const bool concatenation = c == '.' && i + 1 < text.size() && text[i + 1] == '.';
    if (concatenation) {
      while (i < text.size() && text[i] == '.') ++i;
      previous = 0;
      continue;
    }
    previous = c;
    ++i;
  }
  return names;
}

struct Definition {
  std::string_view text;
  std::vector<std::string> declares;
  Names names;
};

// The names `local function f(` or `local a, b = ...` / `local a` declares.
std::vector<std::string> declared_by(std::string_view line) {
  line.remove_prefix(6);  // "local "
  std::vector<std::string> declared;
  if (line.substr(0, 9) == "function ") {
    line.remove_prefix(9);
    std::size_t n = 0;
    while (n < line.size() && ident_char(line[n])) ++n;
    declared.emplace_back(line.substr(0, n));
    return declared;
  }
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == ',')) ++i;
    if (i >= line.size() || !ident_start(line[i])) break;
    const std::size_t start = i;
    while (i < line.size() && ident_char(line[i])) ++i;
    declared.emplace_back(line.substr(start, i - start));
    while (i < line.size() && line[i] == ' ') ++i;
    if (i < line.size() && line[i] != ',') break;  // '=' or anything else ends the list
  }
  return declared;
}

}  // namespace

std::string link_script(std::string_view helpers, std::string_view body) {
  // Split at the lines that start with "local ".
  std::string_view head;
  std::vector<Definition> definitions;
  std::size_t start = 0;
  std::size_t line = 0;
  auto close = [&](std::size_t end) {
    if (definitions.empty()) {
      head = helpers.substr(0, end);
    } else {
      definitions.back().text = helpers.substr(start, end - start);
    }
  };
  while (line < helpers.size()) {
    const auto next = helpers.find('\n', line);
    const std::size_t end = next == std::string_view::npos ? helpers.size() : next + 1;
    const std::string_view text = helpers.substr(line, end - line);
    if (text.substr(0, 6) == "local ") {
      close(line);
      start = line;
      definitions.push_back({{}, declared_by(text), {}});
    }
    line = end;
  }
  close(helpers.size());
  for (auto& d : definitions) d.names = names_in(d.text);

  // Keep what the body names, then what the kept definitions name, until nothing changes; whatever
  // assigns a name a kept definition declares is kept with it.
  std::vector<bool> kept(definitions.size(), false);
  std::vector<std::size_t> to_keep;
  auto keep_named = [&](const Names& names) {
    for (std::size_t k = 0; k < definitions.size(); ++k) {
      for (const auto& name : definitions[k].declares) {
        if (names.used.count(name) > 0) {
          to_keep.push_back(k);
          break;
        }
      }
    }
  };
  keep_named(names_in(head));
  keep_named(names_in(body));
  while (!to_keep.empty()) {
    const std::size_t k = to_keep.back();
    to_keep.pop_back();
    if (kept[k]) continue;
    kept[k] = true;
    keep_named(definitions[k].names);
    for (std::size_t m = 0; m < definitions.size(); ++m) {
      for (const auto& name : definitions[k].declares) {
        if (definitions[m].names.assigned.count(name) > 0) {
          to_keep.push_back(m);
          break;
        }
      }
    }
  }

  std::string linked(head);
  for (std::size_t k = 0; k < definitions.size(); ++k) {
    if (kept[k]) linked += definitions[k].text;
  }
  if (!linked.empty() && linked.back() != '\n') linked += '\n';
  linked += body;
  return linked;
}

}  // namespace memtrace::redis
