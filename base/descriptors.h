// Descriptors: how many more files this process may open (RLIMIT_NOFILE), for work that opens
// many at once and must leave room for the rest of the command (the store's table files, a
// walk's directories). cairn raises its soft limit towards the hard one at start (tools/main.cc),
// so these matter where the hard limit itself is low (`ulimit -n 256`, a container's 1,024).
#ifndef CAIRN_BASE_DESCRIPTORS_H_
#define CAIRN_BASE_DESCRIPTORS_H_

namespace cairn {

// The soft limit on open descriptors; INT_MAX when unlimited (or not known).
int DescriptorLimit();

// DescriptorLimit() less the descriptors open now (counted in /proc/self/fd); INT_MAX when
// unlimited.
int DescriptorsFree();

// `want`, or what DescriptorsFree() leaves beside `others` descriptors kept for everything else
// (one each), whichever is less; never below `least`.
int DescriptorsToUse(int want, int others, int least = 1);

}  // namespace cairn

#endif  // CAIRN_BASE_DESCRIPTORS_H_
