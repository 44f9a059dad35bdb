// PathTree on a MemoryStore, fed as the tar source feeds it: the same Trees from entries in any
// order, sealed or not; what sealing holds; hard-link groups; entries replaced; sparse files
// behind sealed directories; the counts Store returns.
#include "indexer/path_tree.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "cas/memory_store.h"
#include "cas/tree_reader.h"
#include "indexer/tar_entry.h"

namespace cairn::indexer {
namespace {

using cas::EntryType;

// One tarball entry. `kind`: 'd' directory, 'f' regular file holding `data`, 'l' symbolic link
// to `data`, 'h' hard link to the entry named `data`.
struct Entry {
  std::string path;
  char kind;
  std::string data = "";
  uint32_t mode = 0;  // 0: 0700 for a directory, 0644 for the others
  uint32_t uid = 1000;
  uint32_t gid = 100;
  int64_t mtime = 1600000000;
};

// A directory entry as a missing parent is made: mode 0755, owner 0:0, mtime 0.
Entry DefaultDir(const std::string& path) {
  return {.path = path, .kind = 'd', .mode = 0755, .uid = 0, .gid = 0, .mtime = 0};
}

std::vector<std::string> Parts(const std::string& path) {
  Result<std::vector<std::string>> parts = SplitName(path, "t.tar");
  EXPECT_TRUE(parts.has_value()) << path;
  return parts.has_value() ? *parts : std::vector<std::string>();
}

class PathTreeTest : public ::testing::Test {
 protected:
  static cas::IngestOptions Options() {
    cas::IngestOptions o;
    o.threads = 1;
    return o;
  }

  PathTree NewTree(bool seal) { return PathTree(&ingestor_, "t.tar", nullptr, seal); }

  // Adds `e` as the tar source does: the tree first leaves the directories the entry is not in.
  Status Add(PathTree* tree, const Entry& e) {
    std::vector<std::string> parts = Parts(e.path);
    const size_t depth = parts.size() - (e.kind == 'd' ? 0 : std::min<size_t>(parts.size(), 1));
    CAIRN_RETURN_IF_ERROR(tree->Leave(parts, depth));
    cas::Metadata meta;
    meta.mode = e.mode != 0 ? e.mode : e.kind == 'd' ? 0700 : 0644;
    meta.uid = e.uid;
    meta.gid = e.gid;
    meta.mtime_sec = e.mtime;
    if (e.kind == 'd') return tree->AddDirectory(parts, meta);
    if (e.kind == 'h') return tree->AddHardlink(parts, Parts(e.data), e.data);
    cas::TreeEntry te;
    te.meta = meta;
    if (e.kind == 'l') {
      te.type = EntryType::kSymlink;
      te.target = e.data;
    } else {
      te.type = EntryType::kRegular;
      te.id = Content(e.data);
      te.size = e.data.size();
    }
    return tree->AddFile(parts, std::move(te));
  }

  // Adds every entry to `tree`; the most nodes it held after an entry go to `peak`.
  void AddAll(PathTree* tree, const std::vector<Entry>& entries, size_t* peak = nullptr) {
    for (const Entry& e : entries) {
      Status s = Add(tree, e);
      ASSERT_TRUE(s.ok()) << e.path << ": " << s.ToString();
      if (peak != nullptr) *peak = std::max(*peak, tree->held());
    }
  }

  // The root a PathTree stores for `entries`.
  PathTree::Root Build(const std::vector<Entry>& entries, bool seal, size_t* peak = nullptr) {
    PathTree tree = NewTree(seal);
    AddAll(&tree, entries, peak);
    Result<PathTree::Root> root = tree.Store();
    EXPECT_TRUE(root.has_value()) << root.status().ToString();
    return root.has_value() ? *root : PathTree::Root();
  }

  ObjectId Content(const std::string& data) {
    Result<cas::FileContent> c = ingestor_.PutBytes(data);
    EXPECT_TRUE(c.has_value());
    return c.has_value() ? c->id : ObjectId();
  }

  cas::Tree Load(const ObjectId& id) {
    EXPECT_TRUE(ingestor_.WritePending().ok());
    Result<cas::Tree> tree = cas::LoadTree(&store_, id);
    EXPECT_TRUE(tree.has_value()) << tree.status().ToString();
    return tree.has_value() ? *tree : cas::Tree();
  }

  cas::TreeEntry Lookup(const ObjectId& root, const std::string& path) {
    EXPECT_TRUE(ingestor_.WritePending().ok());
    Result<cas::TreeEntry> e = cas::LookupPath(&store_, root, path);
    EXPECT_TRUE(e.has_value()) << e.status().ToString();
    return e.has_value() ? *e : cas::TreeEntry();
  }

  cas::MemoryStore store_;
  cas::Ingestor ingestor_{&store_, Options()};
};

// The entries as tar writes them: each directory's entry, then all it holds, never left and
// come back to. var/ and var/log/ carry the metadata of a directory PathTree makes.
std::vector<Entry> TarOrder() {
  return {
      {"./", 'd'},
      {"etc/", 'd'},
      {"etc/hosts", 'f', "127.0.0.1 localhost\n"},
      {"etc/passwd", 'f', "root:x:0:0\n"},
      {"etc/ssl/", 'd', "", 0750},
      {"etc/ssl/cert", 'f', "CERT"},
      {"etc/ssl/link", 'l', "cert"},
      {"usr/", 'd'},
      {"usr/bin/", 'd', "", 0711},
      {"usr/bin/a", 'f', "alpha"},
      {"usr/bin/hosts", 'h', "etc/hosts"},
      {"usr/lib/", 'd', "", 0755, 0, 0},
      {"usr/lib/x", 'f', "x"},
      DefaultDir("var/"),
      DefaultDir("var/log/"),
      {"var/log/syslog", 'f', "log"},
  };
}

// The same entries scrambled: directories left and come back to (etc, usr), directories' own
// entries after their contents (the root's last), var/ and var/log/ never given, and a hard
// link whose target's directory has been left.
std::vector<Entry> Scrambled() {
  return {
      {"etc/hosts", 'f', "127.0.0.1 localhost\n"},
      {"usr/bin/a", 'f', "alpha"},
      {"etc/ssl/cert", 'f', "CERT"},
      {"usr/lib/x", 'f', "x"},
      {"usr/bin/hosts", 'h', "etc/hosts"},
      {"var/log/syslog", 'f', "log"},
      {"etc/passwd", 'f', "root:x:0:0\n"},
      {"etc/ssl/link", 'l', "cert"},
      {"usr/lib/", 'd', "", 0755, 0, 0},
      {"usr/bin/", 'd', "", 0711},
      {"etc/ssl/", 'd', "", 0750},
      {"etc/", 'd'},
      {"usr/", 'd'},
      {"./", 'd'},
  };
}

// Tar order and a scrambled order store the same root, with sealing and without.
TEST_F(PathTreeTest, AnyOrderStoresTheRootOfTarOrderSealedOrNot) {
  const PathTree::Root want = Build(TarOrder(), false);
  EXPECT_EQ(Build(TarOrder(), true).id.ToHex(), want.id.ToHex());
  EXPECT_EQ(Build(Scrambled(), false).id.ToHex(), want.id.ToHex());
  EXPECT_EQ(Build(Scrambled(), true).id.ToHex(), want.id.ToHex());
  // And that root is the tree the entries describe.
  const cas::Tree root = Load(want.id);
  ASSERT_EQ(root.entries.size(), 3u);
  EXPECT_EQ(root.entries[2].name, "var");
  EXPECT_EQ(root.meta.mode, 0700u);
  EXPECT_EQ(Load(Lookup(want.id, "usr/bin").id).meta.mode, 0711u);
  EXPECT_EQ(Lookup(want.id, "etc/ssl/link").target, "cert");
  const std::vector<std::vector<std::string>> links = {{"etc/hosts", "usr/bin/hosts"}};
  EXPECT_EQ(root.hardlinks, links);
}

// A parent no entry names is made with mode 0755, owner 0:0, mtime 0.
TEST_F(PathTreeTest, AMissingParentIsMadeAs0755Root0Mtime0) {
  for (bool seal : {false, true}) {
    const PathTree::Root root = Build({{"a/b/f", 'f', "f"}}, seal);
    cas::Metadata want;
    want.mode = 0755;
    EXPECT_EQ(Load(Lookup(root.id, "a").id).meta, want) << seal;
    EXPECT_EQ(Load(Lookup(root.id, "a/b").id).meta, want) << seal;
    EXPECT_EQ(Load(root.id).meta, want) << seal;
  }
}

// One directory of 20 files after another: sealed, the tree holds the open directories and
// the sealed directories' ids only; unsealed, every entry.
TEST_F(PathTreeTest, SealingHoldsOnlyTheOpenDirectories) {
  std::vector<Entry> entries = {{"a/", 'd'}};
  for (int d = 0; d < 10; ++d) {
    const std::string dir = "a/d" + std::to_string(d) + "/";
    entries.push_back({dir, 'd'});
    for (int f = 0; f < 20; ++f) {
      entries.push_back({dir + "f" + std::to_string(f), 'f', std::to_string(d * 100 + f)});
    }
  }
  size_t sealed_peak = 0;
  size_t whole_peak = 0;
  const PathTree::Root sealed = Build(entries, true, &sealed_peak);
  const PathTree::Root whole = Build(entries, false, &whole_peak);
  EXPECT_EQ(sealed.id.ToHex(), whole.id.ToHex());
  // The root, a, a's 10 directories and the 20 files of the one open.
  EXPECT_LE(sealed_peak, 1u + 1 + 10 + 20);
  // The root, a, a's 10 directories and their 200 files.
  EXPECT_EQ(whole_peak, 1u + 1 + 10 + 200);
}

// A directory left is sealed again after an entry comes back to it: the tree holds no more
// than when it first went through.
TEST_F(PathTreeTest, ADirectoryComeBackToIsSealedAgainWhenLeft) {
  PathTree tree = NewTree(true);
  AddAll(&tree, {{"a/f1", 'f', "1"}, {"a/f2", 'f', "2"}, {"b/g", 'f', "g"}});
  const size_t after_first = tree.held();  // root, a (sealed), b, b/g
  AddAll(&tree, {{"a/f3", 'f', "3"}, {"b/h", 'f', "h"}});
  EXPECT_EQ(tree.held(), after_first + 1);  // b/h
  Result<PathTree::Root> root = tree.Store();
  ASSERT_TRUE(root.has_value()) << root.status().ToString();
  EXPECT_EQ(Load(Lookup(root->id, "a").id).entries.size(), 3u);
}

// A hard link to a regular file in a directory already sealed, and a link to that link, form
// one group in the root Tree; each name has the file's content and metadata.
TEST_F(PathTreeTest, HardLinksToAFileFormOneGroupInTheRootTree) {
  const std::vector<Entry> entries = {
      {"etc/hosts", 'f', "127.0.0.1 localhost\n"},
      {"usr/bin/a", 'f', "alpha"},  // etc is left: sealed
      {"usr/bin/b", 'h', "etc/hosts"},
      {"usr/sbin/c", 'h', "usr/bin/b"},  // usr/bin is left: sealed
      {"x/y", 'f', "y"},
  };
  for (bool seal : {false, true}) {
    const PathTree::Root root = Build(entries, seal);
    const std::vector<std::vector<std::string>> want = {{"etc/hosts", "usr/bin/b", "usr/sbin/c"}};
    EXPECT_EQ(Load(root.id).hardlinks, want) << seal;
    const cas::TreeEntry hosts = Lookup(root.id, "etc/hosts");
    for (const std::string link : {"usr/bin/b", "usr/sbin/c"}) {
      const cas::TreeEntry e = Lookup(root.id, link);
      EXPECT_EQ(e.type, EntryType::kRegular) << link;
      EXPECT_EQ(e.id, hosts.id) << link;
      EXPECT_EQ(e.meta, hosts.meta) << link;
      EXPECT_EQ(e.size, hosts.size) << link;
    }
  }
}

// Two files each linked from a sealed directory make two groups, not one.
TEST_F(PathTreeTest, LinksToTwoFilesMakeTwoGroups) {
  const PathTree::Root root = Build({{"a/f", 'f', "f"},
                                     {"a/g", 'f', "g"},
                                     {"b/f", 'h', "a/f"},
                                     {"c/g", 'h', "a/g"},
                                     {"d/z", 'f', "z"}},
                                    true);
  const std::vector<std::vector<std::string>> want = {{"a/f", "b/f"}, {"a/g", "c/g"}};
  EXPECT_EQ(Load(root.id).hardlinks, want);
}

// A hard link to a symbolic link is a copy of it, in no group.
TEST_F(PathTreeTest, AHardLinkToASymlinkIsACopyInNoGroup) {
  const PathTree::Root root =
      Build({{"a/s", 'l', "target"}, {"b/t", 'h', "a/s"}, {"c/z", 'f', "z"}}, true);
  const cas::TreeEntry e = Lookup(root.id, "b/t");
  EXPECT_EQ(e.type, EntryType::kSymlink);
  EXPECT_EQ(e.target, "target");
  EXPECT_TRUE(Load(root.id).hardlinks.empty());
}

// A hard link to nothing, to a directory (named or made as a parent), or beneath a file is
// InvalidArgument naming the tarball.
TEST_F(PathTreeTest, AHardLinkToNoFileIsInvalid) {
  for (bool seal : {false, true}) {
    PathTree tree = NewTree(seal);
    AddAll(&tree, {{"d/", 'd'}, {"p/q/f", 'f', "f"}, {"z/z", 'f', "z"}});
    for (const std::string target : {"missing", "d", "p", "p/q", "p/q/f/x", "p/q/g"}) {
      Status s = Add(&tree, {"l", 'h', target});
      EXPECT_EQ(s.code(), Code::kInvalidArgument) << target << " " << seal;
      EXPECT_TRUE(s.message().starts_with("read tarball t.tar: ")) << s.message();
    }
  }
}

// A hard link at the root path is InvalidArgument.
TEST_F(PathTreeTest, AHardLinkAtTheRootIsInvalid) {
  PathTree tree = NewTree(true);
  AddAll(&tree, {{"f", 'f', "f"}});
  Status s = tree.AddHardlink({}, {"f"}, "f");
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_EQ(s.message(), "read tarball t.tar: the root is given as a hard link to 'f'");
}

// A file replaces a directory, sealed or not, and the hard links beneath it leave their group.
TEST_F(PathTreeTest, AFileReplacesADirectoryAndItsLinks) {
  for (bool seal : {false, true}) {
    const PathTree::Root root = Build({{"d/sub/f", 'f', "f"},
                                       {"e/g", 'h', "d/sub/f"},
                                       {"e/h", 'h', "d/sub/f"},
                                       {"d", 'f', "now a file"}},
                                      seal);
    const cas::TreeEntry d = Lookup(root.id, "d");
    EXPECT_EQ(d.type, EntryType::kRegular) << seal;
    EXPECT_EQ(d.id, Content("now a file")) << seal;
    const std::vector<std::vector<std::string>> want = {{"e/g", "e/h"}};
    EXPECT_EQ(Load(root.id).hardlinks, want) << seal;
  }
}

// The later of two entries at one path replaces the first.
TEST_F(PathTreeTest, ALaterFileReplacesAnEarlierOne) {
  for (bool seal : {false, true}) {
    const PathTree::Root root =
        Build({{"d/f", 'f', "first"}, {"e/x", 'f', "x"}, {"d/f", 'l', "second"}}, seal);
    const cas::TreeEntry f = Lookup(root.id, "d/f");
    EXPECT_EQ(f.type, EntryType::kSymlink) << seal;
    EXPECT_EQ(f.target, "second") << seal;
  }
}

// A directory entry over a directory, sealed or not, keeps its entries and takes the metadata.
TEST_F(PathTreeTest, ADirectoryOverADirectoryKeepsItsEntries) {
  for (bool seal : {false, true}) {
    const PathTree::Root root = Build(
        {{"d/f", 'f', "f"}, {"d/s/g", 'f', "g"}, {"e/x", 'f', "x"}, {"d/", 'd', "", 0701}}, seal);
    const cas::Tree d = Load(Lookup(root.id, "d").id);
    EXPECT_EQ(d.meta.mode, 0701u) << seal;
    EXPECT_EQ(d.meta.uid, 1000u) << seal;
    ASSERT_EQ(d.entries.size(), 2u) << seal;
    EXPECT_EQ(d.entries[0].name, "f") << seal;
    EXPECT_EQ(d.entries[1].name, "s") << seal;
    EXPECT_EQ(Lookup(root.id, "d/s/g").id, Content("g")) << seal;
  }
}

// A directory entry over a file replaces the file.
TEST_F(PathTreeTest, ADirectoryReplacesAFile) {
  for (bool seal : {false, true}) {
    const PathTree::Root root =
        Build({{"d/f", 'f', "f"}, {"e/x", 'f', "x"}, {"d/f/", 'd'}, {"d/f/g", 'f', "g"}}, seal);
    EXPECT_EQ(Lookup(root.id, "d/f").type, EntryType::kDirectory) << seal;
    EXPECT_EQ(Lookup(root.id, "d/f/g").id, Content("g")) << seal;
  }
}

// An entry beneath a file, also one in a sealed directory, is InvalidArgument naming the
// tarball.
TEST_F(PathTreeTest, AnEntryBeneathAFileIsInvalid) {
  for (bool seal : {false, true}) {
    PathTree tree = NewTree(seal);
    AddAll(&tree, {{"a/f", 'f', "f"}, {"b/g", 'f', "g"}});
    for (const Entry& e : std::vector<Entry>{
             {"a/f/x", 'f', "x"}, {"a/f/x/", 'd'}, {"a/f/x/y", 'l', "t"}, {"a/f/l", 'h', "b/g"}}) {
      Status s = Add(&tree, e);
      EXPECT_EQ(s.code(), Code::kInvalidArgument) << e.path << " " << seal;
      EXPECT_TRUE(s.message().starts_with("read tarball t.tar: ")) << s.message();
    }
  }
}

// FindFile reaches a file in a sealed directory; it finds no directory and nothing missing.
TEST_F(PathTreeTest, FindFileReachesASealedDirectory) {
  PathTree tree = NewTree(true);
  AddAll(&tree, {{"a/b/f", 'f', "f"}, {"c/g", 'f', "g"}});
  Result<const cas::TreeEntry*> f = tree.FindFile({"a", "b", "f"});
  ASSERT_TRUE(f.has_value()) << f.status().ToString();
  ASSERT_NE(*f, nullptr);
  EXPECT_EQ((*f)->type, EntryType::kRegular);
  EXPECT_EQ((*f)->id, Content("f"));
  for (const std::string path : {"a", "a/b", "a/b/g", "a/b/f/x", "z"}) {
    Result<const cas::TreeEntry*> none = tree.FindFile(Parts(path));
    ASSERT_TRUE(none.has_value()) << path;
    EXPECT_EQ(*none, nullptr) << path;
  }
}

// SetSparse on a file whose hard links are in sealed directories makes every name sparse.
TEST_F(PathTreeTest, SetSparseReachesTheLinksInSealedDirectories) {
  std::string data(8192, '\0');
  data.replace(4096, 4, "DATA");
  for (const std::string via : {"a/big", "b/l1"}) {
    for (bool seal : {false, true}) {
      PathTree tree = NewTree(seal);
      AddAll(&tree, {{"a/big", 'f', data},
                     {"b/l1", 'h', "a/big"},
                     {"c/l2", 'h', "a/big"},
                     {"d/other", 'f', data},  // same content, not linked
                     {"e/z", 'f', "z"}});
      Result<const cas::TreeEntry*> found = tree.FindFile(Parts(via));
      ASSERT_TRUE(found.has_value() && *found != nullptr) << via;
      const std::vector<cas::Extent> extents = {{4096, 4}};
      const ObjectId sparse_id = Content("DATA");
      Status s = tree.SetSparse(Parts(via), sparse_id, extents);
      ASSERT_TRUE(s.ok()) << s.ToString();
      Result<PathTree::Root> root = tree.Store();
      ASSERT_TRUE(root.has_value()) << root.status().ToString();
      for (const std::string path : {"a/big", "b/l1", "c/l2"}) {
        const cas::TreeEntry e = Lookup(root->id, path);
        EXPECT_TRUE(e.sparse) << path << " via " << via << " " << seal;
        EXPECT_EQ(e.id, sparse_id) << path << " via " << via << " " << seal;
        EXPECT_EQ(e.extents, extents) << path << " via " << via << " " << seal;
        EXPECT_EQ(e.size, 8192u) << path << " via " << via << " " << seal;
      }
      EXPECT_FALSE(Lookup(root->id, "d/other").sparse) << via << " " << seal;
      const std::vector<std::vector<std::string>> want = {{"a/big", "b/l1", "c/l2"}};
      EXPECT_EQ(Load(root->id).hardlinks, want) << via << " " << seal;
    }
  }
}

// A hard link given with data (cpio's last name of a file) gives it to every name of the file,
// also to those in directories sealed since; a later link without data copies it.
TEST_F(PathTreeTest, AHardLinkWithDataGivesItToEveryName) {
  for (bool seal : {false, true}) {
    PathTree tree = NewTree(seal);
    AddAll(&tree, {{"a/first", 'f', ""}, {"b/second", 'h', "a/first"}, {"c/z", 'f', "z"}});
    cas::TreeEntry data;
    data.type = EntryType::kRegular;
    data.id = Content("the data");
    data.size = 8;
    data.meta.mode = 0600;
    ASSERT_TRUE(tree.Leave(Parts("d/last"), 1).ok());
    Status s = tree.AddHardlink(Parts("d/last"), Parts("a/first"), "a/first", &data);
    ASSERT_TRUE(s.ok()) << s.ToString();
    AddAll(&tree, {{"e/after", 'h', "b/second"}, {"f/z", 'f', "z"}});
    Result<PathTree::Root> root = tree.Store();
    ASSERT_TRUE(root.has_value()) << root.status().ToString();
    for (const std::string path : {"a/first", "b/second", "d/last", "e/after"}) {
      const cas::TreeEntry e = Lookup(root->id, path);
      EXPECT_EQ(e.id, data.id) << path << " " << seal;
      EXPECT_EQ(e.size, 8u) << path << " " << seal;
      EXPECT_EQ(e.meta.mode, 0600u) << path << " " << seal;
    }
    const std::vector<std::vector<std::string>> want = {
        {"a/first", "b/second", "d/last", "e/after"}};
    EXPECT_EQ(Load(root->id).hardlinks, want) << seal;
    EXPECT_EQ(root->counts.bytes, 4 * 8u + 2) << seal;
  }
}

// A hard link with data to a symbolic link is InvalidArgument.
TEST_F(PathTreeTest, AHardLinkWithDataToASymlinkIsInvalid) {
  PathTree tree = NewTree(true);
  AddAll(&tree, {{"a/s", 'l', "t"}});
  cas::TreeEntry data;
  data.type = EntryType::kRegular;
  data.id = Content("x");
  data.size = 1;
  Status s = tree.AddHardlink(Parts("b"), Parts("a/s"), "a/s", &data);
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_NE(s.message().find("'a/s', which is not a regular file"), std::string::npos)
      << s.message();
}

// SetSparse on a symbolic link, a directory or nothing is InvalidArgument.
TEST_F(PathTreeTest, SetSparseOnNoRegularFileIsInvalid) {
  PathTree tree = NewTree(true);
  AddAll(&tree, {{"a/s", 'l', "t"}, {"b/g", 'f', "g"}});
  for (const std::string path : {"a/s", "a", "a/missing"}) {
    Status s = tree.SetSparse(Parts(path), Content("g"), {{0, 1}});
    EXPECT_EQ(s.code(), Code::kInvalidArgument) << path;
    EXPECT_TRUE(s.message().starts_with("read tarball t.tar: ")) << s.message();
  }
}

// Store counts regular files (each hard link too), their logical bytes and the directories,
// the root included; symbolic links are not counted. The same sealed or not, in any order.
TEST_F(PathTreeTest, StoreCountsFilesBytesAndDirectories) {
  for (bool seal : {false, true}) {
    for (const auto& entries : {TarOrder(), Scrambled()}) {
      const PathTree::Root root = Build(entries, seal);
      // etc/hosts, etc/passwd, etc/ssl/cert, usr/bin/a, usr/bin/hosts, usr/lib/x, var/log/syslog
      EXPECT_EQ(root.counts.files, 7u) << seal;
      EXPECT_EQ(root.counts.bytes, 20u + 11 + 4 + 5 + 20 + 1 + 3) << seal;
      // ., etc, etc/ssl, usr, usr/bin, usr/lib, var, var/log
      EXPECT_EQ(root.counts.dirs, 8u) << seal;
    }
  }
  // An empty tree is its root alone.
  const PathTree::Root empty = Build({}, true);
  EXPECT_EQ(empty.counts.files, 0u);
  EXPECT_EQ(empty.counts.bytes, 0u);
  EXPECT_EQ(empty.counts.dirs, 1u);
}

}  // namespace
}  // namespace cairn::indexer
