// How memories, pages and scopes look on the wire (structuredContent) and as compact text for a model.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "jsonrpc/message.h"
#include "memory/engine.h"

namespace memtrace::mcp {

nlohmann::json memory_to_json(const Memory& memory);
// The same object, written straight into `out`.
void write_memory(jsonrpc::JsonWriter& out, const Memory& memory);
nlohmann::json stored_to_json(const Memory& memory);
// What remember answers: the stored memory (or, deduplicated, the one already stored) and what it did.
nlohmann::json stored_to_json(const Stored& stored);
nlohmann::json scope_to_json(const Scope& scope);
// The page as a jsonrpc::raw_json value: written without a DOM, for the wire only.
nlohmann::json page_to_json(const Page& page);

// One line per memory: "- 2026-11-22T09:14:03Z · researcher · fact · [a, b] · 0.8 · id: content"
void append_memory_line(std::string& out, const Memory& memory);
std::string render_page(const Page& page);

}  // namespace memtrace::mcp
