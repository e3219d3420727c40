// The MCP protocol versions this server speaks and what each one's messages may contain.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace memtrace::mcp {

enum class ProtocolVersion { k2024_11_05, k2025_03_26, k2025_06_18, k2025_11_25 };

inline constexpr ProtocolVersion kLatestVersion = ProtocolVersion::k2025_11_25;

const std::vector<std::string>& supported_version_names();  // newest first
std::string_view to_string(ProtocolVersion version);
bool parse_version(std::string_view text, ProtocolVersion& out);

// What the client asked for if we speak it, else our latest (the client then decides; MCP lifecycle).
ProtocolVersion negotiate(std::string_view requested);

// Field gates: what a client of `v` knows.
inline bool has_tool_annotations(ProtocolVersion v) {
  return v >= ProtocolVersion::k2025_03_26;
}
inline bool has_titles(ProtocolVersion v) {
  return v >= ProtocolVersion::k2025_06_18;
}
inline bool has_structured_output(ProtocolVersion v) {
  return v >= ProtocolVersion::k2025_06_18;
}
inline bool has_icons(ProtocolVersion v) {
  return v >= ProtocolVersion::k2025_11_25;
}
inline bool allows_batches(ProtocolVersion v) {
  return v == ProtocolVersion::k2025_03_26;
}

}  // namespace memtrace::mcp
