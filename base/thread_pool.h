// ThreadPool: a fixed set of worker threads running submitted tasks in FIFO order.
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
  // REQUIRES: threads >= 1.
  explicit ThreadPool(int threads);
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

  int size() const { return static_cast<int>(threads_.size()); }
  // Threads to use by default: the number of cores.
  static int DefaultThreads();

 private:
  void Enqueue(std::function<void()> fn);
  void Loop();

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;
  bool stop_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace cairn

#endif  // CAIRN_BASE_THREAD_POOL_H_
