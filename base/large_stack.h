// Runs a function on a thread with a stack of its own size: the walks of a tree recurse once
// per directory level, and the main thread's stack is whatever `ulimit -s` gave (8 MiB by
// default, as little as 1 MiB elsewhere), which a tree a few thousand directories deep
// overflows (SIGSEGV, no message). The stack is address space: only the pages used are memory.
#ifndef CAIRN_BASE_LARGE_STACK_H_
#define CAIRN_BASE_LARGE_STACK_H_

#include <cstddef>
#include <functional>

namespace cairn {

// Enough for kMaxDepth (base/rel_path.h) levels of any walk, with room to spare.
constexpr size_t kWalkStackBytes = size_t{64} << 20;

// Runs `fn` on a new thread with a stack of `bytes` and waits for it, every signal blocked
// meanwhile (so that they go to `fn`'s thread, which inherits the caller's mask: a read there
// is interrupted as it would be on the caller's); an exception `fn` throws is thrown again here.
// Where no such thread can be made, runs `fn` on the calling thread.
void RunWithStack(size_t bytes, const std::function<void()>& fn);

}  // namespace cairn

#endif  // CAIRN_BASE_LARGE_STACK_H_
