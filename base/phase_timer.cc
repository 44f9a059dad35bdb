#include "base/phase_timer.h"

#include <cstdio>
#include <cstdlib>

namespace cairn {

PhaseTimer::PhaseTimer(std::string prefix)
    : on_(std::getenv("CAIRN_TIMING") != nullptr), prefix_(std::move(prefix)), last_(Clock::now()) {}

void PhaseTimer::Mark(const char* phase) {
  if (!on_) return;
  auto now = Clock::now();
  std::fprintf(stderr, "timing %s%-12s %8.1f ms\n", prefix_.c_str(), phase,
               std::chrono::duration<double, std::milli>(now - last_).count());
  last_ = now;
}

}  // namespace cairn
