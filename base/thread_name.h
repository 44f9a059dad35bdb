// NameThisThread: the name ps, top -H, perf and gdb show for a thread of cairn's.
#ifndef CAIRN_BASE_THREAD_NAME_H_
#define CAIRN_BASE_THREAD_NAME_H_

namespace cairn {

// Names the calling thread (pthread_setname_np; at most 15 bytes are kept). Costs one system
// call.
void NameThisThread(const char* name);

}  // namespace cairn

#endif  // CAIRN_BASE_THREAD_NAME_H_
