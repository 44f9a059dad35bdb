#include "base/large_stack.h"

#include <pthread.h>
#include <signal.h>

#include <exception>

namespace cairn {
namespace {

struct Call {
  const std::function<void()>* fn;
  std::exception_ptr error;
};

void* Run(void* arg) {
  auto* call = static_cast<Call*>(arg);
  try {
    (*call->fn)();
  } catch (...) {
    call->error = std::current_exception();
  }
  return nullptr;
}

}  // namespace

void RunWithStack(size_t bytes, const std::function<void()>& fn) {
  Call call{&fn, nullptr};
  pthread_attr_t attr;
  pthread_t thread;
  bool started = false;
  if (::pthread_attr_init(&attr) == 0) {
    started = ::pthread_attr_setstacksize(&attr, bytes) == 0 &&
              ::pthread_create(&thread, &attr, Run, &call) == 0;
    ::pthread_attr_destroy(&attr);
  }
  if (!started) {
    fn();
    return;
  }
  sigset_t all, before;
  ::sigfillset(&all);
  ::pthread_sigmask(SIG_BLOCK, &all, &before);
  ::pthread_join(thread, nullptr);
  ::pthread_sigmask(SIG_SETMASK, &before, nullptr);
  if (call.error) std::rethrow_exception(call.error);
}

}  // namespace cairn
