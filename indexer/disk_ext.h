// Making an ext2/3/4 filesystem of a Disk again in a region of an image file, for DiskSink:
// mke2fs with its UUID, label and recorded creation parameters (block and inode sizes and
// counts, features, the journal's size), filled from its Tree through a read-write loop mount
// (DirSink), then the compat features mke2fs has no name for set with debugfs. Needs root.
#ifndef CAIRN_INDEXER_DISK_EXT_H_
#define CAIRN_INDEXER_DISK_EXT_H_

#include <cstdint>
#include <string>

#include "cas/disk.h"
#include "cas/object_store.h"
#include "indexer/sink.h"

namespace cairn::indexer {

// Makes `f` at bytes [offset, offset + length) of `image` and fills it from f.tree, adding what
// it wrote to *result. The filesystem keeps its recorded block count unless `grown` (then it
// fills `length`, its inode count in proportion). Errors name `target` (the user's name for the
// disk) and the partition or logical volume: NotSupported for an incompat or ro_compat feature
// e2fsprogs has no name for, NoSpace when the files do not fit, IOError from mke2fs, mount,
// losetup or debugfs with their message.
Status MakeExt(cas::ObjectStore* store, const std::string& image, const cas::DiskFilesystem& f,
               uint64_t offset, uint64_t length, bool grown, const CheckoutOptions& options,
               const std::string& target, CheckoutResult* result);

}  // namespace cairn::indexer

#endif  // CAIRN_INDEXER_DISK_EXT_H_
