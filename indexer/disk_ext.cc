#include "indexer/disk_ext.h"

extern "C" {
#include <e2p/e2p.h>
}

#include <fcntl.h>
#include <unistd.h>

#include <sstream>
#include <vector>

#include "base/coding.h"
#include "indexer/command.h"
#include "indexer/dir_sink.h"
#include "indexer/loop_device.h"
#include "indexer/loop_mount.h"

namespace cairn::indexer {
namespace {

// Sets the compat features `names` ("FEATURE_C15": e2fsprogs knows no name for them, so mke2fs
// takes none) on the ext filesystem at [offset, offset + length) of `image`, with debugfs, which
// takes any and writes the superblocks with their checksums. Compat features are by definition
// safe for code that does not know them.
Status SetUnnamedCompatFeatures(const std::string& image, uint64_t offset, uint64_t length,
                                const std::vector<std::string>& names, const std::string& what) {
  uint32_t want = 0;
  std::string command = "feature";
  for (const auto& name : names) {
    int type = 0;
    unsigned int mask = 0;
    if (e2p_string2feature(const_cast<char*>(name.c_str()), &type, &mask) != 0 ||
        type != E2P_FEATURE_COMPAT) {
      return Status::NotSupported(what + ": unknown feature " + name);
    }
    want |= mask;
    command += " " + name;
  }
  {
    CAIRN_ASSIGN_OR_RETURN(auto loop, LoopDevice::Attach(image, offset, length));
    CAIRN_RETURN_IF_ERROR(
        RunChecked(what, {"debugfs", "-w", "-R", command, loop->path()}).status());
  }
  // debugfs reports a command that failed on stderr only: the superblock says whether it took.
  std::string sb(4, '\0');
  int fd = ::open(image.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus("open", image, errno);
  ssize_t r = ::pread(fd, sb.data(), sb.size(), static_cast<off_t>(offset + 1024 + 92));
  ::close(fd);
  if (r != static_cast<ssize_t>(sb.size()) || (DecodeLittleEndian(sb, 0, 4) & want) != want) {
    return Status::IOError(what + ": debugfs did not set them");
  }
  return Status();
}

}  // namespace

Status MakeExt(cas::ObjectStore* store, const std::string& image, const cas::DiskFilesystem& f,
               uint64_t offset, uint64_t length, bool grown, const CheckoutOptions& options,
               const std::string& target, CheckoutResult* result) {
  std::string where =
      f.volume.empty() ? "partition " + std::to_string(f.partition) : "logical volume " + f.volume;
  uint64_t bs = std::stoull(f.Param("block_size").empty() ? "4096" : f.Param("block_size"));
  // The filesystem's own size: it may be smaller than its partition (grown without resize2fs);
  // only the one --size grows fills its partition.
  const uint64_t old_blocks =
      f.Param("block_count").empty() ? 0 : std::stoull(f.Param("block_count"));
  uint64_t blocks = length / bs;
  if (!grown && old_blocks != 0) blocks = std::min(blocks, old_blocks);
  std::vector<std::string> argv = {"mke2fs", "-q", "-F", "-t", f.type, "-b", std::to_string(bs)};
  if (!f.Param("inode_size").empty()) argv.insert(argv.end(), {"-I", f.Param("inode_size")});
  uint64_t inodes = f.Param("inode_count").empty() ? 0 : std::stoull(f.Param("inode_count"));
  if (inodes && grown && old_blocks) inodes = inodes * blocks / old_blocks;  // keep the ratio
  if (inodes) argv.insert(argv.end(), {"-N", std::to_string(inodes)});
  // A journal of another size than mke2fs's default (-J size= takes whole MiB, as every size
  // e2fsprogs makes is; another is rounded down, which leaves the files more room).
  if (!f.Param("journal_size").empty()) {
    const uint64_t mib = std::max<uint64_t>(1, std::stoull(f.Param("journal_size")) >> 20);
    argv.insert(argv.end(), {"-J", "size=" + std::to_string(mib)});
  }
  // Features e2fsprogs has no name for ("FEATURE_C15") mke2fs does not take: compat ones are set
  // afterwards; incompat and ro_compat ones (checkin refuses them) cannot be made.
  std::vector<std::string> unnamed;
  if (!f.Param("features").empty()) {
    std::string feats = "none";
    std::string word;
    std::stringstream ss(f.Param("features"));
    while (ss >> word) {
      if (!word.starts_with("FEATURE_")) {
        feats += "," + word;
      } else if (word.starts_with("FEATURE_C")) {
        unnamed.push_back(word);
      } else {
        return Status::NotSupported("checkout " + target + ": the " + f.type + " filesystem on " +
                                    where + " has feature " + word +
                                    ", which e2fsprogs does not know, so it cannot be made");
      }
    }
    argv.insert(argv.end(), {"-O", feats});
  }
  if (!f.uuid.empty()) argv.insert(argv.end(), {"-U", f.uuid});
  if (!f.label.empty()) argv.insert(argv.end(), {"-L", f.label});
  argv.insert(argv.end(),
              {"-E", "offset=" + std::to_string(offset), image, std::to_string(blocks)});
  std::string what = "make " + f.type + " on " + where;
  CAIRN_RETURN_IF_ERROR(RunChecked(what, argv).status());
  CAIRN_ASSIGN_OR_RETURN(auto mount, LoopMount::Mount(image, offset, length, /*read_only=*/false));
  CheckoutOptions o = options;
  o.force = true;  // the new filesystem holds lost+found
  DirSink sink(mount->dir());
  auto r = sink.Checkout(store, f.tree, o);
  Status u = mount->Unmount();
  // The files name the temporary mount point: the message names the target and partition.
  if (!r && r.error().code() == Code::kNoSpace) {
    return Status::NoSpace("checkout " + target + ": the files of the " + f.type +
                           " filesystem on " + where + " do not fit in it (" +
                           std::to_string(blocks * bs) + " bytes)");
  }
  if (!r) return r.error();
  CAIRN_RETURN_IF_ERROR(u);
  if (!unnamed.empty()) {
    CAIRN_RETURN_IF_ERROR(SetUnnamedCompatFeatures(
        image, offset, length, unnamed,
        "set the features of the " + f.type + " filesystem on " + where + " of " + target));
  }
  result->files += r->files;
  result->dirs += r->dirs;
  result->bytes += r->bytes;
  return Status();
}

}  // namespace cairn::indexer
