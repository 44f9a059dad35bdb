// Directory trees for the fidelity tests (DESIGN.md, Fidelity): a declarative description of a
// tree with every kind of entry and metadata, a builder that makes it on disk, and Listing, the
// oracle: a complete, comparable record of a directory (per path: type, mode, owner, size,
// mtime in ns, xattrs, symlink target, device numbers, hard-link group, content SHA-256 and
// data extents). `EXPECT_EQ(Listing(a), Listing(b))` says two trees are the same image.
//
// The builder needs root (mknod, chown, trusted.* and security.* xattrs), as the tests run.
#ifndef CAIRN_TESTS_INDEXER_TREE_FIXTURE_H_
#define CAIRN_TESTS_INDEXER_TREE_FIXTURE_H_

#include <gtest/gtest.h>
#include <sys/mount.h>

#include <cstdint>
#include <map>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

namespace cairn::indexer::testing {

// A fresh directory under $TMPDIR, removed with everything in it on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// One entry of a tree to build. `path` is relative to the root ("" is the root itself, whose
// metadata is applied too); parents come before children in a spec.
struct Node {
  enum class Kind { kFile, kSparse, kDir, kSymlink, kHardlink, kChar, kBlock, kFifo, kSocket };
  std::string path;
  Kind kind = Kind::kFile;
  std::string data;  // kFile: the content
  // kSparse: the logical size and the data written at offsets (the rest stays holes).
  uint64_t size = 0;
  std::vector<std::pair<uint64_t, std::string>> pieces;
  std::string target;  // kSymlink: the link target; kHardlink: the existing path it links to
  uint32_t major = 0, minor = 0;  // kChar, kBlock
  // Metadata (not for kHardlink, which shares its target's inode). Symlinks get no mode.
  uint32_t mode = 0644;
  uint32_t uid = 0, gid = 0;
  int64_t mtime_sec = 1600000000;
  uint32_t mtime_nsec = 0;
  std::vector<std::pair<std::string, std::string>> xattrs;
};
using TreeSpec = std::vector<Node>;

// Every kind of entry and metadata the Fidelity section names: empty, small and multi-chunk
// (> 1 MiB, pseudo-random) files; sparse files with holes at the start, middle and end and one
// that is all hole; nested directories; relative, absolute and dangling symlinks; a hard-link
// group of 3 across directories; char and block devices, a fifo, a socket; setuid, setgid,
// sticky; various owners; nanosecond mtimes on files, directories and symlinks; user.*,
// trusted.*, security.capability and POSIX ACL xattrs; non-UTF-8 names and names with spaces
// and newlines. `seed` varies the contents.
TreeSpec FullSpec(uint64_t seed = 1);
// FullSpec without sparse files.
TreeSpec DenseSpec(uint64_t seed = 1);
// Makes `spec` in `dir` (created if missing; it must be empty). Directory times are set last,
// deepest first, so every mtime is the spec's. Fails the current test on any error. Returns
// after SettleCtimes.
void BuildTree(const std::string& dir, const TreeSpec& spec);
// BuildTree's work without gtest: "" when the tree is built, else what failed (bench/ builds the
// fixture through tests/indexer/make_fixture.cc).
std::string TryBuildTree(const std::string& dir, const TreeSpec& spec);
// Waits until inodes changed so far are past a checkin's doubt about recent ctimes
// (indexer::RacyCtime: 20 ms), so that the stat cache trusts them.
void SettleCtimes();

// `n` pseudo-random bytes, the same for the same seed.
std::string RandomBytes(size_t n, uint64_t seed);
// The security.capability value setcap writes for cap_net_raw+ep (VFS_CAP_REVISION_2).
std::string CapNetRawEp();
// A system.posix_acl_access value: user::rw-, user:1000:r--, group::r--, mask::r--, other::r--.
std::string AclUser1000Read();

struct Extent {
  uint64_t offset = 0, length = 0;
  bool operator==(const Extent&) const = default;
};

// What Listing records of one path.
struct Entry {
  char type = '?';  // f d l c b p s
  uint32_t mode = 0;  // mode & 07777 (not for symlinks, whose mode means nothing)
  uint32_t uid = 0, gid = 0;
  uint64_t size = 0;  // regular files only
  int64_t mtime_ns = 0;
  std::map<std::string, std::string> xattrs;
  std::string target;  // symlinks
  uint32_t rdev_major = 0, rdev_minor = 0;
  std::string link_group;  // a multiply-linked file: the first of its paths in the tree
  std::string sha256;  // regular files: hex of the content
  std::vector<Extent> extents;  // regular files: data regions (SEEK_DATA / SEEK_HOLE)
  bool operator==(const Entry&) const = default;
};

struct TreeListing {
  std::map<std::string, Entry> entries;  // by path relative to the root; "" is the root
  bool operator==(const TreeListing&) const = default;
};
// One line per path, for failure messages.
std::string Describe(const std::string& path, const Entry& e);
// gtest prints a listing as its lines (the first 400).
void PrintTo(const TreeListing& l, std::ostream* os);
// The differences between two listings, one line each ("" when equal): readable for big trees.
std::string Diff(const TreeListing& a, const TreeListing& b);

// The complete listing of the directory `dir` (not following symlinks, not crossing into other
// filesystems). Fails the current test on an error.
TreeListing Listing(const std::string& dir);

// Blocks allocated to a file (st_blocks, 512-byte units).
uint64_t AllocatedBytes(const std::string& path);
// Sum of the lengths of the data regions of every sparse regular file in `listing`.
uint64_t SparseDataBytes(const TreeListing& listing);
// Reads every page of file `path` through a read-only shared mapping. On tmpfs this fills the
// file's holes with pages and changes neither its ctime nor its mtime. Fails the current test
// on an error.
void ReadThroughMapping(const std::string& path);

// Runs a shell command; returns its exit status (-1 if it did not exit).
int Shell(const std::string& command);

// Makes `levels` nested directories "d" beneath directory `root` (made first unless
// `root_exists`), a file "f" in each and, with `numbered`, a file named after its level ("0" in
// `root`, "1" in root/d): through descriptors, since the paths pass PATH_MAX.
void MakeDeepTree(const std::string& root, int levels, bool root_exists = false,
                  bool numbered = false);

// Detaches a test's mount at `path` when the test ends, unless it unmounted it itself (and
// cleared `mounted`).
struct MountGuard {
  std::string path;
  bool mounted = true;
  ~MountGuard() {
    if (mounted) ::umount2(path.c_str(), MNT_DETACH);
  }
};

// Writes the tarball `path` with Python's tarfile: `script` is the body (indented four spaces)
// of a `with` block where `t` is open for writing in PAX format, with helpers reg(t, name,
// data=b'', **attrs) for a regular file (mode 0644) and typ(t, name, type, **attrs) for an
// entry of another type (mode 0755), attrs set on its TarInfo (mtime=5, linkname='f',
// pax_headers={...}). The script goes to `path`.py. Returns python3's exit status.
int PyTar(const std::string& path, const std::string& script);

}  // namespace cairn::indexer::testing

#endif  // CAIRN_TESTS_INDEXER_TREE_FIXTURE_H_
