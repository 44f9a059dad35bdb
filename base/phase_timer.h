// PhaseTimer: the CAIRN_TIMING phase times that benchmarks read. With CAIRN_TIMING set in the
// environment, each Mark(phase) prints "timing [PREFIX]PHASE MS ms  anon MIB MiB  cpu MS ms" to
// stderr: the wall time since the previous mark (or since construction), the process's resident
// anonymous memory then, and the CPU time all its threads took meanwhile (over 2x the wall: both
// cores busy; near 0: waiting on I/O) (first touches of memory are costly on this class of VM:
// base/heap_warmer.h). Without it, Mark costs a clock read.
#ifndef CAIRN_BASE_PHASE_TIMER_H_
#define CAIRN_BASE_PHASE_TIMER_H_

#include <chrono>
#include <string>

namespace cairn {

class PhaseTimer {
 public:
  explicit PhaseTimer(std::string prefix = "");
  void Mark(const char* phase);

 private:
  using Clock = std::chrono::steady_clock;
  bool on_;
  std::string prefix_;
  Clock::time_point last_;
  double last_cpu_ms_ = 0;
};

}  // namespace cairn

#endif  // CAIRN_BASE_PHASE_TIMER_H_
