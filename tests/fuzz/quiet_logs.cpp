// Linked into every harness: the product's logs (spdlog) are silenced, so that a fuzzing run's output is
// libFuzzer's own, and an input's cost is not its log lines.
#include <spdlog/spdlog.h>

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  spdlog::set_level(spdlog::level::off);
  return 0;
}
