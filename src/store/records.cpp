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

const std::vector<std::string>& all_change_kinds() {
  static const std::vector<std::string> kinds = {
      change_kind::kMemoryWritten,  change_kind::kMemoryForgotten, change_kind::kMemorySuperseded,
      change_kind::kSessionCreated, change_kind::kSessionClosed,   change_kind::kTaskClaimed,
      change_kind::kTaskReleased,   change_kind::kTaskDone,        change_kind::kTaskReopened};
  return kinds;
}

}  // namespace memtrace
