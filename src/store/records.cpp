#include "store/records.h"

namespace memtrace {

const char* to_string(SessionStatus status) {
  return status == SessionStatus::kActive ? "active" : "closed";
}

}  // namespace memtrace
