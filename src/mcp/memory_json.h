// How memories, pages and scopes look on the wire (structuredContent) and as compact text for a model.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "memory/engine.h"

namespace memtrace::mcp {

nlohmann::json memory_to_json(const Memory& memory);
nlohmann::json stored_to_json(const Memory& memory);
// What remember answers: the stored memory (or, deduplicated, the one already stored) and what it did.
nlohmann::json stored_to_json(const Stored& stored);
nlohmann::json scope_to_json(const Scope& scope);
nlohmann::json page_to_json(const Page& page);

// One line per memory: "- 2026-11-22T09:14:03Z · researcher · fact · [a, b] · 0.8 · id: content"
std::string render_memory_line(const Memory& memory);
std::string render_page(const Page& page);

}  // namespace memtrace::mcp
