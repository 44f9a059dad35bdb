// SniffImageFormat: what an image file is, from its first bytes, before anything opens it: a
// disk image (and its container format) or a tarball. Checkin sniffs every regular file it is
// given (catalog/checkin.cc); the probe of what a disk holds is indexer/disk_probe.h.
#ifndef CAIRN_INDEXER_IMAGE_SNIFF_H_
#define CAIRN_INDEXER_IMAGE_SNIFF_H_

#include <string>
#include <string_view>

namespace cairn::indexer {

// The container format of an image file, from its first bytes: "qcow2", "vmdk", "vdi", "vhdx",
// "raw" (an MBR or GPT signature, or an ext superblock at 1024), or "" (not a disk image: a
// tarball, cpio or compressed stream is recognised before any disk signature is looked for).
std::string SniffImageFormat(std::string_view head);  // head: at least the first 4 KiB

}  // namespace cairn::indexer

#endif  // CAIRN_INDEXER_IMAGE_SNIFF_H_
