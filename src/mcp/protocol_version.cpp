#include "mcp/protocol_version.h"

namespace memtrace::mcp {

const std::vector<std::string>& supported_version_names() {
  static const std::vector<std::string> names = {"2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"};
  return names;
}

std::string_view to_string(ProtocolVersion version) {
  switch (version) {
    case ProtocolVersion::k2024_11_05:
      return "2024-11-05";
    case ProtocolVersion::k2025_03_26:
      return "2025-03-26";
    case ProtocolVersion::k2025_06_18:
      return "2025-06-18";
    case ProtocolVersion::k2025_11_25:
      return "2025-11-25";
  }
  return "2025-11-25";
}

bool parse_version(std::string_view text, ProtocolVersion& out) {
  for (auto v : {ProtocolVersion::k2024_11_05, ProtocolVersion::k2025_03_26, ProtocolVersion::k2025_06_18,
                 ProtocolVersion::k2025_11_25}) {
    if (to_string(v) == text) {
      out = v;
      return true;
    }
  }
  return false;
}

ProtocolVersion negotiate(std::string_view requested) {
  ProtocolVersion version = kLatestVersion;
  parse_version(requested, version);
  return version;
}

}  // namespace memtrace::mcp
