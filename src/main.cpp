// memtrace-mcp: parse the command line, then run. Everything else lives in the layers below.
#include "app/config.h"
#include "app/run.h"

int main(int argc, char** argv) {
  int exit_code = 0;
  auto config = memtrace::app::parse_command_line(argc, argv, exit_code);
  if (!config) return exit_code;
  return memtrace::app::run(*config);
}
