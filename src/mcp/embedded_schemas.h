// Tool definitions compiled in from schemas/tools/*.json (see cmake/embed_schemas.cmake).
#pragma once

#include <vector>

namespace memtrace::mcp {

struct EmbeddedSchema {
  const char* name;  // file name without ".json": the tool's name
  const char* json;  // the file's bytes
};

const std::vector<EmbeddedSchema>& embedded_tool_schemas();

}  // namespace memtrace::mcp
