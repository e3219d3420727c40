// Reads everything of one namespace that an export or the stats hold, through the Store interface,
// page by page (the request-path queries with their keyset cursors), with progress on a terminal.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "app/export_format.h"
#include "core/error.h"
#include "store/store.h"

namespace memtrace::app {

// What one namespace holds, each list oldest first (claims and agents by id).
struct NamespaceContents {
  std::string ns;
  std::vector<Agent> agents;
  std::vector<Session> sessions;
  std::vector<Memory> memories;   // unexpired at `now`; decisions are memories of type "decision"
  std::vector<TaskClaim> claims;  // in force at `now`
};

// "records read: N" on stderr, rewritten in place, only when stderr is a terminal; at most a few
// updates a second. done() ends the line. Thread-safety: none.
class Progress {
 public:
  explicit Progress(std::string what);
  ~Progress() { done(); }
  void add(std::size_t n = 1);
  void done();

 private:
  std::string what_;
  bool terminal_;
  bool shown_ = false;
  std::size_t count_ = 0;
  long long last_shown_ms_ = 0;
};

// The namespaces an export with `filter` covers.
Result<std::vector<std::string>> namespaces_to_walk(Store& store, const ExportFilter& filter);

// The contents of `ns` that `filter` selects: with a session, that session, its memories, the claims
// held in it and the agents these name; with since, what was created (sessions: updated) at or after
// it, plus the sessions and agents those records name, so that the result imports on its own.
Result<NamespaceContents> read_namespace(Store& store, const std::string& ns, const ExportFilter& filter,
                                         UnixMillis now, Progress& progress);

}  // namespace memtrace::app
