#include "base/progress.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>

namespace cairn {

Progress::Progress(std::string label, uint64_t total_bytes)
    : label_(std::move(label)),
      total_(total_bytes),
      start_(std::chrono::steady_clock::now()),
      enabled_(::isatty(2) == 1) {}

Progress::~Progress() { Done(); }

std::string Progress::Bytes(double n) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (n >= 1024 && u < 4) {
    n /= 1024;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof(buf), u == 0 ? "%.0f %s" : "%.1f %s", n, units[u]);
  return buf;
}

std::string Progress::Line(double secs) const {
  double bytes = static_cast<double>(bytes_.load());
  double rate = secs > 0 ? bytes / secs : 0;
  std::string line = label_ + ": " + std::to_string(files_.load()) + " files, " + Bytes(bytes) +
                     ", " + Bytes(rate) + "/s";
  // The share done: by position when one is set, else by bytes of a known total.
  double done = 0;
  const uint64_t of = position_total_.load(), total = total_.load();
  if (of > 0) {
    done = static_cast<double>(std::min(position_.load(), of)) / static_cast<double>(of);
  } else if (total > 0 && bytes <= static_cast<double>(total)) {
    done = bytes / static_cast<double>(total);
  }
  if (done > 0 && secs > 0) {
    int eta = static_cast<int>(secs * (1 - done) / done + 0.5);
    line += ", " + std::to_string(static_cast<int>(100 * done)) + "%, ETA " +
            std::to_string(eta / 60) + "m" + std::to_string(eta % 60) + "s";
  }
  return line;
}

void Progress::MaybeDraw() {
  if (!enabled_) return;
  auto now = std::chrono::steady_clock::now();
  int64_t ns = std::chrono::duration_cast<std::chrono::nanoseconds>(now - start_).count();
  int64_t last = last_draw_ns_.load();
  if (ns - last < 100'000'000 || !last_draw_ns_.compare_exchange_strong(last, ns)) return;
  std::string line = "\r" + Line(ns / 1e9) + "\x1b[K";
  std::fputs(line.c_str(), stderr);
  drawn_ = true;
}

void Progress::Done() {
  if (enabled_ && drawn_) std::fputs("\r\x1b[K", stderr);
  drawn_ = false;
}

}  // namespace cairn
