#include "indexer/dir_sink.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <future>
#include <map>
#include <mutex>
#include <set>

#include "base/descriptors.h"
#include "base/env.h"
#include "base/rel_path.h"
#include "cas/content_reader.h"
#include "cas/tree.h"
#include "indexer/dir_fds.h"
#include "indexer/dir_sink_meta.h"
#include "indexer/fs_meta.h"

namespace cairn::indexer {
namespace {

constexpr int kMaxFilesInFlight = 128;
// Descriptors left to everything else while files are written: the directories held on the
// way down and a removal's (HeldWhileBeneath: 129 each at the 4,096 levels a checkin takes),
// the store's tables and blob files (290 in all).
constexpr int kOtherDescriptors =
    2 * static_cast<int>(kHeldLevels + kMaxDepth / kHeldLevels + 1) + 32;

// Files written at once: kMaxFilesInFlight, or what the descriptors this process may still open
// allow beside kOtherDescriptors (one each). With 128 whatever the limit, a checkout of corpus
// v3 failed under `ulimit -n 256` ("create ...: Too many open files").
int FilesInFlight() { return DescriptorsToUse(kMaxFilesInFlight, kOtherDescriptors); }

std::string Join(const std::string& rel, const std::string& name) {
  return rel.empty() ? name : rel + "/" + name;
}

class Writer {
 public:
  Writer(cas::ObjectStore* store, std::string target, int threads, const CheckoutOptions& o)
      : store_(store),
        reader_(store, threads),
        target_(std::move(target)),
        pool_(threads, "cairn-write"),
        options_(o),
        target_fs_(ThisProcessTargetFs()),
        max_in_flight_(FilesInFlight()) {}

  Result<CheckoutResult> Run(const ObjectId& root) {
    CAIRN_RETURN_IF_ERROR(PrepareTarget());
    CAIRN_ASSIGN_OR_RETURN(cas::Tree tree, LoadTree(root, target_));
    for (const auto& group : tree.hardlinks) {
      for (const auto& p : group) {
        if (!cas::IsSafeRelativePath(p)) {
          return Status::Corruption("checkout: hard link path '" + p + "' is not a safe path");
        }
      }
      for (size_t i = 1; i < group.size(); ++i) link_members_.insert(group[i]);
      // Every directory on the way to a name of the group, up to the root, stays open to its
      // owner until the links are made (a non-root checkout may not write into 0555).
      for (const auto& p : group) {
        for (std::string_view d = ParentOf(p); !d.empty(); d = ParentOf(d)) {
          if (!link_dirs_.insert(std::string(d)).second) break;
        }
      }
    }
    // The target itself is made writable to its owner as an earlier checkout's is under --force,
    // empty or not: the version's root mode replaces its mode at the end anyway. A user's own
    // empty 0555 directory failed without --force ("Permission denied") and took the checkout
    // with it.
    CAIRN_ASSIGN_OR_RETURN(SharedFd fd, OpenDirToWrite(AT_FDCWD, target_, true, target_));
    NoteLeftOutXattrs(".", tree.meta, cas::EntryType::kDirectory);
    Status s = WriteDir(fd, "", tree, 0);
    Status w = WaitAll();
    if (s.ok()) s = w;
    if (s.ok()) s = MakeLinks(fd->fd, tree.hardlinks);
    if (s.ok())
      s = ApplyMetadata(fd->fd, -1, "", tree.meta, cas::EntryType::kDirectory, target_, target_fs_);
    CAIRN_RETURN_IF_ERROR(s);
    result_.dirs++;
    return result_;
  }

 private:
  Status PrepareTarget() {
    std::error_code ec;
    auto st = std::filesystem::symlink_status(target_, ec);
    if (ec || st.type() == std::filesystem::file_type::not_found) {
      if (::mkdir(target_.c_str(), 0700) != 0) return ErrnoStatus("create", target_, errno);
      return Status();
    }
    if (st.type() == std::filesystem::file_type::symlink) {
      return Status::InvalidArgument("checkout " + target_ +
                                     ": target is a symbolic link (a checkout never writes through "
                                     "one: name the directory itself)");
    }
    if (st.type() != std::filesystem::file_type::directory) {
      return Status::InvalidArgument("checkout " + target_ + ": target exists and is not a directory");
    }
    const bool empty = std::filesystem::is_empty(target_, ec);
    // A target that cannot be listed is named as such, not as "not empty" (with a pointer to
    // --force, which cannot help).
    if (ec) return ErrnoStatus("list", target_, ec.value());
    if (!empty && !options_.force) {
      return Status::InvalidArgument("checkout " + target_ +
                                     ": target is not empty (use --force to write into it)");
    }
    return Status();
  }

  // The Tree of directory `shown` (as the messages name it): an error names it, as a file's
  // names the file.
  Result<cas::Tree> LoadTree(const ObjectId& id, const std::string& shown) {
    Result<std::string> data = store_->ReadTyped(id, cas::ObjectType::kTree);
    Result<cas::Tree> tree = data ? cas::DecodeTree(id, *data) : Result<cas::Tree>(data.error());
    if (!tree) {
      return Status(tree.error().code(), "checkout " + shown + ": " + tree.error().message());
    }
    return tree;
  }

  // The directory `rel` (as the messages name it).
  std::string Shown(const std::string& rel) const {
    return rel.empty() ? target_ : target_ + "/" + rel;
  }

  // The directory `rel`, `depth` levels deep (not a multiple of kHeldLevels), opened again by
  // name from the nearest level kept open above it (kept_.back()), never following a symlink.
  Result<SharedFd> Reopen(const std::string& rel, int depth) {
    if (kept_.empty()) return Status::Internal("checkout " + Shown(rel) + ": no level kept open");
    std::string_view above = rel;  // the kept level's path
    for (size_t i = 0; i < static_cast<size_t>(depth) % kHeldLevels; ++i) above = ParentOf(above);
    return OpenBeneath(kept_.back()->fd,
                       std::string_view(rel).substr(above.empty() ? 0 : above.size() + 1),
                       Shown(rel));
  }

  // Opens directory `name` of `parent` to write into it (OpenDirToWrite): with --force it may
  // be an earlier checkout's, which its owner cannot write into.
  // A directory already there (--force) may be a mount point: one the version has as a
  // directory is written into, as the user assembled the target (a root partition with its
  // /boot mounted); RemoveBeneath never removes or empties one.
  Result<SharedFd> OpenDir(int parent, const std::string& name, const std::string& shown) {
    return OpenDirToWrite(parent, name, options_.force, shown);
  }

  // With --force an entry of the same name may exist: remove it unless both are directories.
  Status ClearName(int dirfd, const std::string& name, bool want_dir, const std::string& shown) {
    if (!options_.force) return Status();
    struct stat st;
    if (::fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return Status();
    if (S_ISDIR(st.st_mode) && want_dir) return Status();  // made writable as it is opened
    return RemoveBeneath(dirfd, name, shown);
  }

  // Writes the entries of `tree` into `dirfd`, the directory `rel`, `depth` levels beneath the
  // target. The first kHeldLevels levels, and every kHeldLevels-th beneath, stay open while a
  // subdirectory is written; any other level is closed meanwhile and opened again by name from
  // the nearest kept above it (Reopen): one descriptor per level failed a tree 4,096 deep under
  // `ulimit -n 1024` (EMFILE). (Through ".." with an inode check, a reviewer made a deleted
  // level's inode number come back outside the target, and the rest of it was written there.)
  Status WriteDir(SharedFd& dirfd, const std::string& rel, const cas::Tree& tree, int depth) {
    for (const auto& e : tree.entries) {
      std::string path = Join(rel, e.name);
      std::string shown = target_ + "/" + path;
      CAIRN_RETURN_IF_ERROR(ClearName(dirfd->fd, e.name, e.type == cas::EntryType::kDirectory, shown));
      switch (e.type) {
        case cas::EntryType::kDirectory: {
          CAIRN_ASSIGN_OR_RETURN(cas::Tree child, LoadTree(e.id, shown));
          NoteLeftOutXattrs(path, child.meta, cas::EntryType::kDirectory);
          if (::mkdirat(dirfd->fd, e.name.c_str(), 0700) != 0 && errno != EEXIST) {
            return ErrnoStatus("create directory", shown, errno);
          }
          CAIRN_ASSIGN_OR_RETURN(SharedFd fd, OpenDir(dirfd->fd, e.name, shown));
          const bool release = !HeldWhileBeneath(static_cast<size_t>(depth));
          const bool keep = depth > 0 && static_cast<size_t>(depth) % kHeldLevels == 0;
          if (keep) kept_.push_back(dirfd);
          if (release) dirfd.reset();
          Status written = WriteDir(fd, path, child, depth + 1);
          if (keep) kept_.pop_back();
          CAIRN_RETURN_IF_ERROR(written);
          if (release) {
            CAIRN_ASSIGN_OR_RETURN(dirfd, Reopen(rel, depth));
          }
          // Every child exists now (file contents may still be in flight, which does not
          // touch the directory), so its metadata can be final, but for the directories that
          // lead to hard links: those get theirs once the links are made (MakeLinks).
          if (link_dirs_.contains(path)) {
            link_dir_meta_[path] = child.meta;
          } else {
            CAIRN_RETURN_IF_ERROR(ApplyMetadata(fd->fd, -1, "", child.meta,
                                                cas::EntryType::kDirectory, shown, target_fs_));
          }
          result_.dirs++;
          break;
        }
        case cas::EntryType::kRegular:
          if (link_members_.contains(path)) break;  // linked to its group's first name later
          NoteLeftOutXattrs(path, e.meta, e.type);
          CAIRN_RETURN_IF_ERROR(SubmitFile(dirfd, e, shown));
          break;
        case cas::EntryType::kSymlink:
          if (::symlinkat(e.target.c_str(), dirfd->fd, e.name.c_str()) != 0) {
            return ErrnoStatus("create symlink", shown, errno);
          }
          NoteLeftOutXattrs(path, e.meta, e.type);
          CAIRN_RETURN_IF_ERROR(
              ApplyMetadata(-1, dirfd->fd, e.name, e.meta, e.type, shown, target_fs_));
          break;
        default: {
          mode_t kind = e.type == cas::EntryType::kCharDevice    ? S_IFCHR
                        : e.type == cas::EntryType::kBlockDevice ? S_IFBLK
                        : e.type == cas::EntryType::kFifo        ? S_IFIFO
                                                                 : S_IFSOCK;
          dev_t dev = makedev(e.rdev_major, e.rdev_minor);
          if (::mknodat(dirfd->fd, e.name.c_str(), kind | 0600, dev) != 0) {
            // Only a user with CAP_MKNOD may make a device node; as another the checkout goes on
            // without it, as it goes on without owners, and says so.
            if (errno == EPERM && (S_ISCHR(kind) || S_ISBLK(kind))) {
              result_.left_out.push_back({path, "a device node, which only root may create"});
              break;
            }
            return ErrnoStatus("create node", shown, errno);
          }
          NoteLeftOutXattrs(path, e.meta, e.type);
          CAIRN_RETURN_IF_ERROR(
              ApplyMetadata(-1, dirfd->fd, e.name, e.meta, e.type, shown, target_fs_));
        }
      }
    }
    return Status();
  }

  // Names in left_out each xattr of `m`, the metadata of the entry at `path`, that ApplyMetadata
  // leaves out (the walk's thread only: in walk order).
  void NoteLeftOutXattrs(const std::string& path, const cas::Metadata& m, cas::EntryType type) {
    for (const auto& [k, v] : m.xattrs) {
      std::string_view why = XattrNotHeld(k, v.size(), type, target_fs_.privileged_xattrs);
      if (!why.empty())
        result_.left_out.push_back({"xattr " + k + " of " + path, std::string(why)});
    }
  }

  Status SubmitFile(const SharedFd& dirfd, const cas::TreeEntry& e, const std::string& shown) {
    // Created here, in walk order, so that the directory is complete when the walk leaves it.
    auto fd = std::make_shared<Fd>(::openat(
        dirfd->fd, e.name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (fd->fd < 0) return ErrnoStatus("create", shown, errno);
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [this] { return in_flight_ < max_in_flight_; });
      ++in_flight_;
    }
    jobs_.push_back(pool_.Submit([this, fd, e, shown] {
      Status s = WriteFile(fd->fd, e, shown);
      {
        std::lock_guard lock(mu_);
        --in_flight_;
      }
      cv_.notify_one();
      return s;
    }));
    // Collect finished jobs now and then so the list stays short.
    while (jobs_.size() > 2 * static_cast<size_t>(max_in_flight_)) {
      Status s = jobs_.front().get();
      jobs_.pop_front();
      CAIRN_RETURN_IF_ERROR(s);
    }
    return Status();
  }

  Status WriteFile(int fd, const cas::TreeEntry& e, const std::string& shown) {
    size_t extent = 0;
    uint64_t in_extent = 0;
    Status s = reader_.Read(e.id, [&](std::string_view piece) -> Status {
      while (!piece.empty()) {
        uint64_t off;
        size_t n = piece.size();
        if (e.sparse) {
          if (extent >= e.extents.size()) {
            return Status::Corruption("checkout " + shown + ": content longer than its extents");
          }
          const cas::Extent& x = e.extents[extent];
          off = x.offset + in_extent;
          n = static_cast<size_t>(std::min<uint64_t>(n, x.length - in_extent));
        } else {
          off = in_extent;
        }
        ssize_t w = ::pwrite(fd, piece.data(), n, static_cast<off_t>(off));
        if (w < 0) {
          if (errno == EINTR) continue;
          return ErrnoStatus("write", shown, errno);
        }
        piece.remove_prefix(static_cast<size_t>(w));
        in_extent += static_cast<uint64_t>(w);
        if (e.sparse && in_extent == e.extents[extent].length) {
          ++extent;
          in_extent = 0;
        }
      }
      return Status();
    });
    if (!s.ok()) return s.WithContext("checkout " + shown);
    // A content of another length than the entry says would leave a file of another size
    // (dense) or zeros where data should be (sparse): the tree and its content disagree.
    if (e.sparse ? extent != e.extents.size() : in_extent != e.size) {
      return Status::Corruption("checkout " + shown + ": content does not match the entry's " +
                                (e.sparse ? "extents" : "size"));
    }
    if (e.sparse && ::ftruncate(fd, static_cast<off_t>(e.size)) != 0) {
      return ErrnoStatus("truncate", shown, errno);
    }
    CAIRN_RETURN_IF_ERROR(ApplyMetadata(fd, -1, e.name, e.meta, e.type, shown, target_fs_));
    std::lock_guard lock(mu_);
    result_.files++;
    result_.bytes += e.size;
    if (options_.progress) options_.progress->Add(1, e.size);
    return Status();
  }

  Status WaitAll() {
    Status first;
    for (auto& j : jobs_) {
      Status s = j.get();
      if (first.ok() && !s.ok()) first = s;
    }
    jobs_.clear();
    return first;
  }

  // The links of each group to its first name, then the metadata of the directories that lead
  // to them. Their directories are opened through one DirCursor: each from the deepest
  // directory it shares with the one before.
  Status MakeLinks(int root, const std::vector<std::vector<std::string>>& groups) {
    DirCursor dirs(root, target_);
    for (const auto& g : groups) {
      CAIRN_ASSIGN_OR_RETURN(SharedFd first_dir, dirs.Open(ParentOf(g[0])));
      const std::string first_name(BaseName(g[0]));
      struct stat st;
      if (::fstatat(first_dir->fd, first_name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0 ||
          !S_ISREG(st.st_mode)) {
        return Status::Corruption("checkout: hard link target '" + g[0] + "' is not a file");
      }
      for (size_t i = 1; i < g.size(); ++i) {
        CAIRN_ASSIGN_OR_RETURN(SharedFd dir, dirs.Open(ParentOf(g[i])));
        const std::string name(BaseName(g[i]));
        if (::linkat(first_dir->fd, first_name.c_str(), dir->fd, name.c_str(), 0) != 0) {
          return ErrnoStatus("link", target_ + "/" + g[i], errno);
        }
        // Each name counts, as in the checkin's and the tarball's counts.
        result_.files++;
        result_.bytes += static_cast<uint64_t>(st.st_size);
      }
    }
    // A directory before its parent (reverse order puts "a/b" before "a"), so that each is
    // still open to its owner while one beneath it is reached.
    for (auto it = link_dir_meta_.rbegin(); it != link_dir_meta_.rend(); ++it) {
      const std::string& rel = it->first;
      CAIRN_ASSIGN_OR_RETURN(SharedFd parent, dirs.Open(ParentOf(rel)));
      const std::string name(BaseName(rel));
      Fd dir(::openat(parent->fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (dir.fd < 0) return ErrnoStatus("open directory", target_ + "/" + rel, errno);
      CAIRN_RETURN_IF_ERROR(ApplyMetadata(dir.fd, -1, "", it->second, cas::EntryType::kDirectory,
                                          target_ + "/" + rel, target_fs_));
    }
    return Status();
  }

  cas::ObjectStore* store_;
  cas::ContentReader reader_;
  std::string target_;
  ThreadPool pool_;
  const CheckoutOptions& options_;
  const TargetFs target_fs_;
  const int max_in_flight_;  // FilesInFlight()
  CheckoutResult result_;
  std::set<std::string> link_members_;
  // The levels kept open beneath the first kHeldLevels on the way to the directory being
  // written, the deepest last (WriteDir).
  std::vector<SharedFd> kept_;
  std::deque<std::future<Status>> jobs_;
  // The directories that hold a name of a hard-link group, and their ancestors (not the root);
  // their metadata is applied after the links are made, from link_dir_meta_.
  std::set<std::string> link_dirs_;
  std::map<std::string, cas::Metadata> link_dir_meta_;
  std::mutex mu_;
  std::condition_variable cv_;
  int in_flight_ = 0;
};

}  // namespace

Result<CheckoutResult> DirSink::Checkout(cas::ObjectStore* store, const ObjectId& root,
                                         const CheckoutOptions& options) {
  Writer w(store, target_, threads_, options);
  return w.Run(root);
}

}  // namespace cairn::indexer
