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
  uint64_t total() const { return total_; }
  // How much of the work is done, when that is not the bytes counted (a tarball: its compressed
  // bytes read, of its size): the percentage and the ETA then follow it instead of the total.
  void SetPosition(uint64_t done, uint64_t of) {
    position_ = done;
    position_total_ = of;
    MaybeDraw();
  }
  // Clears the line.
  void Done();
  bool enabled() const { return enabled_; }
  uint64_t files() const { return files_; }
  uint64_t bytes() const { return bytes_; }
  // The line as drawn `seconds` after the start: "checkin web: 1451 files, 59.3 MiB,
  // 29.9 MiB/s, 38%, ETA 0m3s" (the last two when the total or the position is known).
  std::string Line(double seconds) const;

  // Human-readable size: "1.5 GiB".
  static std::string Bytes(double n);

 private:
  void MaybeDraw();
  std::string label_;
  std::atomic<uint64_t> total_;
  std::atomic<uint64_t> files_{0}, bytes_{0};
  std::atomic<uint64_t> position_{0}, position_total_{0};
  std::atomic<int64_t> last_draw_ns_{0};
  std::chrono::steady_clock::time_point start_;
  bool enabled_;
  bool drawn_ = false;
};

}  // namespace cairn

#endif  // CAIRN_BASE_PROGRESS_H_
