// memtrace-mcp: parse the command line, then run. Everything else lives in the layers below.
#include <malloc.h>

#include <cstdlib>

#include "app/config.h"
#include "app/run.h"

int main(int argc, char** argv) {
  // glibc gives each thread that allocates under contention an arena of its own (up to 8 per core),
  // and each keeps what was freed in it: two arenas measured as fast as the default on the
  // benchmark's mix with about 1 MiB less resident memory. Set before any thread starts, unless the
  // MALLOC_ARENA_MAX environment variable says otherwise.
  if (std::getenv("MALLOC_ARENA_MAX") == nullptr) mallopt(M_ARENA_MAX, 2);
  int exit_code = 0;
  auto config = memtrace::app::parse_command_line(argc, argv, exit_code);
  if (!config) return exit_code;
  return memtrace::app::run(*config);
}
