#include "indexer/disk_view.h"

#include <strings.h>

#include <algorithm>
#include <sstream>

#include "cas/tree.h"
#include "cas/tree_reader.h"

namespace cairn::indexer {
namespace {

std::vector<std::string> Split(const std::string& path) {
  std::vector<std::string> out;
  std::stringstream ss(path);
  std::string c;
  while (std::getline(ss, c, '/')) {
    if (!c.empty()) out.push_back(c);
  }
  return out;
}

Result<cas::Tree> Load(cas::ObjectStore* store, const ObjectId& id) {
  CAIRN_ASSIGN_OR_RETURN(std::string data, store->ReadTyped(id, cas::ObjectType::kTree));
  return cas::DecodeTree(id, data);
}

Result<ObjectId> Store(cas::Ingestor* ingestor, cas::Tree* t) {
  CAIRN_RETURN_IF_ERROR(cas::CanonicalizeTree(t));
  return ingestor->PutObject(cas::ObjectType::kTree, cas::EncodeTree(*t));
}

// Replaces the directory at `parts` beneath `dir` with the Tree `sub`, returning the new id. A
// zero `dir` is a directory the tree lacks, made here (mode 0755): nothing written in this pass
// is read back before the ingestor's next Finish.
Result<ObjectId> Graft(cas::Ingestor* ingestor, const ObjectId& dir, const std::vector<std::string>& parts,
                       size_t i, const ObjectId& sub) {
  cas::Tree t;
  t.meta.mode = 0755;
  if (!dir.IsZero()) {
    CAIRN_ASSIGN_OR_RETURN(t, Load(ingestor->store(), dir));
  }
  auto it = std::find_if(t.entries.begin(), t.entries.end(),
                         [&](const cas::TreeEntry& e) { return e.name == parts[i]; });
  if (it != t.entries.end() && it->type != cas::EntryType::kDirectory) t.entries.erase(it), it = t.entries.end();
  if (it == t.entries.end()) {
    cas::TreeEntry e;
    e.name = parts[i];
    e.type = cas::EntryType::kDirectory;
    t.entries.push_back(e);  // id: zero until set below
    it = t.entries.end() - 1;
  }
  if (i + 1 == parts.size()) {
    it->id = sub;
  } else {
    CAIRN_ASSIGN_OR_RETURN(it->id, Graft(ingestor, it->id, parts, i + 1, sub));
  }
  return Store(ingestor, &t);
}

// fstab's \040 for a space: as libmount unescapes, a backslash and three octal digits make one
// byte; anything else (\999, a backslash at the end) is kept as it is.
std::string Unescape(const std::string& s) {
  auto octal = [](char c) { return c >= '0' && c <= '7'; };
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size() && octal(s[i + 1]) && octal(s[i + 2]) && octal(s[i + 3])) {
      out +=
          static_cast<char>(((s[i + 1] - '0') << 6) | ((s[i + 2] - '0') << 3) | (s[i + 3] - '0'));
      i += 3;
    } else {
      out += s[i];
    }
  }
  return out;
}

// Whether the source `spec` of an fstab line (UUID=, LABEL=, PARTUUID=, /dev/VG/LV,
// /dev/mapper/VG-LV, /dev/[shv]daN) names `f`, a filesystem of `disk`.
bool Names(const std::string& spec, const cas::DiskFilesystem& f, const cas::Disk& disk) {
  const cas::DiskPartition* p = f.volume.empty() ? disk.FindPartition(f.partition) : nullptr;
  if ((spec.starts_with("UUID=") && spec.substr(5) == f.uuid) ||
      (spec.starts_with("LABEL=") && !f.label.empty() && spec.substr(6) == f.label) ||
      (spec.starts_with("PARTUUID=") && p && !p->guid.empty() &&
       strcasecmp(spec.substr(9).c_str(), p->guid.c_str()) == 0)) {
    return true;
  }
  if (!f.volume.empty()) {  // /dev/VG/LV or /dev/mapper/VG-LV ('-' doubled)
    size_t slash = f.volume.find('/');
    auto dash = [](std::string n) {
      for (size_t i = 0; (i = n.find('-', i)) != std::string::npos; i += 2) n.insert(i, "-");
      return n;
    };
    return spec == "/dev/" + f.volume || spec == "/dev/mapper/" + dash(f.volume.substr(0, slash)) +
                                                     "-" + dash(f.volume.substr(slash + 1));
  }
  // /dev/sda2, /dev/vda2, /dev/hda2
  return p && spec.size() > 8 && spec.starts_with("/dev/") && spec[6] == 'd' && spec[7] == 'a' &&
         spec.substr(8) == std::to_string(p->number);
}

// Whether `path` in `tree` is an entry of `type` itself (not a symbolic link to one).
bool IsEntry(cas::ObjectStore* store, const ObjectId& tree, const char* path, cas::EntryType type) {
  auto e = cas::LookupPath(store, tree, path);
  return e && e->type == type;
}
bool IsRegular(cas::ObjectStore* store, const ObjectId& tree, const char* path) {
  return IsEntry(store, tree, path, cas::EntryType::kRegular);
}

// Whether the filesystem `tree` is the root of an OS by the rule of libguestfs's inspection
// (daemon/inspect_fs.ml, check_filesystem), for what cairn stores (ext2/3/4): not a GRUB /boot
// (grub/menu.lst, grub/grub.conf or grub2/grub.cfg), a directory etc, a directory bin or a
// symbolic link bin -> usr/bin, and a file etc/fstab or etc/hosts. The BSD and Minix roots it
// knows meet this rule too. None of these follows a symbolic link, as libguestfs's checks do not.
bool IsInspectedRoot(cas::ObjectStore* store, const ObjectId& tree) {
  for (const char* grub : {"grub/menu.lst", "grub/grub.conf", "grub2/grub.cfg"}) {
    if (IsRegular(store, tree, grub)) return false;
  }
  if (!IsEntry(store, tree, "etc", cas::EntryType::kDirectory)) return false;
  auto bin = cas::LookupPath(store, tree, "bin");
  if (!bin || !(bin->type == cas::EntryType::kDirectory ||
                (bin->type == cas::EntryType::kSymlink && bin->target == "usr/bin"))) {
    return false;
  }
  return IsRegular(store, tree, "etc/fstab") || IsRegular(store, tree, "etc/hosts");
}

// "partition 2, partition 3 and logical volume vg/data".
std::string Listed(const std::vector<cas::DiskFilesystem*>& fss) {
  std::string out;
  for (size_t i = 0; i < fss.size(); ++i) {
    out += i == 0 ? "" : i + 1 == fss.size() ? " and " : ", ";
    out += fss[i]->volume.empty() ? "partition " + std::to_string(fss[i]->partition)
                                  : "logical volume " + fss[i]->volume;
  }
  return out;
}

}  // namespace

std::optional<std::string> SafeMountpoint(const std::string& path) {
  if (!path.starts_with("/")) return std::nullopt;
  std::vector<std::string> parts = Split(path);
  if (!std::all_of(parts.begin(), parts.end(),
                   [](const std::string& c) { return cas::IsSafeName(c); })) {
    return std::nullopt;
  }
  std::string norm;
  for (const auto& c : parts) norm += "/" + c;
  return norm.empty() ? "/" : norm;
}

Result<std::vector<std::string>> AssignMountpoints(cas::Ingestor* ingestor, cas::Disk* disk) {
  std::vector<std::string> warnings;
  std::vector<cas::DiskFilesystem*> fss;
  for (auto& f : disk->filesystems) {
    if (!f.tree.IsZero()) fss.push_back(&f);
  }
  if (fss.empty()) return warnings;
  cas::ObjectStore* store = ingestor->store();
  // OS roots in the order libguestfs lists filesystems (partitions by number, then logical
  // volumes by name: the Disk's order), whose first its inspection takes.
  std::vector<cas::DiskFilesystem*> roots;
  for (auto* f : fss) {
    if (IsInspectedRoot(store, f->tree)) roots.push_back(f);
  }
  auto given = std::find_if(fss.begin(), fss.end(), [](auto* f) { return f->mountpoint == "/"; });
  if (roots.size() > 1) {
    cas::DiskFilesystem* taken = given != fss.end() ? *given : roots[0];
    warnings.push_back(
        "the disk holds " + std::to_string(roots.size()) + " operating systems (" + Listed(roots) +
        "): the view's / is " + Listed({taken}) +
        (taken == roots[0] ? ", the first, as libguestfs's inspection takes it" : ""));
  }
  if (given != fss.end()) return warnings;  // given by inspection
  // Without an OS root (as libguestfs's inspection finds none): the filesystem holding
  // etc/fstab, the first one if several do.
  cas::DiskFilesystem* root = !roots.empty() ? roots[0] : fss.size() == 1 ? fss[0] : nullptr;
  for (auto it = fss.begin(); root == nullptr && it != fss.end(); ++it) {
    if (IsRegular(store, (*it)->tree, "etc/fstab")) root = *it;
  }
  if (root == nullptr) return warnings;
  root->mountpoint = "/";
  std::string fstab;
  if (auto e = cas::LookupPath(store, root->tree, "etc/fstab");
      e && e->type == cas::EntryType::kRegular) {
    CAIRN_RETURN_IF_ERROR(cas::ReadFileEntry(store, *e, [&](std::string_view p) {
      fstab.append(p);
      return Status();
    }));
  }
  std::stringstream ss(fstab);
  std::string line;
  while (std::getline(ss, line)) {
    std::stringstream ls(line);
    std::string spec, mnt;
    if (!(ls >> spec >> mnt) || spec.starts_with("#")) continue;
    mnt = Unescape(mnt);
    if (mnt == "/" || !mnt.starts_with("/")) continue;
    std::vector<cas::DiskFilesystem*> named;
    for (auto* f : fss) {
      if (Names(spec, *f, *disk)) named.push_back(f);
    }
    // Filesystems of one UUID or label (a copy of a partition beside it): which one the OS
    // mounts depends on the order its devices appear in, which the image does not record.
    if (named.size() > 1) {
      warnings.push_back("/etc/fstab's " + spec + " names " + std::to_string(named.size()) +
                         " filesystems (" + Listed(named) + "): none is mounted at " + mnt +
                         " in the view");
      continue;
    }
    if (named.empty() || named[0] == root || !named[0]->mountpoint.empty()) continue;
    std::optional<std::string> safe = SafeMountpoint(mnt);
    if (!safe || *safe == "/") continue;
    // A later line of the same mount point mounts over the earlier one, which the OS hides.
    for (auto* f : fss) {
      if (f->mountpoint == *safe) f->mountpoint.clear();
    }
    named[0]->mountpoint = *safe;
  }
  return warnings;
}

Status BuildView(cas::Ingestor* ingestor, cas::Disk* disk) {
  std::vector<cas::DiskFilesystem*> mounted;
  const cas::DiskFilesystem* root = nullptr;
  for (auto& f : disk->filesystems) {
    if (f.tree.IsZero()) continue;
    if (f.mountpoint == "/") root = &f;
    else mounted.push_back(&f);
  }
  ObjectId view;
  if (root != nullptr) {
    view = root->tree;
    for (auto it = mounted.begin(); it != mounted.end();) {
      if ((*it)->mountpoint.empty()) it = mounted.erase(it);
      else ++it;
    }
  }
  // Shallow mount points first, so deeper ones land inside them.
  std::stable_sort(mounted.begin(), mounted.end(), [](auto* a, auto* b) {
    return Split(a->mountpoint).size() < Split(b->mountpoint).size();
  });
  cas::Tree empty;
  empty.meta.mode = 0755;
  if (mounted.empty()) {
    if (root == nullptr) {
      CAIRN_ASSIGN_OR_RETURN(view, Store(ingestor, &empty));
    }
    disk->view = view;
    return Status();
  }
  // The top directory is built in memory and stored once, so that no intermediate view of it
  // is left behind as garbage.
  // Without a root filesystem it starts empty (nothing is read back before the next Finish).
  cas::Tree top = empty;
  if (root != nullptr) {
    CAIRN_ASSIGN_OR_RETURN(top, Load(ingestor->store(), view));
  }
  std::vector<std::vector<std::string>> groups;
  for (auto* f : mounted) {
    std::string at = root != nullptr        ? f->mountpoint
                     : f->volume.empty() ? "/" + std::to_string(f->partition)
                                         : "/" + f->volume;
    std::vector<std::string> parts = Split(at);
    // A filesystem grafted before at this mount point or beneath it (two fstab lines of one
    // mount point) is hidden by this one, and so are its hard links.
    const std::string hidden = at.substr(1) + "/";
    std::erase_if(groups, [&](const std::vector<std::string>& g) {
      return std::any_of(g.begin(), g.end(),
                         [&](const std::string& p) { return p.starts_with(hidden); });
    });
    CAIRN_ASSIGN_OR_RETURN(cas::Tree sub, Load(ingestor->store(), f->tree));
    ObjectId sub_id = f->tree;
    if (!sub.hardlinks.empty()) {
      std::string prefix = at.substr(1) + "/";
      for (auto g : sub.hardlinks) {
        for (auto& p : g) p = prefix + p;
        groups.push_back(std::move(g));
      }
      sub.hardlinks.clear();
      CAIRN_ASSIGN_OR_RETURN(sub_id, Store(ingestor, &sub));
    }
    auto it = std::find_if(top.entries.begin(), top.entries.end(),
                           [&](const cas::TreeEntry& e) { return e.name == parts[0]; });
    if (it != top.entries.end() && it->type != cas::EntryType::kDirectory) {
      top.entries.erase(it);
      it = top.entries.end();
    }
    if (it == top.entries.end()) {
      cas::TreeEntry e;
      e.name = parts[0];
      e.type = cas::EntryType::kDirectory;
      top.entries.push_back(e);  // id: zero (a directory to make) until set below
      it = top.entries.end() - 1;
    }
    if (parts.size() == 1) {
      it->id = sub_id;
    } else {
      CAIRN_ASSIGN_OR_RETURN(it->id, Graft(ingestor, it->id, parts, 1, sub_id));
    }
    // A deeper graft reads the Trees just written.
    CAIRN_RETURN_IF_ERROR(ingestor->Finish());
  }
  // A group of the root filesystem that lies under a mount point is hidden by it.
  for (auto* f : mounted) {
    std::string prefix = (root != nullptr        ? f->mountpoint.substr(1)
                          : f->volume.empty() ? std::to_string(f->partition)
                                              : f->volume) +
                         "/";
    std::erase_if(top.hardlinks, [&](const std::vector<std::string>& g) {
      return std::any_of(g.begin(), g.end(), [&](const std::string& p) { return p.starts_with(prefix); });
    });
  }
  for (auto& g : groups) top.hardlinks.push_back(std::move(g));
  CAIRN_ASSIGN_OR_RETURN(view, Store(ingestor, &top));
  disk->view = view;
  return Status();
}

}  // namespace cairn::indexer
