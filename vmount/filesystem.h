// Filesystem: what a mount serves, one call per file-system operation, for the FUSE adapter
// (vmount/fuse_adapter.h): a MutableTree behind one lock, stored contents read through a
// ContentCache outside it, and, for a writable mount, every change journaled in the Overlay
// as it is made (so that a killed mount process loses nothing).
//
// Thread-safety: every method may be called from many threads at once.
#ifndef CAIRN_VMOUNT_FILESYSTEM_H_
#define CAIRN_VMOUNT_FILESYSTEM_H_

#include <sys/statvfs.h>

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "cas/object_store.h"
#include "vmount/content_cache.h"
#include "vmount/mutable_tree.h"
#include "vmount/overlay.h"

namespace cairn::vmount {

struct FilesystemOptions {
  // Decompressed chunks kept for reads. Default: 16 MiB. The kernel's page cache keeps what
  // was read (keep_cache); this one holds the read-ahead and chunks read in part. Larger
  // costs more than it saves: each new page of it is a page fault (about 20 us on the 2-core
  // VMs here), and a cold tar of v2 took 2.48 s of the mount's CPU with 256 MiB, 1.83 s with
  // 32 MiB, 1.65 s with 16 MiB.
  size_t cache_bytes = 16 << 20;
  // Where statfs reports space (the overlay's file system for a writable mount).
  std::string statfs_path = "/";
};

class Filesystem {
 public:
  // A mount of the stored root Tree `root`. `overlay` null: read-only (edits fail with EROFS);
  // else writable, with upper files and journal in `overlay`, which must outlive this.
  static Result<std::unique_ptr<Filesystem>> Open(std::shared_ptr<cas::ObjectStore> store,
                                                  const ObjectId& root, Overlay* overlay,
                                                  FilesystemOptions options);
  // Replays the overlay's journal (resuming an edit). REQUIRES: writable, nothing served yet.
  Status Replay();
  bool writable() const { return overlay_ != nullptr; }
  bool dirty();

  Result<Attr> Lookup(Ino parent, std::string_view name);
  Result<Attr> GetAttr(Ino ino);
  Result<Attr> SetAttr(Ino ino, const SetAttrRequest& req);
  Result<std::string> ReadLink(Ino ino);
  // uid/gid: the caller's; a setgid parent passes on its group (and, to directories, the bit).
  // `umask` (the caller's, when the kernel leaves it to the file system: FUSE_CAP_DONT_MASK)
  // is applied unless the parent has a default ACL, which takes its place (acl(5)).
  Result<Attr> Make(Ino parent, std::string_view name, NewEntry e, uint32_t umask = 0);
  Status Unlink(Ino parent, std::string_view name);
  Status Rmdir(Ino parent, std::string_view name);
  Status Rename(Ino parent, std::string_view name, Ino new_parent, std::string_view new_name,
                uint32_t flags);
  Result<Attr> Link(Ino ino, Ino new_parent, std::string_view new_name);
  Status Open(Ino ino, bool for_writing);
  void Release(Ino ino);
  Result<ReadBytes> Read(Ino ino, uint64_t offset, size_t size);
  Result<size_t> Write(Ino ino, uint64_t offset, std::string_view data);
  // Makes the file's upper data and the journal durable.
  Status Fsync(Ino ino);
  // SEEK_DATA / SEEK_HOLE; ENXIO past the end.
  Result<uint64_t> Lseek(Ino ino, uint64_t offset, int whence);
  Result<std::vector<DirEntry>> ReadDir(Ino ino);
  Result<std::string> GetXattr(Ino ino, const std::string& name);
  Result<std::vector<std::string>> ListXattrs(Ino ino);
  Status SetXattr(Ino ino, const std::string& name, std::string_view value, int flags);
  Status RemoveXattr(Ino ino, const std::string& name);
  Result<struct statvfs> StatFs();

  // Runs `fn` with every operation held off: commit and rebase. `store` may be replaced. An ok
  // return means the journal was started again from the tree (Overlay::Reset): a mount that
  // refused writes after a journal failure takes them again.
  Status Exclusive(const std::function<Status(MutableTree& tree,
                                              std::shared_ptr<cas::ObjectStore>& store)>& fn);

 private:
  Filesystem() = default;
  // EROFS for a read-only mount; EIO once the tree and the journal may disagree (broken_).
  Status CheckWritable();
  // Returns `failed`; if it is an error, first takes the record the operation journaled (when
  // `journaled`) back out of the journal: the journal holds only what the tree holds.
  Status DropJournaledLocked(bool journaled, Status failed);
  // Journals the metadata of `ino`; if that fails, puts `old` back on the tree.
  Status JournalMetaOrRestoreLocked(Ino ino, const cas::Metadata& old);
  Status CopyUpLocked(Ino ino);
  Status JournalMetaLocked(Ino ino);
  // A kWrite or kTruncate record for the file held in memory at `ino`; false when the file has
  // no name left (nothing journaled).
  Result<bool> JournalContentLocked(Ino ino, JournalOp op, uint64_t number, std::string_view data,
                                    Timestamp now);
  Status AppendLocked(JournalRecord r);

  std::mutex mu_;
  std::shared_ptr<cas::ObjectStore> store_;
  std::unique_ptr<MutableTree> tree_;
  Overlay* overlay_ = nullptr;
  std::unique_ptr<ContentCache> cache_;
  FilesystemOptions options_;
  // Why writes fail with EIO: a change the journal lacks could not be undone (a copy-up whose
  // record failed). Cleared when a commit starts the journal again.
  std::string broken_;
};

}  // namespace cairn::vmount

#endif  // CAIRN_VMOUNT_FILESYSTEM_H_
