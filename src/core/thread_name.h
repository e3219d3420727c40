// Thread names, so that `top -H`, `ps -L`, perf and gdb tell the server's threads apart.
#pragma once

#include <string_view>

namespace memtrace {

// Names the calling thread (Linux keeps the first 15 bytes). Every thread the server starts names
// itself "mt-<job>"; the main thread keeps the program's name.
void name_this_thread(std::string_view name);

}  // namespace memtrace
