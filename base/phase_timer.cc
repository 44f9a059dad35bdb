#include "base/phase_timer.h"

#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

namespace cairn {

namespace {

// CPU time of every thread of the process, in ms.
double ProcessCpuMs() {
  timespec ts{};
  if (::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts) != 0) return 0;
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
}

// The process's resident anonymous memory in MiB (resident minus file-backed pages), from
// /proc/self/statm; -1 when unreadable.
double AnonMiB() {
  FILE* f = std::fopen("/proc/self/statm", "r");
  if (f == nullptr) return -1;
  unsigned long size = 0, resident = 0, shared = 0;
  const int n = std::fscanf(f, "%lu %lu %lu", &size, &resident, &shared);
  std::fclose(f);
  if (n != 3) return -1;
  return static_cast<double>(resident - shared) * static_cast<double>(::sysconf(_SC_PAGESIZE)) /
         (1 << 20);
}

}  // namespace

PhaseTimer::PhaseTimer(std::string prefix)
    : on_(std::getenv("CAIRN_TIMING") != nullptr), prefix_(std::move(prefix)), last_(Clock::now()) {
  if (on_) last_cpu_ms_ = ProcessCpuMs();
}

void PhaseTimer::Mark(const char* phase) {
  if (!on_) return;
  auto now = Clock::now();
  const double cpu = ProcessCpuMs();
  std::fprintf(stderr, "timing %s%-12s %8.1f ms  anon %6.1f MiB  cpu %6.1f ms\n", prefix_.c_str(),
               phase, std::chrono::duration<double, std::milli>(now - last_).count(), AnonMiB(),
               cpu - last_cpu_ms_);
  last_ = now;
  last_cpu_ms_ = cpu;
}

}  // namespace cairn
