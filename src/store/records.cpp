#include "store/records.h"

namespace memtrace {

const char* to_string(TaskState state) {
  switch (state) {
    case TaskState::kClaimed:
      return "claimed";
    case TaskState::kDone:
      return "done";
    case TaskState::kFree:
      break;
  }
  return "free";
}

const char* to_string(SessionStatus status) {
  return status == SessionStatus::kActive ? "active" : "closed";
}

}  // namespace memtrace
