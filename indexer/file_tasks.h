// FileTasks: the reading of the regular files a directory walk finds (indexer/dir_source.cc),
// on a pool of threads. Each file is read and stored (ReadAndStoreFile); small dense ones are
// read together (ReadAndStoreFiles) while every reader is busy; at most kMaxFilesInFlight files
// are read or wait to be at once, so that the walk's memory stays bounded.
//
// Thread-safety: Submit, Flush and Wait are called by one thread (the walk); `done` is called on
// the reading threads.
#ifndef CAIRN_INDEXER_FILE_TASKS_H_
#define CAIRN_INDEXER_FILE_TASKS_H_

#include <sys/stat.h>

#include <condition_variable>
#include <functional>
#include <future>
#include <mutex>
#include <string>
#include <vector>

#include "base/thread_pool.h"
#include "cas/ingestor.h"
#include "indexer/file_reader.h"
#include "indexer/source.h"

namespace cairn::indexer {

class FileTasks {
 public:
  // Called once per file read, whatever the result, on the reading thread and before the
  // result is given out.
  using Done = std::function<void(const struct stat& st, const Result<FileOut>& r)>;

  // `threads` readers, storing into `ingestor`; `options` must outlive this.
  FileTasks(int threads, cas::Ingestor* ingestor, const CheckinOptions& options, Done done);
  // Waits for the tasks (Wait).
  ~FileTasks();
  FileTasks(const FileTasks&) = delete;
  FileTasks& operator=(const FileTasks&) = delete;

  // The source root the files are opened from (ReadAndStoreFile's `root_fd`), open until the
  // tasks end. Set before the first Submit.
  void set_root_fd(int fd) { root_fd_ = fd; }

  // Reads and stores file `path` (`rel` beneath the root, lstat'ed as `st`); its result once
  // read. A small file may wait to be read with others until the next Submit or Flush.
  std::shared_future<Result<FileOut>> Submit(const std::string& path, const std::string& rel,
                                             const struct stat& st);
  // Starts reading the files waiting to be read together. Called before the walk waits for
  // any result: a file still waiting would never be read.
  void Flush();
  // Flush, then waits until no task runs: none refers to the caller's state any more.
  void Wait();

 private:
  struct Batch {
    std::vector<FileToStore> files;
    std::vector<std::promise<Result<FileOut>>> promises;
    uint64_t bytes = 0;
  };
  // Waits for room for `n` more files (kMaxFilesInFlight), and counts one task.
  void TakeSlots(int n);
  // Notifies under the lock: a caller that sees no task left may go at once.
  void ReleaseSlots(int n);
  bool ReadersIdle();

  cas::Ingestor* ingestor_;
  const CheckinOptions& options_;
  const Done done_;
  const size_t batch_files_max_;  // BatchFilesMax (file_tasks.cc)
  int root_fd_ = -1;
  std::mutex mu_;
  std::condition_variable cv_;
  int in_flight_ = 0;        // files read or waiting to be (under mu_)
  int tasks_in_flight_ = 0;  // the reading tasks of those (under mu_)
  Batch batch_;              // the walk's thread only
  ThreadPool pool_;          // last: its threads use the members above
};

}  // namespace cairn::indexer

#endif  // CAIRN_INDEXER_FILE_TASKS_H_
