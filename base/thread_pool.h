// ThreadPool: up to a fixed number of worker threads running submitted tasks in FIFO order.
// A thread starts when a task is queued and no thread is idle, so a pool that gets one task at
// a time runs one thread, and one that gets none starts none (a short command creates many
// pools, and each thread costs ~0.1 ms to start and join here).
//
// Tasks must not block waiting for other tasks of the same pool (that can deadlock a small
// pool). Thread-safety: Submit may be called from any thread. The destructor runs the tasks
// already queued, then joins.
#ifndef CAIRN_BASE_THREAD_POOL_H_
#define CAIRN_BASE_THREAD_POOL_H_

#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

namespace cairn {

class ThreadPool {
 public:
  // REQUIRES: threads >= 1. `name`: its threads' name (NameThisThread), a string literal.
  explicit ThreadPool(int threads, const char* name = "cairn-pool");
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  template <typename F>
  auto Submit(F&& f) -> std::future<decltype(f())> {
    using R = decltype(f());
    auto task = std::make_shared<std::packaged_task<R()>>(std::forward<F>(f));
    std::future<R> fut = task->get_future();
    Enqueue([task] { (*task)(); });
    return fut;
  }

  // The most threads it runs.
  int size() const { return max_threads_; }
  // Threads to use by default: the number of cores.
  static int DefaultThreads();

 private:
  void Enqueue(std::function<void()> fn);
  void Loop();

  const int max_threads_;
  const char* const name_;
  std::mutex mu_;  // guards the members below
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;
  bool stop_ = false;
  int idle_ = 0;  // threads waiting for a task
  std::vector<std::thread> threads_;
};

}  // namespace cairn

#endif  // CAIRN_BASE_THREAD_POOL_H_
