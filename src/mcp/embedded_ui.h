// The memory browser's files compiled in from ui/ (see cmake/embed_ui.cmake).
#pragma once

#include <vector>

namespace memtrace::mcp {

struct EmbeddedUiFile {
  const char* name;  // file name: "browser.html", "browser.css", "browser.js"
  const char* text;  // the file's bytes
};

const std::vector<EmbeddedUiFile>& embedded_ui_files();

}  // namespace memtrace::mcp
