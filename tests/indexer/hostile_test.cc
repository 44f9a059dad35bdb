// Hostile trees: stored Trees crafted directly (cas::EncodeTree + Ingestor::PutObject, past
// every Source's checks) that try to make DirSink write outside its target. Whatever the tree,
// the directory OUTSIDE beside the target must stay empty.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <thread>

#include "base/sha256.h"
#include "cas/ingestor.h"
#include "cas/memory_store.h"
#include "cas/tree.h"
#include "indexer/dir_sink.h"
#include "tests/indexer/tree_fixture.h"

namespace cairn::indexer {
namespace {

using testing::Listing;
using testing::TempDir;

class HostileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    outside_ = tmp_ / "OUTSIDE";
    target_ = tmp_ / "target";
    ASSERT_EQ(::mkdir(outside_.c_str(), 0755), 0);
  }

  // Stores `tree` as is (no canonicalisation, no validation) and returns its id.
  ObjectId Put(const cas::Tree& tree) {
    cas::Ingestor ing(&store_, cas::IngestOptions{});
    auto id = ing.PutObject(cas::ObjectType::kTree, cas::EncodeTree(tree));
    EXPECT_TRUE(id) << id.error().ToString();
    EXPECT_TRUE(ing.Finish().ok());
    return id ? *id : ObjectId();
  }
  ObjectId PutContent(const std::string& data) {
    cas::Ingestor ing(&store_, cas::IngestOptions{});
    auto c = ing.PutBytes(data);
    EXPECT_TRUE(c) << c.error().ToString();
    EXPECT_TRUE(ing.Finish().ok());
    return c ? c->id : ObjectId();
  }

  static cas::Metadata Meta(uint32_t mode = 0755) {
    cas::Metadata m;
    m.mode = mode;
    m.mtime_sec = 1600000000;
    return m;
  }
  cas::TreeEntry File(const std::string& name, const std::string& data = "pwned") {
    cas::TreeEntry e;
    e.name = name;
    e.type = cas::EntryType::kRegular;
    e.meta = Meta(0644);
    e.size = data.size();
    e.id = PutContent(data);
    return e;
  }
  static cas::TreeEntry Symlink(const std::string& name, const std::string& target) {
    cas::TreeEntry e;
    e.name = name;
    e.type = cas::EntryType::kSymlink;
    e.meta = Meta(0777);
    e.target = target;
    return e;
  }
  cas::TreeEntry Dir(const std::string& name, std::vector<cas::TreeEntry> entries) {
    cas::Tree t;
    t.meta = Meta();
    t.entries = std::move(entries);
    cas::TreeEntry e;
    e.name = name;
    e.type = cas::EntryType::kDirectory;
    e.id = Put(t);
    return e;
  }
  ObjectId Root(std::vector<cas::TreeEntry> entries,
                std::vector<std::vector<std::string>> hardlinks = {}) {
    cas::Tree t;
    t.meta = Meta();
    t.entries = std::move(entries);
    t.hardlinks = std::move(hardlinks);
    for (auto& g : t.hardlinks) std::sort(g.begin(), g.end());  // canonical, or decode rejects
    return Put(t);
  }

  Status Checkout(const ObjectId& root, bool force = false, const std::string& target = "") {
    CheckoutOptions o;
    o.force = force;
    return DirSink(target.empty() ? target_ : target).Checkout(&store_, root, o).status();
  }

  // Nothing was written outside the target: OUTSIDE is empty and tmp_ holds only what the
  // test made.
  void ExpectNothingOutside() {
    EXPECT_TRUE(std::filesystem::is_empty(outside_)) << "something was written to OUTSIDE";
    for (const auto& d : std::filesystem::directory_iterator(tmp_.path())) {
      std::string n = d.path().filename().string();
      EXPECT_TRUE(n == "OUTSIDE" || n == "target" || n == "keep" || n == "link")
          << "written beside the target: " << n;
    }
  }

  TempDir tmp_;
  cas::MemoryStore store_;
  std::string outside_, target_;
};

TEST_F(HostileTest, DecodeRejectsUnsafeNames) {
  for (std::string name : {std::string(".."), std::string("."), std::string(""),
                           std::string("a/b"), std::string("/etc"), std::string("a\0b", 3)}) {
    cas::Tree t;
    t.meta = Meta();
    cas::TreeEntry e = Symlink(name, "x");
    t.entries.push_back(e);
    std::string data = cas::EncodeTree(t);
    auto r = cas::DecodeTree(Sha256::Of(data), data);
    ASSERT_FALSE(r) << "accepted name '" << name << "'";
    EXPECT_TRUE(r.error().IsCorruption()) << r.error().ToString();
  }
}

// The root's hard link table holds paths, not names: each of their components must be a safe
// name, or the decoder refuses the Tree (found by fuzz/tree_fuzzer.cc: "twr/" was accepted).
TEST_F(HostileTest, DecodeRejectsUnsafeHardLinkPaths) {
  for (std::string bad : {std::string("../x"), std::string("/etc/x"), std::string("b//c"),
                          std::string("b/"), std::string("./x"), std::string("b/\0/c", 5)}) {
    cas::Tree t;
    t.meta = Meta();
    t.entries.push_back(Symlink("a", "x"));
    t.hardlinks = {{"a", bad}};
    std::sort(t.hardlinks[0].begin(), t.hardlinks[0].end());
    std::string data = cas::EncodeTree(t);
    auto r = cas::DecodeTree(Sha256::Of(data), data);
    ASSERT_FALSE(r) << "accepted hard link path '" << bad << "'";
    EXPECT_TRUE(r.error().IsCorruption()) << r.error().ToString();
  }
  cas::Tree t;
  t.meta = Meta();
  t.hardlinks = {{"a", "sub/b"}};
  std::string data = cas::EncodeTree(t);
  EXPECT_TRUE(cas::DecodeTree(Sha256::Of(data), data)) << "a safe path in a subdirectory";
}

TEST_F(HostileTest, DecodeRejectsDuplicateAndUnsortedNames) {
  for (auto names : {std::vector<std::string>{"a", "a"}, std::vector<std::string>{"b", "a"}}) {
    cas::Tree t;
    t.meta = Meta();
    for (const auto& n : names) t.entries.push_back(Symlink(n, "x"));
    std::string data = cas::EncodeTree(t);
    auto r = cas::DecodeTree(Sha256::Of(data), data);
    ASSERT_FALSE(r);
    EXPECT_TRUE(r.error().IsCorruption());
  }
}

// If ".." were accepted the sink would write target/../escaped.
// No Source can store a Tree the decoder rejects: every tree DecodeTree refuses is refused by
// CanonicalizeTree (which Sources call) as InvalidArgument naming the entry, before it is
// encoded (a tarball's empty symbolic link target was stored, then "decode tree: bad entry").
TEST_F(HostileTest, CanonicalizeRefusesWhatDecodeRejects) {
  struct Case {
    const char* what;
    std::function<void(cas::Tree*)> spoil;
  };
  const Case cases[] = {
      {"empty symlink target", [](cas::Tree* t) { t->entries[0].target = ""; }},
      {"NUL in symlink target",
       [](cas::Tree* t) { t->entries[0].target = std::string("a\0b", 3); }},
      {"mode", [](cas::Tree* t) { t->entries[0].meta.mode = 010000; }},
      {"directory mode", [](cas::Tree* t) { t->meta.mode = 0100755; }},
      {"nanoseconds", [](cas::Tree* t) { t->entries[1].meta.mtime_nsec = 1000000000; }},
      {"empty xattr name",
       [](cas::Tree* t) {
         t->entries[1].meta.xattrs = {{"", "v"}};
       }},
      {"xattr twice",
       [](cas::Tree* t) {
         t->entries[1].meta.xattrs = {{"user.a", "1"}, {"user.a", "2"}};
       }},
      {"extent beyond size",
       [](cas::Tree* t) {
         t->entries[1].sparse = true;
         t->entries[1].extents = {{0, t->entries[1].size + 1}};
       }},
      {"empty extent",
       [](cas::Tree* t) {
         t->entries[1].sparse = true;
         t->entries[1].extents = {{0, 0}};
       }},
      {"overlapping extents",
       [](cas::Tree* t) {
         t->entries[1].sparse = true;
         t->entries[1].extents = {{0, 3}, {2, 1}};
       }},
      {"extents of a dense file",
       [](cas::Tree* t) {
         t->entries[1].extents = {{0, 1}};
       }},
      {"hardlink group of one", [](cas::Tree* t) { t->hardlinks = {{"f"}}; }},
      {"hardlink path twice",
       [](cas::Tree* t) {
         t->hardlinks = {{"f", "f"}};
       }},
      {"unsafe hardlink path",
       [](cas::Tree* t) {
         t->hardlinks = {{"../x", "f"}};
       }},
      {"unknown type", [](cas::Tree* t) { t->entries[0].type = static_cast<cas::EntryType>(9); }},
  };
  for (const Case& c : cases) {
    cas::Tree t;
    t.meta = Meta();
    t.entries = {Symlink("a", "x"), File("f")};
    ASSERT_TRUE(cas::CanonicalizeTree(&t).ok()) << "the unspoilt tree";
    c.spoil(&t);
    std::string data = cas::EncodeTree(t);
    EXPECT_FALSE(cas::DecodeTree(Sha256::Of(data), data)) << c.what << ": decoded";
    Status s = cas::CanonicalizeTree(&t);
    EXPECT_EQ(s.code(), Code::kInvalidArgument) << c.what << ": " << s.ToString();
    EXPECT_TRUE(s.message().starts_with("tree ")) << c.what << ": " << s.message();
  }
}

TEST_F(HostileTest, DotDotDirectoryIsRejectedAndNothingEscapes) {
  ObjectId root = Root({Dir("..", {File("escaped")})});
  Status s = Checkout(root);
  EXPECT_TRUE(s.IsCorruption()) << s.ToString();
  ExpectNothingOutside();
  EXPECT_FALSE(std::filesystem::exists(tmp_ / "escaped"));
}

// If "a/b" were accepted, openat("a/b", O_NOFOLLOW) would follow the symlink "a" (only the last
// component is not followed) and write OUTSIDE/b.
TEST_F(HostileTest, SlashInNameIsRejectedAndNothingEscapes) {
  ObjectId root = Root({Symlink("a", outside_), File("a/b")});
  Status s = Checkout(root);
  EXPECT_TRUE(s.IsCorruption()) << s.ToString();
  ExpectNothingOutside();
}

TEST_F(HostileTest, EmptyNameIsRejected) {
  ObjectId root = Root({File("")});
  Status s = Checkout(root);
  EXPECT_TRUE(s.IsCorruption()) << s.ToString();
  ExpectNothingOutside();
}

// The realistic attack: a symlink "evil" -> OUTSIDE, then a hard link through it. The sink
// resolves link paths without following symlinks, so it fails or neutralises the link.
TEST_F(HostileTest, HardLinkThroughSymlinkDoesNotWriteOutside) {
  ObjectId root = Root({File("a"), Symlink("evil", outside_)}, {{"a", "evil/pwned"}});
  Status s = Checkout(root);
  EXPECT_FALSE(s.ok()) << "a link through a symlink was made";
  ExpectNothingOutside();
  struct stat st;
  ASSERT_EQ(::lstat((target_ + "/evil").c_str(), &st), 0);
  EXPECT_TRUE(S_ISLNK(st.st_mode));
}

// The group's first path (the existing file others link to) through a symlink: it would pull
// an outside file into the target as a hard link (then writable through the target).
TEST_F(HostileTest, HardLinkSourceThroughSymlinkDoesNotLinkAnOutsideFile) {
  std::string secret = tmp_ / "keep";
  testing::Shell("echo secret > '" + secret + "'");
  // evil -> tmp_, group ["evil/keep", "file"]: "file" would become a link to tmp_/keep.
  ObjectId root = Root({Symlink("evil", tmp_.path()), File("file")}, {{"evil/keep", "file"}});
  Status s = Checkout(root);
  EXPECT_FALSE(s.ok());
  struct stat st;
  ASSERT_EQ(::stat(secret.c_str(), &st), 0);
  EXPECT_EQ(st.st_nlink, 1u) << "an outside file was hard-linked into the target";
  ExpectNothingOutside();
}

// A group whose first name is a symlink to an outside file: linkat would link the symlink (or,
// followed, the outside file). The sink requires a regular file.
TEST_F(HostileTest, HardLinkToSymlinkEntryIsRejected) {
  std::string secret = tmp_ / "keep";
  testing::Shell("echo secret > '" + secret + "'");
  ObjectId root = Root({Symlink("evil", secret)}, {{"evil", "z"}});
  Status s = Checkout(root);
  EXPECT_TRUE(s.IsCorruption()) << s.ToString();
  EXPECT_FALSE(std::filesystem::exists(target_ + "/z"));
  struct stat st;
  ASSERT_EQ(::stat(secret.c_str(), &st), 0);
  EXPECT_EQ(st.st_nlink, 1u);
  ExpectNothingOutside();
}

TEST_F(HostileTest, UnsafeHardLinkPathsAreRejectedBeforeWriting) {
  for (auto group : {std::vector<std::string>{"a", "../x"},
                     std::vector<std::string>{outside_ + "/x", "a"},
                     std::vector<std::string>{"a", "sub/../../x"},
                     std::vector<std::string>{"a", "./x"},
                     std::vector<std::string>{"a", "b//c"}}) {
    std::filesystem::remove_all(target_);
    ObjectId root = Root({File("a"), Dir("sub", {})}, {group});
    Status s = Checkout(root);
    EXPECT_TRUE(s.IsCorruption()) << group[1] << ": " << s.ToString();
    EXPECT_NE(s.message().find("bad hardlink path"), std::string::npos) << s.ToString();
    ExpectNothingOutside();
    EXPECT_FALSE(std::filesystem::exists(tmp_ / "x"));
    EXPECT_TRUE(std::filesystem::is_empty(target_)) << "rejected before anything is written";
  }
}

// --force replaces a symlink the target already holds; it never writes through it.
TEST_F(HostileTest, ForceDoesNotWriteThroughExistingSymlinkToDirectory) {
  ASSERT_EQ(::mkdir(target_.c_str(), 0755), 0);
  ASSERT_EQ(::symlink(outside_.c_str(), (target_ + "/x").c_str()), 0);
  ObjectId root = Root({Dir("x", {File("f", "data")})});
  Status s = Checkout(root, /*force=*/true);
  ASSERT_TRUE(s.ok()) << s.ToString();
  ExpectNothingOutside();
  struct stat st;
  ASSERT_EQ(::lstat((target_ + "/x").c_str(), &st), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
  EXPECT_TRUE(std::filesystem::is_regular_file(std::filesystem::symlink_status(target_ + "/x/f")));
}

TEST_F(HostileTest, ForceDoesNotWriteThroughExistingSymlinkToFile) {
  ASSERT_EQ(::mkdir(target_.c_str(), 0755), 0);
  ASSERT_EQ(::symlink((outside_ + "/f").c_str(), (target_ + "/f").c_str()), 0);
  ObjectId root = Root({File("f", "data")});
  Status s = Checkout(root, /*force=*/true);
  ASSERT_TRUE(s.ok()) << s.ToString();
  ExpectNothingOutside();
  EXPECT_TRUE(std::filesystem::is_regular_file(std::filesystem::symlink_status(target_ + "/f")));
}

// --force never removes or empties a mount point of the target, where the version has another
// kind of entry: what is mounted there (a bind mount's directory may be anywhere) stays as it
// was, mode included. (A directory the version has too is written into, as the user assembled
// the target: a root partition with /boot mounted.) A reviewer bound a 0555 directory from
// outside at target/d: the first RemoveBeneath emptied it and, as root, made it 0755.
TEST_F(HostileTest, ForceNeverRemovesAMountPoint) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to bind-mount";
  ASSERT_EQ(::mkdir((outside_ + "/e").c_str(), 0755), 0);
  std::ofstream(outside_ + "/e/p") << "precious";
  ASSERT_EQ(::chmod(outside_.c_str(), 0555), 0);
  ASSERT_EQ(::mkdir(target_.c_str(), 0755), 0);
  ASSERT_EQ(::mkdir((target_ + "/d").c_str(), 0755), 0);
  ASSERT_EQ(testing::Shell("mount --bind " + outside_ + " " + target_ + "/d"), 0);
  testing::MountGuard guard{target_ + "/d"};
  Status s = Checkout(Root({File("d", "img")}), /*force=*/true);
  ASSERT_EQ(testing::Shell("umount " + target_ + "/d"), 0);
  guard.mounted = false;
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.message(), "remove " + target_ +
                             "/d: a mount point (what is mounted beneath the target is not "
                             "removed: unmount it first)");
  struct stat st;
  ASSERT_EQ(::stat(outside_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0555u);
  EXPECT_EQ(::stat((outside_ + "/e/p").c_str(), &st), 0);
  ASSERT_EQ(::chmod(outside_.c_str(), 0755), 0);
  ASSERT_EQ(::unlink((outside_ + "/e/p").c_str()), 0);
  ASSERT_EQ(::rmdir((outside_ + "/e").c_str()), 0);  // ExpectNothingOutside's OUTSIDE is empty
}

// A symlink deeper in an existing directory the tree also has.
TEST_F(HostileTest, ForceDoesNotWriteThroughNestedSymlink) {
  ASSERT_EQ(::mkdir(target_.c_str(), 0755), 0);
  ASSERT_EQ(::mkdir((target_ + "/x").c_str(), 0755), 0);
  ASSERT_EQ(::symlink(outside_.c_str(), (target_ + "/x/y").c_str()), 0);
  ObjectId root = Root({Dir("x", {Dir("y", {File("z")})})});
  Status s = Checkout(root, /*force=*/true);
  ASSERT_TRUE(s.ok()) << s.ToString();
  ExpectNothingOutside();
  EXPECT_TRUE(std::filesystem::is_regular_file(std::filesystem::symlink_status(target_ + "/x/y/z")));
}

// Another user who may write in the target (one they own, that root checks out into) renames a
// symlink to a file outside over each fifo as soon as it is made: the fifo's chmod (06777), chown
// and times must reach the fifo made or fail, never the file outside. The swaps race the
// checkout's own calls; before PathHandle most of 300 landed between mknod and chmod.
TEST_F(HostileTest, ANodeSwappedForASymlinkDuringTheCheckoutChangesNothingOutside) {
  constexpr int kFifos = 300;
  std::vector<cas::TreeEntry> entries;
  for (int i = 0; i < kFifos; ++i) {
    cas::TreeEntry e;
    char name[16];
    std::snprintf(name, sizeof name, "f%04d", i);
    e.name = name;
    e.type = cas::EntryType::kFifo;
    e.meta = Meta(06777);
    e.meta.uid = 4321;
    entries.push_back(e);
  }
  ObjectId root = Root(entries);
  const std::string secret = outside_ + "/secret", links = tmp_ / "link";
  { std::ofstream(secret) << "secret"; }
  ASSERT_EQ(::chmod(secret.c_str(), 0600), 0);
  ASSERT_EQ(::mkdir(links.c_str(), 0755), 0);
  for (int i = 0; i < kFifos; ++i) {
    ASSERT_EQ(::symlink(secret.c_str(), (links + "/" + std::to_string(i)).c_str()), 0);
  }
  ASSERT_EQ(::mkdir(target_.c_str(), 0755), 0);
  std::atomic<bool> done{false};
  int swapped = 0;
  std::thread other([&] {
    for (int i = 0; i < kFifos && !done;) {
      char name[16];
      std::snprintf(name, sizeof name, "/f%04d", i);
      struct stat st;
      if (::lstat((target_ + name).c_str(), &st) != 0) continue;
      if (S_ISFIFO(st.st_mode) &&
          ::rename((links + "/" + std::to_string(i)).c_str(), (target_ + name).c_str()) == 0) {
        ++swapped;
      }
      ++i;
    }
  });
  Status s = Checkout(root);
  done = true;
  other.join();
  ASSERT_GT(swapped, 0) << "the other thread never found a fifo to swap";
  if (!s.ok())
    EXPECT_NE(s.ToString().find("target is changing"), std::string::npos) << s.ToString();
  struct stat st;
  ASSERT_EQ(::stat(secret.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u) << "the checkout changed a file outside its target";
  EXPECT_EQ(st.st_uid, ::geteuid());
  EXPECT_NE(st.st_mtim.tv_sec, 1600000000);
}

TEST_F(HostileTest, NonEmptyTargetWithoutForceIsRefusedAndUntouched) {
  ASSERT_EQ(::mkdir(target_.c_str(), 0755), 0);
  testing::Shell("echo mine > '" + target_ + "/mine'");
  auto before = Listing(target_);
  ObjectId root = Root({File("mine", "theirs"), File("other")});
  Status s = Checkout(root);
  EXPECT_EQ(s.code(), Code::kInvalidArgument) << s.ToString();
  EXPECT_EQ(testing::Diff(Listing(target_), before), "");
}

TEST_F(HostileTest, TargetThatIsASymlinkIsRefused) {
  ASSERT_EQ(::symlink(outside_.c_str(), (tmp_ / "link").c_str()), 0);
  ObjectId root = Root({File("f")});
  Status s = Checkout(root, /*force=*/true, tmp_ / "link");
  EXPECT_EQ(s.code(), Code::kInvalidArgument) << s.ToString();
  ExpectNothingOutside();
}

// A directory entry that names a Blob, and a file whose content is shorter than its size: the
// sink reports corruption instead of writing something else.
TEST_F(HostileTest, DirectoryEntryNamingABlobIsAnError) {
  cas::TreeEntry d;
  d.name = "d";
  d.type = cas::EntryType::kDirectory;
  d.id = PutContent("not a tree");
  Status s = Checkout(Root({d}));
  EXPECT_FALSE(s.ok());
  ExpectNothingOutside();
}

TEST_F(HostileTest, ContentShorterThanSizeIsCorruption) {
  cas::TreeEntry f = File("f", "short");
  f.size = 100;
  Status s = Checkout(Root({f}));
  EXPECT_TRUE(s.IsCorruption()) << s.ToString();
}

TEST_F(HostileTest, ContentLongerThanSizeIsCorruption) {
  cas::TreeEntry f = File("f", "0123456789");
  f.size = 3;
  Status s = Checkout(Root({f}));
  EXPECT_TRUE(s.IsCorruption()) << s.ToString();
}

TEST_F(HostileTest, ContentShorterThanExtentsIsCorruption) {
  cas::TreeEntry f = File("f", "short");
  f.size = 1 << 20;
  f.sparse = true;
  f.extents = {{0, 100}};
  Status s = Checkout(Root({f}));
  EXPECT_TRUE(s.IsCorruption()) << s.ToString();
}

TEST_F(HostileTest, ContentLongerThanExtentsIsCorruption) {
  cas::TreeEntry f = File("f", "0123456789");
  f.size = 1 << 20;
  f.sparse = true;
  f.extents = {{4096, 5}};
  Status s = Checkout(Root({f}));
  EXPECT_TRUE(s.IsCorruption()) << s.ToString();
}

}  // namespace
}  // namespace cairn::indexer
