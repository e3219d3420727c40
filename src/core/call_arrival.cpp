#include "core/call_arrival.h"

namespace memtrace {
namespace {
thread_local std::optional<CallArrival::Clock::time_point> t_arrival;
}  // namespace

CallArrival::CallArrival(Clock::time_point at) noexcept : previous_(t_arrival) {
  t_arrival = at;
}

CallArrival::~CallArrival() {
  t_arrival = previous_;
}

std::optional<CallArrival::Clock::time_point> CallArrival::current() noexcept {
  return t_arrival;
}

}  // namespace memtrace
