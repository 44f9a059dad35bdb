#include "base/thread_name.h"

#include <pthread.h>

#include <cstring>

namespace cairn {

void NameThisThread(const char* name) {
  char cut[16] = {};  // the kernel keeps 15 bytes and refuses longer names (ERANGE)
  std::strncpy(cut, name, sizeof(cut) - 1);
  ::pthread_setname_np(::pthread_self(), cut);
}

}  // namespace cairn
