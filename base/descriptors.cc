#include "base/descriptors.h"

#include <dirent.h>
#include <sys/resource.h>

#include <algorithm>
#include <climits>

namespace cairn {

int DescriptorLimit() {
  struct rlimit fds;
  if (::getrlimit(RLIMIT_NOFILE, &fds) != 0 || fds.rlim_cur == RLIM_INFINITY ||
      fds.rlim_cur >= static_cast<rlim_t>(INT_MAX)) {
    return INT_MAX;
  }
  return static_cast<int>(fds.rlim_cur);
}

int DescriptorsFree() {
  const int limit = DescriptorLimit();
  if (limit == INT_MAX) return INT_MAX;
  DIR* d = ::opendir("/proc/self/fd");
  if (d == nullptr) return limit;  // no /proc: the limit is all that is known
  int open = -1;                   // the listing's own descriptor is not one of the command's
  while (const struct dirent* e = ::readdir(d)) {
    if (e->d_name[0] != '.') ++open;
  }
  ::closedir(d);
  return std::max(0, limit - std::max(0, open));
}

int DescriptorsToUse(int want, int others, int least) {
  const int free = DescriptorsFree();
  if (free == INT_MAX) return std::max(want, least);
  return std::max(least, std::min(want, free - others));
}

}  // namespace cairn
