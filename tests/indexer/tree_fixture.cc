#include "tests/indexer/tree_fixture.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "base/sha256.h"

namespace cairn::indexer::testing {
namespace {

std::string Errno(const std::string& what, const std::string& path) {
  return what + " " + path + ": " + std::strerror(errno);
}

void PutLe32(std::string* s, uint32_t v) {
  for (int i = 0; i < 4; ++i) s->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
void PutLe16(std::string* s, uint16_t v) {
  s->push_back(static_cast<char>(v & 0xff));
  s->push_back(static_cast<char>(v >> 8));
}

// A POSIX ACL xattr value (version 2) from (tag, perm, id) triples in canonical order.
std::string Acl(const std::vector<std::tuple<uint16_t, uint16_t, uint32_t>>& entries) {
  std::string s;
  PutLe32(&s, 2);
  for (auto [tag, perm, id] : entries) {
    PutLe16(&s, tag);
    PutLe16(&s, perm);
    PutLe32(&s, id);
  }
  return s;
}
constexpr uint32_t kNoId = 0xffffffff;
constexpr uint16_t kUserObj = 0x01, kUser = 0x02, kGroupObj = 0x04, kMask = 0x10, kOther = 0x20;

std::string Escape(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (c < 0x20 || c >= 0x7f || c == '\\') {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\x%02x", c);
      out += buf;
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  return out;
}

// Applies a node's metadata to `path` (not following a symlink). Returns "" or an error.
std::string ApplyMeta(const std::string& path, const Node& n) {
  bool link = n.kind == Node::Kind::kSymlink;
  if (::lchown(path.c_str(), n.uid, n.gid) != 0) return Errno("lchown", path);
  if (!link && ::chmod(path.c_str(), n.mode) != 0) return Errno("chmod", path);
  for (const auto& [k, v] : n.xattrs) {
    if (::lsetxattr(path.c_str(), k.c_str(), v.data(), v.size(), 0) != 0) {
      return Errno("lsetxattr " + k, path);
    }
  }
  struct timespec ts[2] = {{n.mtime_sec, n.mtime_nsec}, {n.mtime_sec, n.mtime_nsec}};
  if (::utimensat(AT_FDCWD, path.c_str(), ts, AT_SYMLINK_NOFOLLOW) != 0) {
    return Errno("utimensat", path);
  }
  return "";
}

std::string MakeNode(const std::string& root, const Node& n) {
  std::string path = n.path.empty() ? root : root + "/" + n.path;
  switch (n.kind) {
    case Node::Kind::kDir:
      if (!n.path.empty() && ::mkdir(path.c_str(), 0700) != 0) return Errno("mkdir", path);
      return "";
    case Node::Kind::kFile:
    case Node::Kind::kSparse: {
      int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
      if (fd < 0) return Errno("create", path);
      std::string err;
      if (n.kind == Node::Kind::kFile) {
        if (::write(fd, n.data.data(), n.data.size()) != static_cast<ssize_t>(n.data.size())) {
          err = Errno("write", path);
        }
      } else {
        if (::ftruncate(fd, static_cast<off_t>(n.size)) != 0) err = Errno("truncate", path);
        for (const auto& [off, d] : n.pieces) {
          if (err.empty() && ::pwrite(fd, d.data(), d.size(), static_cast<off_t>(off)) !=
                                 static_cast<ssize_t>(d.size())) {
            err = Errno("pwrite", path);
          }
        }
      }
      if (err.empty() && ::fsync(fd) != 0) err = Errno("fsync", path);  // stable extents
      ::close(fd);
      return err;
    }
    case Node::Kind::kSymlink:
      if (::symlink(n.target.c_str(), path.c_str()) != 0) return Errno("symlink", path);
      return "";
    case Node::Kind::kHardlink:
      if (::link((root + "/" + n.target).c_str(), path.c_str()) != 0) return Errno("link", path);
      return "";
    case Node::Kind::kChar:
    case Node::Kind::kBlock: {
      mode_t kind = n.kind == Node::Kind::kChar ? S_IFCHR : S_IFBLK;
      if (::mknod(path.c_str(), kind | 0600, makedev(n.major, n.minor)) != 0) {
        return Errno("mknod", path);
      }
      return "";
    }
    case Node::Kind::kFifo:
      if (::mkfifo(path.c_str(), 0600) != 0) return Errno("mkfifo", path);
      return "";
    case Node::Kind::kSocket: {
      struct sockaddr_un addr {};
      addr.sun_family = AF_UNIX;
      if (path.size() >= sizeof(addr.sun_path)) return "socket path too long: " + path;
      std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
      int s = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
      if (s < 0) return Errno("socket", path);
      int rc = ::bind(s, reinterpret_cast<struct sockaddr*>(&addr), sizeof(addr));
      std::string err = rc == 0 ? "" : Errno("bind", path);
      ::close(s);  // the socket file stays
      return err;
    }
  }
  return "unknown kind";
}

Node File(std::string path, std::string data, uint32_t mode = 0644) {
  Node n;
  n.path = std::move(path);
  n.data = std::move(data);
  n.mode = mode;
  return n;
}
Node Dir(std::string path, uint32_t mode = 0755) {
  Node n;
  n.path = std::move(path);
  n.kind = Node::Kind::kDir;
  n.mode = mode;
  return n;
}
Node Symlink(std::string path, std::string target) {
  Node n;
  n.path = std::move(path);
  n.kind = Node::Kind::kSymlink;
  n.target = std::move(target);
  return n;
}
Node Special(std::string path, Node::Kind kind, uint32_t mode, uint32_t major = 0,
             uint32_t minor = 0) {
  Node n;
  n.path = std::move(path);
  n.kind = kind;
  n.mode = mode;
  n.major = major;
  n.minor = minor;
  return n;
}
Node Owned(Node n, uint32_t uid, uint32_t gid) {
  n.uid = uid;
  n.gid = gid;
  return n;
}
Node Timed(Node n, int64_t sec, uint32_t nsec) {
  n.mtime_sec = sec;
  n.mtime_nsec = nsec;
  return n;
}
Node WithXattr(Node n, std::string k, std::string v) {
  n.xattrs.emplace_back(std::move(k), std::move(v));
  return n;
}

}  // namespace

TempDir::TempDir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "cairn-fid-XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr) std::abort();
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string RandomBytes(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string s(n, '\0');
  for (size_t i = 0; i < n; i += 8) {
    uint64_t v = rng();
    for (size_t j = 0; j < 8 && i + j < n; ++j) s[i + j] = static_cast<char>(v >> (8 * j));
  }
  return s;
}

std::string CapNetRawEp() {
  std::string s;
  PutLe32(&s, 0x02000000 | 0x000001);  // VFS_CAP_REVISION_2 | VFS_CAP_FLAGS_EFFECTIVE
  PutLe32(&s, 1u << 13);               // permitted: CAP_NET_RAW
  PutLe32(&s, 0);                      // inheritable
  PutLe32(&s, 0);                      // permitted (high word)
  PutLe32(&s, 0);                      // inheritable (high word)
  return s;
}

std::string AclUser1000Read() {
  return Acl({{kUserObj, 6, kNoId}, {kUser, 4, 1000}, {kGroupObj, 4, kNoId}, {kMask, 4, kNoId},
              {kOther, 4, kNoId}});
}

TreeSpec FullSpec(uint64_t seed) {
  const int64_t t = 1600000000 + static_cast<int64_t>(seed);
  TreeSpec s;
  // The root's own metadata counts.
  s.push_back(WithXattr(Timed(Owned(Dir("", 0751), 0, 0), t + 1, 123456789), "user.root", "top"));
  s.push_back(Owned(File("empty", "", 0600), 1000, 1000));
  s.push_back(Timed(File("small.txt", "hello " + std::to_string(seed) + "\n"), t, 1));
  s.push_back(Timed(Owned(File("big.bin", RandomBytes((3 << 20) + 12345, seed), 0640), 1001, 2002),
                    t + 2, 999999999));
  s.push_back(Timed(File("old", "before 1970", 0444), -1000000, 5));
  s.push_back(Timed(File("future", "after 2038", 0444), 4102444800, 7));
  s.push_back(WithXattr(WithXattr(File("xattrs", "x"), "user.binary", std::string("\0\x01\xff", 3)),
                        "trusted.cairn", "t"));
  s.push_back(Owned(File("suid", "#!/bin/true\n", 04755), 0, 0));
  s.push_back(Owned(File("suidgid", "#!/bin/true\n", 06711), 0, 42));
  s.push_back(WithXattr(File("ping", "ping", 0755), "security.capability", CapNetRawEp()));
  s.push_back(WithXattr(File("acl", "acl", 0644), "system.posix_acl_access", AclUser1000Read()));
  {  // holes at the start, in the middle and at the end; one data piece not block-aligned
    Node n;
    n.path = "sparse";
    n.kind = Node::Kind::kSparse;
    n.size = (8 << 20) + 1000;
    n.pieces = {{1 << 20, RandomBytes(8192, seed + 1)},
                {(4 << 20) + 100, RandomBytes(50, seed + 2)},
                {6 << 20, RandomBytes(65536, seed + 3)}};
    n.mtime_nsec = 42;
    s.push_back(n);
    Node h;
    h.path = "hole";
    h.kind = Node::Kind::kSparse;
    h.size = 1 << 20;
    h.mode = 0600;
    s.push_back(h);
  }
  s.push_back(WithXattr(Timed(Dir("dir"), t, 500), "trusted.overlay.opaque", "y"));
  s.push_back(Owned(Dir("dir/sub", 0700), 1000, 100));
  s.push_back(Timed(Dir("dir/sub/deep", 0555), t - 5, 1));
  s.push_back(File("dir/sub/deep/file", "deep\n"));
  s.push_back(Owned(Dir("dir/setgid", 02775), 0, 50));
  s.push_back(Owned(File("dir/setgid/f", "g"), 2000000000, 50));
  s.push_back(Dir("tmp", 01777));
  s.push_back(Timed(Owned(Symlink("dir/rel", "../small.txt"), 1000, 1000), t, 111));
  s.push_back(WithXattr(Timed(Symlink("abs", "/etc/passwd"), t, 222), "trusted.sym", "s"));
  s.push_back(Timed(Symlink("dangling", "nowhere/at/all"), t, 333));
  // A group of 3 names across directories; the inode's metadata is the first's.
  s.push_back(Dir("links"));
  s.push_back(WithXattr(Timed(Owned(File("links/a", "linked content", 0640), 1002, 1003), t, 7),
                        "user.x", "1"));
  {
    Node l;
    l.kind = Node::Kind::kHardlink;
    l.target = "links/a";
    l.path = "dir/sub/b";
    s.push_back(l);
    l.path = "c";
    s.push_back(l);
  }
  s.push_back(Dir("dev"));
  s.push_back(Special("dev/null", Node::Kind::kChar, 0666, 1, 3));
  s.push_back(Owned(Special("dev/sda", Node::Kind::kBlock, 0660, 8, 0), 0, 6));
  s.push_back(Special("dev/big", Node::Kind::kChar, 0600, 4095, 1048575));
  s.push_back(Timed(Special("dev/fifo", Node::Kind::kFifo, 0620), t, 9));
  s.push_back(Special("dev/sock", Node::Kind::kSocket, 0755));
  // A directory with a default ACL, created after its child: the child has none.
  s.push_back(WithXattr(Dir("shared", 0775), "system.posix_acl_default",
                        Acl({{kUserObj, 7, kNoId}, {kUser, 7, 1000}, {kGroupObj, 5, kNoId},
                             {kMask, 7, kNoId}, {kOther, 5, kNoId}})));
  s.push_back(File("shared/plain", "no acl"));
  // Names: not UTF-8, spaces, newlines, tabs, a leading dash, 255 bytes.
  s.push_back(File("\xff\xfe", "not utf-8"));
  s.push_back(Dir("new\nline"));
  s.push_back(File("new\nline/with space", " "));
  s.push_back(File("new\nline/tab\tname", "\t"));
  s.push_back(File("-dash", "-"));
  s.push_back(File(std::string(255, 'n'), "long name"));
  return s;
}

TreeSpec DenseSpec(uint64_t seed) {
  TreeSpec s = FullSpec(seed);
  std::erase_if(s, [](const Node& n) { return n.kind == Node::Kind::kSparse; });
  return s;
}

std::string TryBuildTree(const std::string& dir, const TreeSpec& spec) {
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) return Errno("mkdir", dir);
  for (const Node& n : spec) {
    std::string err = MakeNode(dir, n);
    if (!err.empty()) return "building " + Escape(n.path) + ": " + err;
  }
  for (const Node& n : spec) {
    if (n.kind == Node::Kind::kDir || n.kind == Node::Kind::kHardlink) continue;
    std::string err = ApplyMeta(dir + "/" + n.path, n);
    if (!err.empty()) return "building " + Escape(n.path) + ": " + err;
  }
  for (auto it = spec.rbegin(); it != spec.rend(); ++it) {  // deepest directories first
    if (it->kind != Node::Kind::kDir) continue;
    std::string err = ApplyMeta(it->path.empty() ? dir : dir + "/" + it->path, *it);
    if (!err.empty()) return "building " + Escape(it->path) + ": " + err;
  }
  SettleCtimes();
  return "";
}

void BuildTree(const std::string& dir, const TreeSpec& spec) {
  ASSERT_EQ(TryBuildTree(dir, spec), "");
}

void SettleCtimes() { std::this_thread::sleep_for(std::chrono::milliseconds(25)); }

std::string Describe(const std::string& path, const Entry& e) {
  std::ostringstream os;
  os << "'" << Escape(path) << "' " << e.type;
  if (e.type != 'l') os << " mode=" << std::oct << e.mode << std::dec;
  os << " owner=" << e.uid << ":" << e.gid << " mtime=" << e.mtime_ns;
  if (e.type == 'f') os << " size=" << e.size << " sha256=" << e.sha256.substr(0, 16);
  if (e.type == 'f') {
    os << " extents=[";
    for (const auto& x : e.extents) os << x.offset << "+" << x.length << " ";
    os << "]";
  }
  if (e.type == 'l') os << " -> '" << Escape(e.target) << "'";
  if (e.type == 'c' || e.type == 'b') os << " rdev=" << e.rdev_major << "," << e.rdev_minor;
  if (!e.link_group.empty()) os << " linked-with='" << Escape(e.link_group) << "'";
  for (const auto& [k, v] : e.xattrs) os << " " << k << "=" << Escape(v);
  return os.str();
}

void PrintTo(const TreeListing& l, std::ostream* os) {
  *os << l.entries.size() << " entries:\n";
  int n = 0;
  for (const auto& [p, e] : l.entries) {
    if (++n > 400) {
      *os << "  ...\n";
      break;
    }
    *os << "  " << Describe(p, e) << "\n";
  }
}

std::string Diff(const TreeListing& a, const TreeListing& b) {
  std::string out;
  int n = 0;
  auto add = [&](const std::string& line) {
    if (++n <= 50) out += line + "\n";
  };
  for (const auto& [p, e] : a.entries) {
    auto it = b.entries.find(p);
    if (it == b.entries.end()) {
      add("only in first:  " + Describe(p, e));
    } else if (!(it->second == e)) {
      add("first:  " + Describe(p, e) + "\nsecond: " + Describe(p, it->second));
    }
  }
  for (const auto& [p, e] : b.entries) {
    if (!a.entries.contains(p)) add("only in second: " + Describe(p, e));
  }
  if (n > 50) out += std::to_string(n - 50) + " more differences\n";
  return out;
}

namespace {

class Lister {
 public:
  explicit Lister(std::string root) : root_(std::move(root)) {}

  std::string Run(TreeListing* out) {
    struct stat st;
    if (::lstat(root_.c_str(), &st) != 0) return Errno("lstat", root_);
    dev_ = st.st_dev;
    std::string err = Visit(root_, "", st, out);
    if (!err.empty()) return err;
    for (const auto& [ino, paths] : inodes_) {
      if (paths.size() < 2) continue;
      for (const auto& p : paths) out->entries[p].link_group = *paths.begin();
    }
    return "";
  }

 private:
  std::string Visit(const std::string& path, const std::string& rel, const struct stat& st,
                    TreeListing* out) {
    Entry e;
    switch (st.st_mode & S_IFMT) {
      case S_IFREG: e.type = 'f'; break;
      case S_IFDIR: e.type = 'd'; break;
      case S_IFLNK: e.type = 'l'; break;
      case S_IFCHR: e.type = 'c'; break;
      case S_IFBLK: e.type = 'b'; break;
      case S_IFIFO: e.type = 'p'; break;
      case S_IFSOCK: e.type = 's'; break;
    }
    if (e.type != 'l') e.mode = st.st_mode & 07777;
    e.uid = st.st_uid;
    e.gid = st.st_gid;
    e.mtime_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
    std::string err = ReadXattrs(path, &e.xattrs);
    if (!err.empty()) return err;
    if (e.type == 'l') {
      char buf[PATH_MAX + 1];
      ssize_t n = ::readlink(path.c_str(), buf, sizeof(buf));
      if (n < 0) return Errno("readlink", path);
      e.target.assign(buf, static_cast<size_t>(n));
    }
    if (e.type == 'c' || e.type == 'b') {
      e.rdev_major = major(st.st_rdev);
      e.rdev_minor = minor(st.st_rdev);
    }
    if (e.type == 'f') {
      e.size = static_cast<uint64_t>(st.st_size);
      err = ReadFile(path, st, &e);
      if (!err.empty()) return err;
    }
    if (e.type != 'd') inodes_[{st.st_dev, st.st_ino}].insert(rel);
    out->entries[rel] = e;
    if (e.type != 'd' || st.st_dev != dev_) return "";
    DIR* d = ::opendir(path.c_str());
    if (d == nullptr) return Errno("opendir", path);
    std::vector<std::string> names;
    while (struct dirent* de = ::readdir(d)) {
      std::string n = de->d_name;
      if (n != "." && n != "..") names.push_back(n);
    }
    ::closedir(d);
    for (const auto& n : names) {
      std::string child = path + "/" + n;
      struct stat cst;
      if (::lstat(child.c_str(), &cst) != 0) return Errno("lstat", child);
      err = Visit(child, rel.empty() ? n : rel + "/" + n, cst, out);
      if (!err.empty()) return err;
    }
    return "";
  }

  static std::string ReadXattrs(const std::string& path, std::map<std::string, std::string>* out) {
    ssize_t n = ::llistxattr(path.c_str(), nullptr, 0);
    if (n < 0) return errno == ENOTSUP ? "" : Errno("llistxattr", path);
    std::string names(static_cast<size_t>(n), '\0');
    n = ::llistxattr(path.c_str(), names.data(), names.size());
    if (n < 0) return Errno("llistxattr", path);
    names.resize(static_cast<size_t>(n));
    for (size_t pos = 0; pos < names.size();) {
      std::string k(names.c_str() + pos);
      pos += k.size() + 1;
      ssize_t m = ::lgetxattr(path.c_str(), k.c_str(), nullptr, 0);
      if (m < 0) return Errno("lgetxattr " + k, path);
      std::string v(static_cast<size_t>(m), '\0');
      m = ::lgetxattr(path.c_str(), k.c_str(), v.data(), v.size());
      if (m < 0) return Errno("lgetxattr " + k, path);
      v.resize(static_cast<size_t>(m));
      (*out)[k] = v;
    }
    return "";
  }

  static std::string ReadFile(const std::string& path, const struct stat& st, Entry* e) {
    int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return Errno("open", path);
    Sha256 h;
    std::string buf(1 << 20, '\0');
    std::string err;
    for (;;) {
      ssize_t n = ::read(fd, buf.data(), buf.size());
      if (n < 0) {
        err = Errno("read", path);
        break;
      }
      if (n == 0) break;
      h.Update(buf.data(), static_cast<size_t>(n));
    }
    e->sha256 = h.Finish().ToHex();
    const off_t end = st.st_size;
    for (off_t pos = 0; err.empty() && pos < end;) {
      off_t data = ::lseek(fd, pos, SEEK_DATA);
      if (data < 0) {
        if (errno != ENXIO) err = Errno("SEEK_DATA", path);
        break;
      }
      off_t hole = ::lseek(fd, data, SEEK_HOLE);
      if (hole < 0) {
        err = Errno("SEEK_HOLE", path);
        break;
      }
      hole = std::min(hole, end);
      e->extents.push_back({static_cast<uint64_t>(data), static_cast<uint64_t>(hole - data)});
      pos = hole;
    }
    ::close(fd);
    return err;
  }

  std::string root_;
  dev_t dev_ = 0;
  std::map<std::pair<dev_t, ino_t>, std::set<std::string>> inodes_;
};

}  // namespace

TreeListing Listing(const std::string& dir) {
  TreeListing out;
  std::string err = Lister(dir).Run(&out);
  EXPECT_EQ(err, "") << "listing " << dir;
  return out;
}

uint64_t AllocatedBytes(const std::string& path) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) return ~uint64_t{0};
  return static_cast<uint64_t>(st.st_blocks) * 512;
}

void ReadThroughMapping(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0) << path << ": " << std::strerror(errno);
  struct stat st;
  ASSERT_EQ(::fstat(fd, &st), 0) << path;
  const size_t size = static_cast<size_t>(st.st_size);
  void* m = ::mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0);
  ::close(fd);
  ASSERT_NE(m, MAP_FAILED) << path << ": " << std::strerror(errno);
  const long page = ::sysconf(_SC_PAGESIZE);
  volatile unsigned sum = 0;
  for (size_t i = 0; i < size; i += static_cast<size_t>(page))
    sum = sum + static_cast<const unsigned char*>(m)[i];
  ::munmap(m, size);
}

uint64_t SparseDataBytes(const TreeListing& listing) {
  uint64_t n = 0;
  std::set<std::string> groups;
  for (const auto& [p, e] : listing.entries) {
    if (e.type != 'f' || e.size == 0) continue;
    if (e.extents.size() == 1 && e.extents[0].offset == 0 && e.extents[0].length == e.size) continue;
    if (!e.link_group.empty() && !groups.insert(e.link_group).second) continue;  // once per inode
    for (const auto& x : e.extents) n += x.length;
  }
  return n;
}

int Shell(const std::string& command) {
  int rc = std::system(command.c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

int PyTar(const std::string& path, const std::string& script) {
  const std::string py = path + ".py";
  std::ofstream(py) << "import tarfile, io, sys\n"
                       "def reg(t, name, data=b'', **kw):\n"
                       "    i = tarfile.TarInfo(name); i.size = len(data); i.mode = 0o644\n"
                       "    for k, v in kw.items(): setattr(i, k, v)\n"
                       "    t.addfile(i, io.BytesIO(data))\n"
                       "def typ(t, name, type, **kw):\n"
                       "    i = tarfile.TarInfo(name); i.type = type; i.mode = 0o755\n"
                       "    for k, v in kw.items(): setattr(i, k, v)\n"
                       "    t.addfile(i)\n"
                       "with tarfile.open(sys.argv[1], 'w', format=tarfile.PAX_FORMAT) as t:\n"
                    << script;
  return Shell("python3 '" + py + "' '" + path + "'");
}

void MakeDeepTree(const std::string& root, int levels, bool root_exists, bool numbered) {
  if (!root_exists) {
    ASSERT_EQ(::mkdir(root.c_str(), 0755), 0) << root;
  }
  int fd = ::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  ASSERT_GE(fd, 0) << root;
  for (int i = 0; i < levels; ++i) {
    for (const std::string& name : {std::string("f"), std::to_string(i)}) {
      if (name != "f" && !numbered) continue;
      int f = ::openat(fd, name.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
      ASSERT_GE(f, 0);
      ::close(f);
    }
    ASSERT_EQ(::mkdirat(fd, "d", 0755), 0);
    int next = ::openat(fd, "d", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    ::close(fd);
    ASSERT_GE(next, 0);
    fd = next;
  }
  ::close(fd);
}

}  // namespace cairn::indexer::testing
