#include "indexer/mapped_file.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <mutex>

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22  // Linux 5.14
#endif

namespace cairn::indexer {
namespace {

// The mappings the SIGBUS handler knows, a slot each: [begin, end) and the file's path. A slot
// is free when begin is 0. Slots are claimed and released with atomics only, so the handler
// may read them at any moment.
constexpr int kSlots = 64;
struct Slot {
  std::atomic<uintptr_t> begin{0};
  std::atomic<uintptr_t> end{0};
  std::atomic<const char*> path{nullptr};
};
Slot g_slots[kSlots];
struct sigaction g_previous_bus;

void WriteAll(const char* s, size_t n) {
  while (n > 0) {
    ssize_t w = ::write(STDERR_FILENO, s, n);
    if (w <= 0) return;
    s += w;
    n -= static_cast<size_t>(w);
  }
}

void OnBus(int sig, siginfo_t* info, void* context) {
  const auto addr = reinterpret_cast<uintptr_t>(info->si_addr);
  for (Slot& s : g_slots) {
    const uintptr_t b = s.begin.load(std::memory_order_acquire);
    if (b == 0 || addr < b || addr >= s.end.load(std::memory_order_acquire)) continue;
    const char* path = s.path.load(std::memory_order_acquire);
    static const char kHead[] = "cairn: read ";
    static const char kTail[] =
        ": Input/output error, or the file was truncated after its lease was broken (a page of "
        "the mapped file could not be read); nothing was recorded\n";
    WriteAll(kHead, sizeof(kHead) - 1);
    if (path != nullptr) WriteAll(path, std::strlen(path));
    WriteAll(kTail, sizeof(kTail) - 1);
    ::_exit(6);  // kExitIO (docs/cli.md): the repository is as a crash leaves it
  }
  // Not one of ours: whoever handled SIGBUS before (a sanitizer), else the default action.
  if ((g_previous_bus.sa_flags & SA_SIGINFO) != 0 && g_previous_bus.sa_sigaction != nullptr) {
    g_previous_bus.sa_sigaction(sig, info, context);
    return;
  }
  if (g_previous_bus.sa_handler != SIG_IGN && g_previous_bus.sa_handler != SIG_DFL &&
      g_previous_bus.sa_handler != nullptr) {
    g_previous_bus.sa_handler(sig);
    return;
  }
  ::signal(SIGBUS, SIG_DFL);  // the faulting access runs again and ends the process
}

void InstallHandlers() {
  static std::once_flag once;
  std::call_once(once, [] {
    struct sigaction sa {};
    sa.sa_sigaction = OnBus;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    ::sigaction(SIGBUS, &sa, &g_previous_bus);
    // A lease's break notice is SIGIO, whose default action ends the process.
    struct sigaction io {};
    if (::sigaction(SIGIO, nullptr, &io) == 0 && (io.sa_flags & SA_SIGINFO) == 0 &&
        io.sa_handler == SIG_DFL) {
      ::signal(SIGIO, SIG_IGN);
    }
  });
}

int Register(const char* base, size_t size, const char* path) {
  for (int i = 0; i < kSlots; ++i) {
    uintptr_t expected = 0;
    // Claimed with a placeholder first, so that the handler never sees a slot half set.
    if (!g_slots[i].begin.compare_exchange_strong(expected, UINTPTR_MAX)) continue;
    g_slots[i].path.store(path, std::memory_order_release);
    g_slots[i].end.store(reinterpret_cast<uintptr_t>(base) + size, std::memory_order_release);
    g_slots[i].begin.store(reinterpret_cast<uintptr_t>(base), std::memory_order_release);
    return i;
  }
  return -1;
}

}  // namespace

MappedFile::MappedFile(int fd, const char* base, size_t size, std::string path)
    : fd_(fd), base_(base), size_(size), path_(std::move(path)) {}

std::unique_ptr<MappedFile> MappedFile::Map(int fd, uint64_t size, const std::string& path) {
  if (size == 0 || size > kMaxMapped) return nullptr;
  InstallHandlers();
  if (::fcntl(fd, F_SETLEASE, F_RDLCK) != 0) return nullptr;
  auto release = [fd] { (void)::fcntl(fd, F_SETLEASE, F_UNLCK); };
  // The size as the lease holds it: a truncation before the lease is the caller's to see.
  struct stat st;
  if (::fstat(fd, &st) != 0 || static_cast<uint64_t>(st.st_size) != size) {
    release();
    return nullptr;
  }
  void* p = ::mmap(nullptr, static_cast<size_t>(size), PROT_READ, MAP_PRIVATE, fd, 0);
  if (p == MAP_FAILED) {
    release();
    return nullptr;
  }
  std::unique_ptr<MappedFile> m(
      new MappedFile(fd, static_cast<const char*>(p), static_cast<size_t>(size), path));
  m->slot_ = Register(m->base_, m->size_, m->path_.c_str());
  // Without a slot or MADV_POPULATE_READ the mapping is not guarded: the caller reads instead.
  if (m->slot_ < 0 || ::madvise(p, 1, MADV_POPULATE_READ) != 0) return nullptr;
  return m;
}

MappedFile::~MappedFile() {
  if (slot_ >= 0) {
    g_slots[slot_].begin.store(UINTPTR_MAX, std::memory_order_release);  // not ours to match
    g_slots[slot_].path.store(nullptr, std::memory_order_release);
    g_slots[slot_].end.store(0, std::memory_order_release);
    g_slots[slot_].begin.store(0, std::memory_order_release);  // free
  }
  ::munmap(const_cast<char*>(base_), size_);
  (void)::fcntl(fd_, F_SETLEASE, F_UNLCK);
}

Status MappedFile::Populate(size_t offset, size_t n) {
  if (offset >= size_ || n == 0) return Status();
  n = std::min(n, size_ - offset);
  const auto page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  const size_t start = offset / page * page;
  if (::madvise(const_cast<char*>(base_) + start, offset + n - start, MADV_POPULATE_READ) == 0) {
    return Status();
  }
  // EFAULT: a page past the end (the file shrank, which the lease should have prevented);
  // EIO and the rest: the disk.
  return ErrnoStatus("read", path_, errno == EFAULT ? EIO : errno);
}

}  // namespace cairn::indexer
