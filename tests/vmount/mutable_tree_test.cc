// MutableTree on a MemoryStore: lazy loading, hard links, every edit, copy-up, commit along
// changed paths only, and journal replay.
#include "vmount/mutable_tree.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <filesystem>
#include <map>

#include "base/large_stack.h"
#include "base/sha256.h"
#include "cas/memory_store.h"
#include "cas/tree_reader.h"
#include "tests/cas/test_util.h"
#include "vmount/errors.h"
#include "vmount/journal.h"

namespace cairn::vmount {
namespace {

using cas::EntryType;
using cas::testing::TempDir;

class MutableTreeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ingestor_ = std::make_unique<cas::Ingestor>(&store_, cas::IngestOptions{});
    upper_ = tmp_.path() + "/upper";
    std::filesystem::create_directories(upper_);
    // /etc/{hosts, passwd}, /usr/bin/{a, b (hard link of /etc/hosts)}, /usr/lib/big (sparse),
    // /link -> etc/hosts, /dev/null (char 1,3)
    cas::Tree bin = Dir({File("a", "alpha"), File("b", "127.0.0.1 localhost\n")});
    cas::TreeEntry big = File("big", "BIG");
    big.sparse = true;
    big.size = 1 << 20;
    big.extents = {{4096, 3}};
    cas::Tree lib = Dir({big});
    cas::Tree usr = Dir({DirEntryOf("bin", bin), DirEntryOf("lib", lib)});
    cas::Tree etc = Dir({File("hosts", "127.0.0.1 localhost\n"), File("passwd", "root:x:0:0\n")});
    cas::TreeEntry link;
    link.name = "link";
    link.type = EntryType::kSymlink;
    link.target = "etc/hosts";
    cas::TreeEntry dev;
    dev.name = "null";
    dev.type = EntryType::kCharDevice;
    dev.rdev_major = 1;
    dev.rdev_minor = 3;
    cas::Tree devdir = Dir({dev});
    cas::Tree root = Dir({DirEntryOf("dev", devdir), DirEntryOf("etc", etc), link,
                          DirEntryOf("usr", usr)});
    root.hardlinks = {{"etc/hosts", "usr/bin/b"}};
    root_ = Put(root);
    ASSERT_TRUE(ingestor_->Finish().ok());
  }

  cas::TreeEntry File(const std::string& name, const std::string& data) {
    cas::TreeEntry e;
    e.name = name;
    e.type = EntryType::kRegular;
    e.meta.mode = 0644;
    e.meta.mtime_sec = 1600000000;
    auto c = ingestor_->PutBytes(data);
    EXPECT_TRUE(c.has_value());
    e.id = c->id;
    e.size = data.size();
    return e;
  }
  cas::Tree Dir(std::vector<cas::TreeEntry> entries) {
    cas::Tree t;
    t.meta.mode = 0755;
    t.meta.mtime_sec = 1600000000;
    t.entries = std::move(entries);
    return t;
  }
  cas::TreeEntry DirEntryOf(const std::string& name, const cas::Tree& t) {
    cas::TreeEntry e;
    e.name = name;
    e.type = EntryType::kDirectory;
    e.id = Put(t);
    return e;
  }
  ObjectId Put(cas::Tree t) {
    EXPECT_TRUE(cas::CanonicalizeTree(&t).ok());
    auto id = ingestor_->PutObject(cas::ObjectType::kTree, cas::EncodeTree(t));
    EXPECT_TRUE(id.has_value());
    return *id;
  }
  std::unique_ptr<MutableTree> Open(const ObjectId& root) {
    auto t = MutableTree::Open(&store_, root, upper_);
    EXPECT_TRUE(t.has_value()) << t.status().ToString();
    return t ? std::move(*t) : nullptr;
  }
  // Every path of a stored tree with its type letter, size and content.
  std::map<std::string, std::string> Listing(const ObjectId& root) {
    std::map<std::string, std::string> out;
    Status s = cas::WalkTree(&store_, root, "", [&](const std::string& p, const cas::TreeEntry& e) {
      std::string v(1, cas::EntryTypeLetter(e.type));
      uint32_t mode = e.meta.mode;
      if (e.type == EntryType::kDirectory) mode = cas::LoadTree(&store_, e.id)->meta.mode;
      v += " " + std::to_string(mode);
      if (e.type == EntryType::kRegular) {
        std::string data;
        EXPECT_TRUE(cas::ReadFileEntry(&store_, e, [&](std::string_view d) {
                      data.append(d);
                      return Status();
                    }).ok());
        // long contents by size and digest, so that a failure prints a short line
        v += " " + (data.size() <= 64 ? data : std::to_string(data.size()) + ":" + Sha256::Of(data).ToHex());
      }
      if (e.type == EntryType::kSymlink) v += " -> " + e.target;
      out[p] = v;
      return true;
    });
    EXPECT_TRUE(s.ok()) << s.ToString();
    return out;
  }
  static std::string Long(const std::string& data) {
    return std::to_string(data.size()) + ":" + Sha256::Of(data).ToHex();
  }
  static NewEntry Entry(EntryType type, uint32_t mode, std::string target = "") {
    NewEntry e;
    e.type = type;
    e.mode = mode;
    e.target = std::move(target);
    return e;
  }
  static SetAttrRequest Mode(uint32_t mode) {
    SetAttrRequest r;
    r.mode = mode;
    return r;
  }
  static SetAttrRequest Size(uint64_t size) {
    SetAttrRequest r;
    r.size = size;
    return r;
  }
  JournalRecord Rec(JournalOp op, std::string path, std::string name = "", std::string path2 = "",
                    std::string name2 = "", uint64_t number = 0, std::string data = "") {
    JournalRecord r;
    r.op = op;
    r.path = std::move(path);
    r.name = std::move(name);
    r.path2 = std::move(path2);
    r.name2 = std::move(name2);
    r.number = number;
    r.data = std::move(data);
    r.now = now_;
    return r;
  }
  ObjectId Commit(MutableTree* t) {
    auto root = t->Commit(ingestor_.get());
    EXPECT_TRUE(root.has_value()) << root.status().ToString();
    EXPECT_TRUE(ingestor_->Finish().ok());
    std::vector<uint64_t> freed;
    t->Rebase(&store_, &freed);
    return root ? *root : ObjectId();
  }
  std::vector<std::vector<std::string>> Hardlinks(const ObjectId& root) {
    auto t = cas::LoadTree(&store_, root);
    EXPECT_TRUE(t.has_value());
    return t->hardlinks;
  }

  void CommitRefusesAnEntryDeeperThanACheckinTakes();  // the test's body, on a large stack

  TempDir tmp_;
  std::string upper_;
  cas::MemoryStore store_;
  std::unique_ptr<cas::Ingestor> ingestor_;
  ObjectId root_;
  Timestamp now_{1700000000, 5};
};

TEST_F(MutableTreeTest, HardLinksShareOneInode) {
  auto t = Open(root_);
  auto a = t->LookupPath("etc/hosts");
  auto b = t->LookupPath("usr/bin/b");
  ASSERT_TRUE(a && b);
  EXPECT_EQ(*a, *b);
  EXPECT_EQ(t->GetAttr(*a)->nlink, 2u);
}

TEST_F(MutableTreeTest, UnchangedTreeCommitsToTheSameRoot) {
  auto t = Open(root_);
  ASSERT_TRUE(t->LookupPath("usr/lib/big").has_value());
  EXPECT_FALSE(t->dirty());
  EXPECT_EQ(Commit(t.get()), root_);
}

TEST_F(MutableTreeTest, SparseFileReportsItsDataBlocks) {
  auto t = Open(root_);
  auto a = t->GetAttr(*t->LookupPath("usr/lib/big"));
  EXPECT_EQ(a->size, 1u << 20);
  EXPECT_EQ(a->blocks, 1u);
}

TEST_F(MutableTreeTest, EditsCommitToTheExpectedTree) {
  auto t = Open(root_);
  Ino etc = *t->LookupPath("etc");
  Ino bin = *t->LookupPath("usr/bin");
  // a new directory with a new file, written
  auto d = t->Make(etc, "network", Entry(EntryType::kDirectory, 0755), now_);
  ASSERT_TRUE(d.has_value());
  auto f = t->Make(*d, "interfaces", Entry(EntryType::kRegular, 0600), now_);
  ASSERT_TRUE(f.has_value());
  ASSERT_TRUE(t->CopyUp(*f, 1).ok());
  ASSERT_TRUE(t->Write(*f, 0, "auto lo\n", now_).has_value());
  // an existing file changed in place (copy-up keeps its bytes)
  Ino passwd = *t->LookupPath("etc/passwd");
  ASSERT_TRUE(t->CopyUp(passwd, 2).ok());
  ASSERT_TRUE(t->Write(passwd, 11, "user:x:1000:1000\n", now_).has_value());
  // rename over an existing file, unlink, chmod, symlink
  ASSERT_TRUE(t->Rename(bin, "a", etc, "hosts", 0, now_).ok());
  ASSERT_TRUE(t->SetAttr(bin, Mode(0700), now_).has_value());
  ASSERT_TRUE(t->Make(bin, "sh", Entry(EntryType::kSymlink, 0777, "dash"), now_)
                  .has_value());
  EXPECT_TRUE(t->dirty());
  ObjectId root = Commit(t.get());
  EXPECT_FALSE(t->dirty());
  auto l = Listing(root);
  std::map<std::string, std::string> want = {
      {"dev", "d 493"},
      {"dev/null", "c 0"},
      {"etc", "d 493"},
      {"etc/hosts", "f 420 alpha"},
      {"etc/network", "d 493"},
      {"etc/network/interfaces", "f 384 auto lo\n"},
      {"etc/passwd", "f 420 root:x:0:0\nuser:x:1000:1000\n"},
      {"link", "l 0 -> etc/hosts"},
      {"usr", "d 493"},
      {"usr/bin", "d 448"},
      {"usr/bin/b", "f 420 127.0.0.1 localhost\n"},
      {"usr/bin/sh", "l 511 -> dash"},
      {"usr/lib", "d 493"},
      {"usr/lib/big", "f 420 " + Long(std::string(4096, '\0') + "BIG" + std::string((1 << 20) - 4099, '\0'))},
  };
  EXPECT_EQ(l, want);
  // /etc/hosts was replaced: its old inode has one name left, so no hard-link group remains
  EXPECT_TRUE(Hardlinks(root).empty());
  // unchanged subtrees keep their ids: usr/lib and dev
  EXPECT_EQ(cas::LookupPath(&store_, root, "usr/lib")->id, cas::LookupPath(&store_, root_, "usr/lib")->id);
  EXPECT_EQ(cas::LookupPath(&store_, root, "dev")->id, cas::LookupPath(&store_, root_, "dev")->id);
}

TEST_F(MutableTreeTest, UnreadDirectoriesAreNotRead) {
  auto t = Open(root_);
  ASSERT_TRUE(t->Make(kRootIno, "new", Entry(EntryType::kRegular, 0644), now_).has_value());
  // A store without usr's Trees: commit must not need them.
  ObjectId root = Commit(t.get());
  EXPECT_EQ(cas::LookupPath(&store_, root, "usr")->id, cas::LookupPath(&store_, root_, "usr")->id);
}

TEST_F(MutableTreeTest, LinkAndUnlinkRebuildTheHardLinkTable) {
  auto t = Open(root_);
  Ino passwd = *t->LookupPath("etc/passwd");
  ASSERT_TRUE(t->Link(passwd, kRootIno, "passwd2", now_).ok());
  EXPECT_EQ(t->GetAttr(passwd)->nlink, 2u);
  ASSERT_TRUE(t->Unlink(*t->LookupPath("usr/bin"), "b", now_).ok());
  EXPECT_EQ(t->GetAttr(*t->LookupPath("etc/hosts"))->nlink, 1u);
  ObjectId root = Commit(t.get());
  EXPECT_EQ(Hardlinks(root), (std::vector<std::vector<std::string>>{{"etc/passwd", "passwd2"}}));
}

TEST_F(MutableTreeTest, RenamedDirectoryCarriesItsHardLinks) {
  auto t = Open(root_);
  ASSERT_TRUE(t->Rename(kRootIno, "usr", kRootIno, "opt", 0, now_).ok());
  ObjectId root = Commit(t.get());
  EXPECT_EQ(Hardlinks(root), (std::vector<std::vector<std::string>>{{"etc/hosts", "opt/bin/b"}}));
}

// A commit refuses an entry beyond what a checkin takes (base/rel_path.h: 4,096 directories
// above it), NotSupported naming it, so that no version is made that its own checkout could not
// be checked in from: the edit stays, and commits once the entry is gone. A subtree moved deeper
// is checked too, though it still equals its stored Trees. Before, a commit took any depth.
void MutableTreeTest::CommitRefusesAnEntryDeeperThanACheckinTakes() {
  auto t = Open(root_);
  auto dir = Entry(EntryType::kDirectory, 0755);
  Result<Ino> cur = t->Make(kRootIno, "deep", dir, now_);
  for (int i = 1; i < 4096 && cur; ++i) cur = t->Make(*cur, "d", dir, now_);
  ASSERT_TRUE(cur.has_value()) << cur.status().ToString();
  ASSERT_TRUE(t->Make(*cur, "f", Entry(EntryType::kRegular, 0644), now_).has_value());
  Result<Ino> g = t->Make(*cur, "g", dir, now_);  // 4,096 directories above each
  ASSERT_TRUE(g.has_value());
  ASSERT_TRUE(t->Make(*g, "h", Entry(EntryType::kRegular, 0644), now_).has_value());
  Result<ObjectId> refused = t->Commit(ingestor_.get());
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code(), Code::kNotSupported);
  EXPECT_NE(refused.error().message().find("' is 4097 directories deep (cairn takes 4096)"),
            std::string::npos)
      << refused.error().message();
  ASSERT_TRUE(t->Unlink(*g, "h", now_).ok());
  const ObjectId deep = Commit(t.get());
  EXPECT_FALSE(deep.IsZero());

  Result<Ino> x = t->Make(kRootIno, "x", dir, now_);
  ASSERT_TRUE(x.has_value());
  ASSERT_TRUE(t->Rename(kRootIno, "deep", *x, "deep", 0, now_).ok());
  refused = t->Commit(ingestor_.get());
  ASSERT_FALSE(refused.has_value());
  EXPECT_NE(refused.error().message().find("' is 4097 directories deep"), std::string::npos)
      << refused.error().message();
  ASSERT_TRUE(t->Rename(*x, "deep", kRootIno, "deep", 0, now_).ok());
  EXPECT_FALSE(Commit(t.get()).IsZero());
}

TEST_F(MutableTreeTest, CommitRefusesAnEntryDeeperThanACheckinTakes) {
  // The commit recurses once per level: on the stack the mount process gives it
  // (vmount/mount_process.cc; under ASan the test's own 8 MiB overflowed).
  RunWithStack(kWalkStackBytes, [&] { CommitRefusesAnEntryDeeperThanACheckinTakes(); });
}

TEST_F(MutableTreeTest, PosixErrors) {
  auto t = Open(root_);
  Ino etc = *t->LookupPath("etc");
  EXPECT_EQ(ToErrno(t->Rmdir(kRootIno, "etc", now_)), ENOTEMPTY);
  EXPECT_EQ(ToErrno(t->Unlink(kRootIno, "etc", now_)), EISDIR);
  EXPECT_EQ(ToErrno(t->Rmdir(etc, "hosts", now_)), ENOTDIR);
  EXPECT_EQ(ToErrno(t->Lookup(etc, "nope").status()), ENOENT);
  EXPECT_EQ(ToErrno(t->Make(etc, "hosts", {}, now_).status()), EEXIST);
  EXPECT_EQ(ToErrno(t->Rename(kRootIno, "usr", *t->LookupPath("usr/bin"), "x", 0, now_)), EINVAL);
  EXPECT_EQ(ToErrno(t->Rename(kRootIno, "usr", kRootIno, "etc", 0, now_)), ENOTEMPTY);
  EXPECT_EQ(ToErrno(t->Rename(etc, "passwd", kRootIno, "usr", 0, now_)), EISDIR);
  EXPECT_EQ(ToErrno(t->Rename(etc, "passwd", etc, "hosts", kRenameNoReplace, now_)), EEXIST);
  EXPECT_EQ(ToErrno(t->GetXattr(etc, "user.none").status()), ENODATA);
  EXPECT_EQ(ToErrno(t->SetXattr(etc, "user.a", "1", XATTR_REPLACE)), ENODATA);
  EXPECT_EQ(ToErrno(t->Link(etc, kRootIno, "x", now_)), EPERM);
  EXPECT_FALSE(t->dirty());  // failed edits change nothing
}

TEST_F(MutableTreeTest, XattrsAndMetadataCommit) {
  auto t = Open(root_);
  Ino hosts = *t->LookupPath("etc/hosts");
  ASSERT_TRUE(t->SetXattr(hosts, "security.capability", std::string("\x01\x00\x00\x02", 4), 0).ok());
  ASSERT_TRUE(t->SetXattr(hosts, "user.b", "2", XATTR_CREATE).ok());
  ASSERT_TRUE(t->RemoveXattr(hosts, "user.b").ok());
  SetAttrRequest owner;
  owner.uid = 7;
  owner.gid = 8;
  owner.mtime = Timestamp{5, 6};
  ASSERT_TRUE(t->SetAttr(hosts, owner, now_).has_value());
  ObjectId root = Commit(t.get());
  auto e = cas::LookupPath(&store_, root, "usr/bin/b");  // the other name of the same file
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->meta.uid, 7u);
  EXPECT_EQ(e->meta.gid, 8u);
  EXPECT_EQ(e->meta.mtime_sec, 5);
  EXPECT_EQ(e->meta.mtime_nsec, 6u);
  EXPECT_EQ(e->meta.xattrs, (cas::Xattrs{{"security.capability", std::string("\x01\x00\x00\x02", 4)}}));
}

// An access ACL in xattr form: version 2, then (tag, perm, id) entries.
std::string Acl(std::initializer_list<std::pair<uint16_t, uint16_t>> entries) {
  std::string out("\x02\x00\x00\x00", 4);
  for (auto [tag, perm] : entries) {
    out += static_cast<char>(tag & 0xff);
    out += static_cast<char>(tag >> 8);
    out += static_cast<char>(perm);
    out += '\0';
    out.append(tag == 0x02 || tag == 0x08 ? std::string("\xe8\x03\x00\x00", 4)
                                          : std::string("\xff\xff\xff\xff", 4));
  }
  return out;
}

TEST_F(MutableTreeTest, AccessAclsKeepTheModeInStep) {
  auto t = Open(root_);
  Ino hosts = *t->LookupPath("etc/hosts");
  ASSERT_TRUE(t->SetAttr(hosts, Mode(0600), now_).has_value());
  // What `sed -i` does to its new file: an ACL equal to the old mode 0644. It is the mode.
  ASSERT_TRUE(t->SetXattr(hosts, "system.posix_acl_access", Acl({{0x01, 6}, {0x04, 4}, {0x20, 4}}), 0).ok());
  EXPECT_EQ(t->GetAttr(hosts)->mode, 0644u);
  EXPECT_EQ(ToErrno(t->GetXattr(hosts, "system.posix_acl_access").status()), ENODATA);
  // An extended ACL is kept; the group bits follow its mask.
  std::string extended = Acl({{0x01, 7}, {0x02, 6}, {0x04, 4}, {0x10, 6}, {0x20, 0}});
  ASSERT_TRUE(t->SetXattr(hosts, "system.posix_acl_access", extended, 0).ok());
  EXPECT_EQ(t->GetAttr(hosts)->mode, 0760u);
  // chmod rewrites the owner, mask and other entries.
  ASSERT_TRUE(t->SetAttr(hosts, Mode(0754), now_).has_value());
  EXPECT_EQ(*t->GetXattr(hosts, "system.posix_acl_access"),
            Acl({{0x01, 7}, {0x02, 6}, {0x04, 4}, {0x10, 5}, {0x20, 4}}));
  EXPECT_EQ(ToErrno(t->SetXattr(hosts, "system.posix_acl_access", "junk", 0)), EINVAL);
  ObjectId root = Commit(t.get());
  auto e = cas::LookupPath(&store_, root, "etc/hosts");
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->meta.mode, 0754u);
}

// acl(5): in a directory with a default ACL a new entry takes it as its access ACL, cut to the
// mode asked for; a directory takes it as its default too; a symlink takes nothing.
TEST_F(MutableTreeTest, EntriesMadeUnderADefaultAclInheritIt) {
  auto t = Open(root_);
  Ino etc = *t->LookupPath("etc");
  const std::string dflt = Acl({{0x01, 7}, {0x02, 6}, {0x04, 4}, {0x10, 6}, {0x20, 0}});
  ASSERT_TRUE(t->SetXattr(etc, "system.posix_acl_default", dflt, 0).ok());
  auto make = [&](std::string name, cas::EntryType type, uint32_t mode) {
    NewEntry e;
    e.type = type;
    e.mode = mode;
    if (type == cas::EntryType::kSymlink) e.target = "x";
    auto ino = t->Make(etc, name, e, now_);
    EXPECT_TRUE(ino.has_value()) << name;
    return *ino;
  };
  Ino file = make("file", cas::EntryType::kRegular, 0644);
  EXPECT_EQ(t->GetAttr(file)->mode & 07777, 0640u);  // 0760 & 0644
  EXPECT_EQ(*t->GetXattr(file, "system.posix_acl_access"),
            Acl({{0x01, 6}, {0x02, 6}, {0x04, 4}, {0x10, 4}, {0x20, 0}}));
  EXPECT_EQ(ToErrno(t->GetXattr(file, "system.posix_acl_default").status()), ENODATA);
  Ino dir = make("dir", cas::EntryType::kDirectory, 0777);
  EXPECT_EQ(t->GetAttr(dir)->mode & 07777, 0760u);
  EXPECT_EQ(*t->GetXattr(dir, "system.posix_acl_access"), dflt);
  EXPECT_EQ(*t->GetXattr(dir, "system.posix_acl_default"), dflt);
  Ino link = make("link", cas::EntryType::kSymlink, 0777);
  EXPECT_TRUE(t->ListXattrs(link)->empty());
  // A minimal default ACL is a mode: the entry's mode is cut, and no ACL is stored.
  ASSERT_TRUE(
      t->SetXattr(etc, "system.posix_acl_default", Acl({{0x01, 7}, {0x04, 5}, {0x20, 0}}), 0).ok());
  Ino plain = make("plain", cas::EntryType::kRegular, 0666);
  EXPECT_EQ(t->GetAttr(plain)->mode & 07777, 0640u);
  EXPECT_TRUE(t->ListXattrs(plain)->empty());
}

TEST_F(MutableTreeTest, CopyUpKeepsHolesAndTruncateWorks) {
  auto t = Open(root_);
  Ino big = *t->LookupPath("usr/lib/big");
  ASSERT_TRUE(t->CopyUp(big, 9).ok());
  struct stat st;
  ASSERT_EQ(::stat((upper_ + "/9").c_str(), &st), 0);
  EXPECT_EQ(st.st_size, 1 << 20);
  EXPECT_LT(st.st_blocks * 512, 1 << 20);  // holes stayed holes
  ASSERT_TRUE(t->SetAttr(big, Size(4098), now_).has_value());
  ObjectId root = Commit(t.get());
  EXPECT_EQ(Listing(root)["usr/lib/big"], "f 420 " + Long(std::string(4096, '\0') + "BI"));
}

TEST_F(MutableTreeTest, CopiedUpSparseFileReportsItsDataBlocksNotItsSize) {
  auto t = Open(root_);
  Ino big = *t->LookupPath("usr/lib/big");  // 1 MiB, 3 bytes of data
  ASSERT_TRUE(t->CopyUp(big, 7).ok());
  EXPECT_LE(t->GetAttr(big)->blocks, 64u) << "blocks of a 1 MiB file holding 3 bytes";
  ASSERT_TRUE(t->SetAttr(big, Size(100 << 20), now_).has_value());
  EXPECT_LE(t->GetAttr(big)->blocks, 64u) << "grown by truncate";
}

TEST_F(MutableTreeTest, SmallNewFilesAreHeldInMemoryUntilTheyOutgrowIt) {
  auto t = Open(root_);
  Ino etc = *t->LookupPath("etc");
  Ino small = *t->Make(etc, "small", Entry(EntryType::kRegular, 0644), now_);
  ASSERT_TRUE(t->FitsInMemory(small, 0, 6));
  ASSERT_EQ(*t->WriteInMemory(small, 0, "hello\n", now_), 6u);
  ASSERT_TRUE(t->FitsInMemory(small, 6, 3));
  ASSERT_EQ(*t->WriteInMemory(small, 6, "abc", now_), 3u);
  EXPECT_EQ(*t->InMemoryBytes(small), "hello\nabc");
  EXPECT_TRUE(t->Data(small)->in_memory);
  EXPECT_EQ(t->GetAttr(small)->size, 9u);
  EXPECT_FALSE(t->FitsInMemory(small, 10, 1)) << "a hole is never held in memory";
  EXPECT_FALSE(t->FitsInMemory(small, 0, MutableTree::kInMemoryFileBytes + 1));
  // A file that outgrows memory is copied up with what it held.
  Ino grown = *t->Make(etc, "grown", Entry(EntryType::kRegular, 0600), now_);
  ASSERT_TRUE(t->WriteInMemory(grown, 0, "head:", now_).has_value());
  ASSERT_FALSE(t->FitsInMemory(grown, 5, MutableTree::kInMemoryFileBytes));
  ASSERT_TRUE(t->CopyUp(grown, 3).ok());
  EXPECT_FALSE(t->Data(grown)->in_memory);
  std::string tail(MutableTree::kInMemoryFileBytes, 'x');
  ASSERT_TRUE(t->Write(grown, 5, tail, now_).has_value());
  // Rewriting one small file over and over is bounded too (each write is journaled).
  Ino busy = *t->Make(etc, "busy", Entry(EntryType::kRegular, 0644), now_);
  uint64_t written = 0;
  while (t->FitsInMemory(busy, 0, 4096)) {
    ASSERT_TRUE(t->WriteInMemory(busy, 0, std::string(4096, 'b'), now_).has_value());
    written += 4096;
  }
  EXPECT_EQ(written, MutableTree::kInMemoryWrittenBytes);
  // Truncating: in memory when it shrinks, and a stored file cut to nothing joins it.
  ASSERT_TRUE(t->TruncatesInMemory(small, 5));
  ASSERT_TRUE(t->TruncateInMemory(small, 5, now_).ok());
  EXPECT_FALSE(t->TruncatesInMemory(small, 6));
  Ino passwd = *t->LookupPath("etc/passwd");
  EXPECT_FALSE(t->TruncatesInMemory(passwd, 3));
  ASSERT_TRUE(t->TruncatesInMemory(passwd, 0));
  ASSERT_TRUE(t->TruncateInMemory(passwd, 0, now_).ok());
  ASSERT_TRUE(t->WriteInMemory(passwd, 0, "new", now_).has_value());
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(upper_), {}), 1)
      << "only the grown file has an upper file";
  ObjectId root = Commit(t.get());
  auto l = Listing(root);
  EXPECT_EQ(l["etc/small"], "f 420 hello");
  EXPECT_EQ(l["etc/grown"], "f 384 " + Long("head:" + tail));
  EXPECT_EQ(l["etc/busy"], "f 420 " + Long(std::string(4096, 'b')));
  EXPECT_EQ(l["etc/passwd"], "f 420 new");
  // Committed: read from the store from then on, memory given back.
  EXPECT_FALSE(t->Data(small)->in_memory);
  EXPECT_FALSE(t->FitsInMemory(small, 0, 1));
  EXPECT_EQ(Commit(t.get()), root);
}

TEST_F(MutableTreeTest, JournalReplayRebuildsTheEdit) {
  std::vector<JournalRecord> journal;
  {
    auto t = Open(root_);
    Ino etc = *t->LookupPath("etc");
    ASSERT_TRUE(t->Make(etc, "d", Entry(EntryType::kDirectory, 0750), now_).has_value());
    journal.push_back(Rec(JournalOp::kMake, "etc", "d"));
    journal.back().entry = Entry(EntryType::kDirectory, 0750);
    journal.push_back(Rec(JournalOp::kRename, "etc", "passwd", "etc/d", "pw"));
    journal.push_back(Rec(JournalOp::kLink, "etc/d/pw", "", "", "pwlink"));
    journal.push_back(Rec(JournalOp::kUnlink, "usr/bin", "a"));
    journal.push_back(Rec(JournalOp::kMeta, "link"));
    journal.back().meta.mode = 0600;
    journal.back().meta.mtime_sec = 42;
    journal.push_back(Rec(JournalOp::kMake, "etc", "new"));
    journal.back().entry = Entry(EntryType::kRegular, 0644);
    journal.push_back(Rec(JournalOp::kWrite, "etc/new", "", "", "", 0, "line one\n"));
    journal.push_back(Rec(JournalOp::kWrite, "etc/new", "", "", "", 5, "two\nmore\n"));
    journal.push_back(Rec(JournalOp::kTruncate, "etc/new", "", "", "", 9));
    journal.push_back(Rec(JournalOp::kTruncate, "etc/hosts", "", "", "", 0));
    journal.push_back(Rec(JournalOp::kWrite, "etc/hosts", "", "", "", 0, "::1\n"));
  }
  std::string bytes;
  for (const auto& r : journal) bytes += EncodeJournalRecord(r);
  bytes += EncodeJournalRecord(journal[0]).substr(0, 7);  // a torn tail is dropped
  auto decoded = DecodeJournalRecords(bytes);
  ASSERT_TRUE(decoded.has_value()) << decoded.status().ToString();
  ASSERT_EQ(decoded->records.size(), journal.size());
  EXPECT_EQ(decoded->records[6].data, "line one\n");
  EXPECT_EQ(decoded->records[8].number, 9u);
  auto t = Open(root_);
  for (const auto& r : decoded->records) ASSERT_TRUE(ApplyJournalRecord(t.get(), r).ok());
  ObjectId root = Commit(t.get());
  auto l = Listing(root);
  EXPECT_EQ(l["etc/d"], "d 488");
  EXPECT_EQ(l["etc/d/pw"], "f 420 root:x:0:0\n");
  EXPECT_FALSE(l.contains("etc/passwd"));
  EXPECT_FALSE(l.contains("usr/bin/a"));
  EXPECT_EQ(l["link"], "l 384 -> etc/hosts");
  EXPECT_EQ(l["etc/new"], "f 420 line two\n");
  EXPECT_EQ(l["etc/hosts"], "f 420 ::1\n");
  EXPECT_EQ(l["usr/bin/b"], "f 420 ::1\n") << "the hard link shares the inode";
  EXPECT_EQ(Hardlinks(root),
            (std::vector<std::vector<std::string>>{{"etc/d/pw", "pwlink"}, {"etc/hosts", "usr/bin/b"}}));
}

// A journal damaged where its framing survives must not replay into an out-of-memory abort or a
// commit of Trees no reader accepts (found by fuzz/journal_fuzzer.cc).
TEST_F(MutableTreeTest, JournalReplayRefusesWhatNoMountJournals) {
  auto refused = [](const JournalRecord& r) {
    auto d = DecodeJournalRecords(EncodeJournalRecord(r));
    return !d.has_value() && d.status().IsCorruption();
  };
  JournalRecord late = Rec(JournalOp::kMake, "etc", "x");
  late.now.nsec = 1'000'000'000;
  EXPECT_TRUE(refused(late)) << "a timestamp of 10^9 ns";
  for (int type : {0, 8, 255}) {
    JournalRecord odd = Rec(JournalOp::kMake, "etc", "x");
    odd.entry.type = static_cast<EntryType>(type);
    EXPECT_TRUE(refused(odd)) << "entry type " << type;
  }

  auto t = Open(root_);
  Ino etc = *t->LookupPath("etc");
  JournalRecord make = Rec(JournalOp::kMake, "etc", "new");
  make.entry = Entry(EntryType::kRegular, 0644);
  ASSERT_TRUE(ApplyJournalRecord(t.get(), make).ok());
  ASSERT_TRUE(
      ApplyJournalRecord(t.get(), Rec(JournalOp::kWrite, "etc/new", "", "", "", 0, "abc")).ok());
  for (uint64_t offset : {uint64_t{4}, uint64_t{1} << 40, ~uint64_t{0} - 1}) {
    Status s =
        ApplyJournalRecord(t.get(), Rec(JournalOp::kWrite, "etc/new", "", "", "", offset, "x"));
    EXPECT_FALSE(s.ok()) << "a write at " << offset;
  }
  Status grow = ApplyJournalRecord(
      t.get(), Rec(JournalOp::kTruncate, "etc/new", "", "", "", uint64_t{3} << 30));
  EXPECT_FALSE(grow.ok()) << "a truncate that grows a file held in memory";
  EXPECT_EQ(*t->InMemoryBytes(*t->LookupPath("etc/new")), "abc");
  for (std::string target : {std::string(), std::string("a\0b", 3)}) {
    NewEntry e = Entry(EntryType::kSymlink, 0777);
    e.target = target;
    EXPECT_FALSE(t->Make(etc, "l", e, now_).has_value())
        << "symlink target of " << target.size() << " bytes";
  }
  auto l = Listing(Commit(t.get()));
  EXPECT_EQ(l["etc/new"], "f 420 abc");
  EXPECT_FALSE(l.contains("etc/l"));
}

}  // namespace
}  // namespace cairn::vmount
