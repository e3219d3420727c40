// The Redis store's Lua scripts, compiled in from src/store/redis/lua/*.lua (see cmake/embed_lua.cmake).
#pragma once

#include <string_view>

namespace memtrace::redis {

// The text of lua/<name>.lua, verbatim. Names are fixed in our code: an unknown one aborts.
std::string_view embedded_lua(std::string_view name);

}  // namespace memtrace::redis
