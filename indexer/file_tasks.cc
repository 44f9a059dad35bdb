#include "indexer/file_tasks.h"

#include <algorithm>
#include <memory>

#include "base/descriptors.h"
#include "cas/rocks_store.h"

namespace cairn::indexer {
namespace {

// Files read at once or waiting to be.
constexpr int kMaxFilesInFlight = 256;
// Descriptors a walk holds beside its readers' files: the directories scanned ahead and by the
// prefetch, the source's root (twice), the lookups' and readers' rings, the stat cache, the
// watcher's socket.
constexpr int kWalkDescriptors = 32;

// Small files read together at most (a batch holds them all open): kBatchedFilesMax, or fewer
// where the descriptors left beside the store's and the walk's do not allow one batch per
// reader. With 64 whatever the limit, a checkin of corpus v3 failed under `ulimit -n 128`
// (a RocksDB table, then a directory: "Too many open files").
size_t BatchFilesMax(int threads) {
  threads = std::max(threads, 1);
  const int all = DescriptorsToUse(static_cast<int>(kBatchedFilesMax) * threads,
                                   cas::WriterDescriptorsMax() + kWalkDescriptors);
  return static_cast<size_t>(std::max(all / threads, 1));
}

}  // namespace

FileTasks::FileTasks(int threads, cas::Ingestor* ingestor, const CheckinOptions& options, Done done)
    : ingestor_(ingestor),
      options_(options),
      done_(std::move(done)),
      batch_files_max_(BatchFilesMax(threads)),
      pool_(threads, "cairn-read") {}

FileTasks::~FileTasks() { Wait(); }

std::shared_future<Result<FileOut>> FileTasks::Submit(const std::string& path,
                                                      const std::string& rel,
                                                      const struct stat& st) {
  if (static_cast<uint64_t>(st.st_size) <= kBatchedFileMax) {
    if (batch_.bytes + static_cast<uint64_t>(st.st_size) > kBatchedBytesMax) Flush();
    batch_.files.push_back({path, rel, st});
    batch_.bytes += static_cast<uint64_t>(st.st_size);
    std::shared_future<Result<FileOut>> fut = batch_.promises.emplace_back().get_future().share();
    // Small files wait to be read together only while every reader is busy.
    if (batch_.files.size() >= batch_files_max_ || ReadersIdle()) Flush();
    return fut;
  }
  TakeSlots(1);
  return pool_
      .Submit([this, path, rel, st] {
        Result<FileOut> r = ReadAndStoreFile(ingestor_, path, rel, st, options_, root_fd_);
        done_(st, r);
        ReleaseSlots(1);
        return r;
      })
      .share();
}

void FileTasks::Flush() {
  if (batch_.files.empty()) return;
  const int n = static_cast<int>(batch_.files.size());
  TakeSlots(n);
  pool_.Submit([this, n, b = std::make_shared<Batch>(std::move(batch_))] {
    std::vector<Result<FileOut>> rs = ReadAndStoreFiles(ingestor_, b->files, options_, root_fd_);
    for (size_t i = 0; i < rs.size(); ++i) done_(b->files[i].st, rs[i]);
    // The last use of this object and the caller's state: once a result is out, or the slots
    // are released, the caller may finish and go (Wait).
    ReleaseSlots(n);
    for (size_t i = 0; i < rs.size(); ++i) b->promises[i].set_value(std::move(rs[i]));
  });
  batch_ = Batch();
}

void FileTasks::Wait() {
  Flush();
  std::unique_lock lock(mu_);
  cv_.wait(lock, [&] { return tasks_in_flight_ == 0; });
}

void FileTasks::TakeSlots(int n) {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [&] { return in_flight_ + n <= kMaxFilesInFlight; });
  in_flight_ += n;
  ++tasks_in_flight_;
}

void FileTasks::ReleaseSlots(int n) {
  std::lock_guard lock(mu_);
  in_flight_ -= n;
  --tasks_in_flight_;
  cv_.notify_one();
}

bool FileTasks::ReadersIdle() {
  std::lock_guard lock(mu_);
  return tasks_in_flight_ < pool_.size();
}

}  // namespace cairn::indexer
