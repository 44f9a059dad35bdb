#include "base/thread_pool.h"

#include <gtest/gtest.h>
#include <pthread.h>

#include <atomic>
#include <future>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "base/thread_name.h"

namespace cairn {
namespace {

TEST(ThreadPoolTest, RunsEveryTaskAndReturnsItsResult) {
  ThreadPool pool(3);
  EXPECT_EQ(pool.size(), 3);
  std::vector<std::future<int>> results;
  for (int i = 0; i < 200; ++i) results.push_back(pool.Submit([i] { return i * i; }));
  for (int i = 0; i < 200; ++i) EXPECT_EQ(results[i].get(), i * i);
}

TEST(ThreadPoolTest, RunsTasksOnWorkerThreads) {
  ThreadPool pool(2);
  auto id = pool.Submit([] { return std::this_thread::get_id(); }).get();
  EXPECT_NE(id, std::this_thread::get_id());
}

// What `top -H`, perf and gdb show for a thread.
std::string ThreadName() {
  char name[16] = {};
  if (pthread_getname_np(pthread_self(), name, sizeof(name)) != 0) return "?";
  return name;
}

TEST(ThreadPoolTest, WorkersCarryThePoolsName) {
  ThreadPool named(2, "cairn-test");
  EXPECT_EQ(named.Submit(ThreadName).get(), "cairn-test");
  ThreadPool plain(1);
  EXPECT_EQ(plain.Submit(ThreadName).get(), "cairn-pool");
  std::thread other([] {
    NameThisThread("a-name-longer-than-fifteen-bytes");  // cut, not refused
    EXPECT_EQ(ThreadName(), "a-name-longer-t");
  });
  other.join();
}

TEST(ThreadPoolTest, OneThreadRunsTasksInSubmissionOrder) {
  ThreadPool pool(1);
  std::mutex mu;
  std::vector<int> order;
  std::vector<std::future<void>> done;
  for (int i = 0; i < 100; ++i) {
    done.push_back(pool.Submit([&, i] {
      std::lock_guard lock(mu);
      order.push_back(i);
    }));
  }
  for (auto& f : done) f.get();
  ASSERT_EQ(order.size(), 100u);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(order[i], i);
}

TEST(ThreadPoolTest, DestructorRunsQueuedTasksBeforeJoining) {
  std::atomic<int> ran{0};
  std::promise<void> gate;
  std::shared_future<void> open = gate.get_future().share();
  {
    ThreadPool pool(1);
    // The first task blocks the only worker, so the rest are still queued at destruction.
    (void)pool.Submit([open] { open.wait(); });
    for (int i = 0; i < 50; ++i) (void)pool.Submit([&ran] { ran++; });
    gate.set_value();
  }
  EXPECT_EQ(ran.load(), 50);
}

TEST(ThreadPoolTest, ExceptionsReachTheFuture) {
  ThreadPool pool(1);
  auto f = pool.Submit([]() -> int { throw std::runtime_error("task failed"); });
  EXPECT_THROW(f.get(), std::runtime_error);
  EXPECT_EQ(pool.Submit([] { return 5; }).get(), 5);  // the worker survived
}

TEST(ThreadPoolTest, SubmitIsSafeFromManyThreads) {
  ThreadPool pool(2);
  std::atomic<int> sum{0};
  std::vector<std::thread> submitters;
  for (int t = 0; t < 4; ++t) {
    submitters.emplace_back([&] {
      std::vector<std::future<void>> fs;
      for (int i = 1; i <= 100; ++i) fs.push_back(pool.Submit([&sum, i] { sum += i; }));
      for (auto& f : fs) f.get();
    });
  }
  for (auto& t : submitters) t.join();
  EXPECT_EQ(sum.load(), 4 * 5050);
}

TEST(ThreadPoolTest, DefaultThreadsIsPositive) { EXPECT_GE(ThreadPool::DefaultThreads(), 1); }

}  // namespace
}  // namespace cairn
