#include "base/interrupt.h"

#include <signal.h>
#include <string.h>

#include <atomic>
#include <string>

namespace cairn {
namespace {

std::atomic<int> g_signal{0};
constexpr int kSignals[] = {SIGINT, SIGTERM, SIGHUP};

void Record(int sig) {
  int none = 0;
  if (!g_signal.compare_exchange_strong(none, sig)) {
    // Asked twice: stop now. Async-signal-safe: signal(2) and raise(3).
    ::signal(sig, SIG_DFL);
    ::raise(sig);
  }
}

}  // namespace

void InstallInterruptHandlers() {
  struct sigaction sa;
  ::memset(&sa, 0, sizeof sa);
  sa.sa_handler = Record;
  sa.sa_flags = SA_RESTART;
  ::sigemptyset(&sa.sa_mask);
  for (int sig : kSignals) ::sigaction(sig, &sa, nullptr);
}

int InterruptSignal() { return g_signal.load(std::memory_order_relaxed); }

Status InterruptedStatus() {
  const int sig = InterruptSignal();
  const char* abbrev = sig != 0 ? ::sigabbrev_np(sig) : nullptr;
  return Status(Code::kCancelled,
                std::string("interrupted by SIG") + (abbrev != nullptr ? abbrev : "?"));
}

void ReraiseInterrupt() {
  const int sig = InterruptSignal();
  if (sig == 0) return;
  ::signal(sig, SIG_DFL);
  sigset_t set;
  ::sigemptyset(&set);
  ::sigaddset(&set, sig);
  ::sigprocmask(SIG_UNBLOCK, &set, nullptr);
  ::raise(sig);
}

}  // namespace cairn
