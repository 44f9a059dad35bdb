// The seeds cairn_fuzz_seeds writes for each fuzz target (fuzz/make_seeds.cc), and the helpers
// the seed files share. The targets over images from outside have theirs in image_seeds.cc.
#ifndef CAIRN_FUZZ_SEEDS_H_
#define CAIRN_FUZZ_SEEDS_H_

#include <cstdint>
#include <string>
#include <vector>

namespace cairn::fuzz {

using Seeds = std::vector<std::string>;

// Writes the `bytes` low bytes of `v` little-endian at `at` of `*b` (which holds them already).
void PutLe(std::string* b, size_t at, uint64_t v, int bytes);

// The text metadata of a volume group on its own, and a physical volume holding it.
Seeds LvmSeeds();
// Tarballs of every kind of entry in three formats and compressions, and hostile ones.
Seeds TarSeeds();
// The first bytes of disks: MBR, extended partitions, GPT, ext, LVM, qcow2 and vmdk heads.
Seeds ProbeSeeds();

}  // namespace cairn::fuzz

#endif  // CAIRN_FUZZ_SEEDS_H_
