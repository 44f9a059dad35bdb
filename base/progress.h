// Progress: a one-line progress display on stderr for long work (files, bytes, rate, ETA),
// drawn only when stderr is a terminal and at most ten times a second.
//
// Thread-safety: Add may be called from many threads; Draw and Done from one.
#ifndef CAIRN_BASE_PROGRESS_H_
#define CAIRN_BASE_PROGRESS_H_

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>

namespace cairn {

class Progress {
 public:
  // `label` starts the line ("put", "checkin web"). total_bytes 0 means unknown (no ETA).
  Progress(std::string label, uint64_t total_bytes);
  ~Progress();

  void Add(uint64_t files, uint64_t bytes) {
    files_ += files;
    bytes_ += bytes;
    MaybeDraw();
  }
  void SetTotal(uint64_t total_bytes) { total_ = total_bytes; }
  // Clears the line.
  void Done();
  bool enabled() const { return enabled_; }

  // Human-readable size: "1.5 GiB".
  static std::string Bytes(double n);

 private:
  void MaybeDraw();
  std::string label_;
  std::atomic<uint64_t> total_;
  std::atomic<uint64_t> files_{0}, bytes_{0};
  std::atomic<int64_t> last_draw_ns_{0};
  std::chrono::steady_clock::time_point start_;
  bool enabled_;
  bool drawn_ = false;
};

}  // namespace cairn

#endif  // CAIRN_BASE_PROGRESS_H_
