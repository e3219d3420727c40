// The export format (docs/export-format.md): JSON Lines, a header line, then one record per line.
// Encoding records to lines and decoding (with validation) lines back to records; no I/O, no store.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "store/records.h"

namespace memtrace::app {

inline constexpr const char* kExportFormat = "memtrace-export";
// 2: memories carry superseded_by and valid_until (version 1 files are read as before).
inline constexpr int kExportVersion = 2;

// What an export was asked for; written into the header so that a reader knows what the file holds.
struct ExportFilter {
  std::optional<std::string> ns;          // all namespaces if absent
  std::optional<std::string> session_id;  // one session and what belongs to it
  std::optional<UnixMillis> since;        // records created (sessions: updated) at or after this
};

using Record = std::variant<Agent, Session, Memory, TaskClaim>;

std::string header_line(const ExportFilter& filter);
std::string record_line(const Record& record);

// One decoded line, or why it was refused (without the line number; the caller adds it).
struct DecodedLine {
  std::optional<Record> record;
  std::string error;
};
// Checks the first line: the format's name and a version this program reads.
std::string check_header(const std::string& line);
DecodedLine decode_record(const std::string& line);

}  // namespace memtrace::app
