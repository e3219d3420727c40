// A script's text with only the helpers it uses.
#pragma once

#include <string>
#include <string_view>

namespace memtrace::redis {

// `helpers` followed by `body`, less each definition of `helpers` that nothing kept refers to.
//
// Why: Redis runs a script's whole text on every EVALSHA. The store's helpers (lua/prelude.lua, 45
// definitions) cost about 10 µs of Redis time a call that way, mostly closures made and collected
// again, while most scripts use a handful of them.
//
// How `helpers` is read: a line that starts with `local ` in its first column starts a definition,
// which runs up to the next such line; it defines the names that line declares (`local function f(`,
// `local a, b = ...`, `local a`). Text before the first definition is always kept. A definition is kept
// when `body` or another kept definition names it (outside strings and comments), and so is every
// definition that assigns a name another kept one declares (`local less` ... `less = function ...`).
// Kept definitions stay in their order. Naming is textual, so a name shadowed or used as a table key
// keeps a definition that was not needed; it never drops one that was.
std::string link_script(std::string_view helpers, std::string_view body);

}  // namespace memtrace::redis
