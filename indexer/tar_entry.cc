// Names and metadata of libarchive entries, as TarSource stores them (indexer/tar_entry.h).
#include "indexer/tar_entry.h"

#include <archive.h>
#include <archive_entry.h>
#include <grp.h>
#include <pwd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <map>
#include <optional>
#include <tuple>

#include "base/coding.h"

namespace cairn::indexer {
namespace {

// ACL entry tags in a system.posix_acl_* value (ACL_USER_OBJ ... ACL_OTHER), in the order the
// kernel requires them.
constexpr uint16_t kAclUserObj = 0x01, kAclUser = 0x02, kAclGroupObj = 0x04, kAclGroup = 0x08,
                   kAclMask = 0x10, kAclOther = 0x20;

// The id of user or group `name` in this host's databases (NSS), or nullopt.
// Looks `name` up with getpwnam_r or getgrnam_r (`lookup`), growing the buffer on ERANGE (a
// group of many members may need more than 16 KiB); the id `id_of` takes from the record.
template <typename Record, typename Lookup, typename IdOf>
std::optional<uint32_t> LookUpId(const std::string& name, Lookup lookup, IdOf id_of) {
  Record record, *found = nullptr;
  for (size_t size = 16384; size <= (size_t{1} << 26); size *= 4) {
    std::vector<char> buf(size);
    const int err = lookup(name.c_str(), &record, buf.data(), buf.size(), &found);
    if (err == ERANGE) continue;
    if (err != 0 || found == nullptr) return std::nullopt;
    return static_cast<uint32_t>(id_of(*found));
  }
  return std::nullopt;
}
std::optional<uint32_t> UserId(const std::string& name) {
  return LookUpId<struct passwd>(name, ::getpwnam_r, [](const passwd& p) { return p.pw_uid; });
}
std::optional<uint32_t> GroupId(const std::string& name) {
  return LookUpId<struct group>(name, ::getgrnam_r, [](const group& g) { return g.gr_gid; });
}

// The kernel's system.posix_acl_* value (version 2, entries sorted by tag then id) for the
// entry's ACL of `type`; nullopt when there is no extended ACL. Little-endian throughout: a
// 32-bit version, then per entry a 16-bit tag, a 16-bit permission set and a 32-bit id.
Result<std::optional<std::string>> AclXattr(struct archive_entry* e, int type,
                                            const std::string& shown) {
  if (archive_entry_acl_reset(e, type) <= 0) return std::optional<std::string>();
  struct Ace {
    uint16_t tag;
    uint16_t perm;
    uint32_t id;
    bool operator<(const Ace& o) const { return tag != o.tag ? tag < o.tag : id < o.id; }
  };
  std::vector<Ace> aces;
  int t, permset, tag, qual;
  const char* name;
  while (archive_entry_acl_next(e, type, &t, &permset, &tag, &qual, &name) == ARCHIVE_OK) {
    Ace a{0, static_cast<uint16_t>(permset & 7), 0xffffffffu};
    switch (tag) {
      case ARCHIVE_ENTRY_ACL_USER_OBJ: a.tag = 0x01; break;
      case ARCHIVE_ENTRY_ACL_USER: a.tag = 0x02; break;
      case ARCHIVE_ENTRY_ACL_GROUP_OBJ: a.tag = 0x04; break;
      case ARCHIVE_ENTRY_ACL_GROUP: a.tag = 0x08; break;
      case ARCHIVE_ENTRY_ACL_MASK: a.tag = kAclMask; break;
      case ARCHIVE_ENTRY_ACL_OTHER: a.tag = 0x20; break;
      default:
        return Status::NotSupported("read tarball entry " + shown + ": NFSv4 ACLs are not supported");
    }
    if (a.tag == 0x02 || a.tag == 0x08) {
      if (qual >= 0) {
        a.id = static_cast<uint32_t>(qual);
      } else {
        // GNU tar writes ACL entries with names only (user:daemon:r--, even with
        // --numeric-owner) and looks them up in this host's user and group databases when it
        // extracts them: so does a checkin.
        std::string n = name != nullptr ? name : "";
        auto [p, ec] = std::from_chars(n.data(), n.data() + n.size(), a.id);
        if (ec != std::errc() || p != n.data() + n.size()) {
          const bool user = a.tag == kAclUser;
          std::optional<uint32_t> id = user ? UserId(n) : GroupId(n);
          if (!id) {
            return Status::NotSupported("read tarball entry " + shown + ": ACL names " +
                                        (user ? "user" : "group") + " '" + n +
                                        "', which this host does not know (GNU tar would not "
                                        "restore that entry either)");
          }
          a.id = *id;
        }
      }
    }
    aces.push_back(a);
  }
  std::sort(aces.begin(), aces.end());
  std::string out;
  PutFixed32(&out, 2);
  for (const Ace& a : aces) {
    PutFixed32(&out, a.tag | uint32_t{a.perm} << 16);  // the tag, then the permission set
    PutFixed32(&out, a.id);
  }
  return std::optional<std::string>(std::move(out));
}

// Why Linux would refuse `v` as a system.posix_acl_* value (fs/posix_acl.c: posix_acl_from_xattr
// and posix_acl_valid), or "" when it takes it: the version 2, then at least one 8-byte entry;
// the owner, named users, the owning group, named groups, a mask (needed with a named entry)
// and the others, in that order, each but the named once; permissions within rwx; named ids
// other than (uid_t)-1. An empty value would remove the ACL instead.
std::string AclFault(std::string_view v) {
  if (v.size() < 4 || (v.size() - 4) % 8 != 0) {
    return std::to_string(v.size()) + " bytes, not 4 and 8 per entry";
  }
  if (uint64_t version = DecodeLittleEndian(v, 0, 4); version != 2) {
    return "version " + std::to_string(version) + ", not 2";
  }
  if (v.size() == 4) return "no entries";
  constexpr uint16_t kOrder[] = {kAclUserObj, kAclUser, kAclGroupObj,
                                 kAclGroup,   kAclMask, kAclOther};
  size_t at = 0;  // where in kOrder the entries have come to
  int seen[6] = {};
  for (size_t pos = 4; pos < v.size(); pos += 8) {
    const auto tag = static_cast<uint16_t>(DecodeLittleEndian(v, pos, 2));
    const uint64_t perm = DecodeLittleEndian(v, pos + 2, 2);
    const uint64_t id = DecodeLittleEndian(v, pos + 4, 4);
    const std::string which = "entry " + std::to_string((pos - 4) / 8 + 1);
    const auto* place = std::find(std::begin(kOrder), std::end(kOrder), tag);
    if (place == std::end(kOrder)) return which + " has an unknown tag " + std::to_string(tag);
    const auto rank = static_cast<size_t>(place - std::begin(kOrder));
    const bool named = tag == kAclUser || tag == kAclGroup;
    if (rank < at || (rank == at && !named && seen[rank] > 0)) return which + " is out of order";
    if (perm > 7) return which + " has permissions " + std::to_string(perm) + " beyond rwx";
    if (named && id == 0xffffffff) return which + " names id 4294967295";
    at = rank;
    ++seen[rank];
  }
  if (seen[0] == 0 || seen[2] == 0 || seen[5] == 0) {
    return "no owner, owning group or others entry";
  }
  if ((seen[1] > 0 || seen[3] > 0) && seen[4] == 0) return "named entries but no mask";
  return "";
}

constexpr size_t kNameMax = 255;  // NAME_MAX

}  // namespace

Result<std::vector<std::string>> SplitName(std::string_view name, const std::string& tarball) {
  std::vector<std::string> parts;
  size_t pos = 0;
  while (pos <= name.size()) {
    size_t slash = name.find('/', pos);
    if (slash == std::string_view::npos) slash = name.size();
    std::string_view part = name.substr(pos, slash - pos);
    if (part == "..") {
      return Status::InvalidArgument("read tarball " + tarball + ": entry '" + std::string(name) +
                                     "' has a '..' component");
    }
    if (part.size() > kNameMax) {  // no Linux file system can make it: every checkout would fail
      return Status::InvalidArgument("read tarball " + tarball + ": entry '" + std::string(name) +
                                     "' has a component of " + std::to_string(part.size()) +
                                     " bytes (Linux allows 255)");
    }
    if (!part.empty() && part != ".") parts.emplace_back(part);
    pos = slash + 1;
  }
  return parts;
}

std::string JoinPath(const std::vector<std::string>& parts) {
  std::string out;
  for (const auto& p : parts) {
    if (!out.empty()) out += '/';
    out += p;
  }
  return out;
}

// `name` as libarchive's pax writer escapes an xattr name: each byte outside '!'..'~', and each
// '%' and '=', as %XX (upper-case hex).
static std::string LibarchiveEscaped(std::string_view name) {
  std::string out;
  for (char c : name) {
    const auto b = static_cast<unsigned char>(c);
    if (b < 33 || b > 126 || c == '%' || c == '=') {
      out += '%';
      out += "0123456789ABCDEF"[b >> 4];
      out += "0123456789ABCDEF"[b & 15];
    } else {
      out += c;
    }
  }
  return out;
}

// `name` as GNU tar reads back an xattr name it wrote in a SCHILY.xattr record: it escapes only
// '%' and '=' (as %25 and %3D, xattrs.c: xattr_encode_keyword), and undoes only those.
static std::string GnuTarUnescaped(std::string_view name) {
  std::string out;
  for (size_t i = 0; i < name.size(); ++i) {
    if (name.substr(i, 3) == "%25") {
      out += '%';
      i += 2;
    } else if (name.substr(i, 3) == "%3D") {
      out += '=';
      i += 2;
    } else {
      out += name[i];
    }
  }
  return out;
}

Result<cas::Metadata> EntryMetadata(struct archive_entry* e, const std::string& shown) {
  cas::Metadata m;
  m.mode = archive_entry_mode(e) & 07777;
  // Linux ids are 32 bits, and (uid_t)-1 means "no change" to chown(2): a pax uid of
  // 4294967301 would be stored as 5.
  for (auto [what, id, out] : {std::tuple{"uid", archive_entry_uid(e), &m.uid},
                               std::tuple{"gid", archive_entry_gid(e), &m.gid}}) {
    if (id < 0 || id >= int64_t{0xffffffff}) {
      return Status::InvalidArgument("read tarball entry " + shown + ": " + what + " " +
                                     std::to_string(id) + " is not a Linux id (0 to 4294967294)");
    }
    *out = static_cast<uint32_t>(id);
  }
  if (archive_entry_mtime_is_set(e)) {
    m.mtime_sec = archive_entry_mtime(e);
    long nsec = archive_entry_mtime_nsec(e);
    m.mtime_nsec = static_cast<uint32_t>(nsec >= 0 && nsec < 1000000000 ? nsec : 0);
    // A pax time is the real number of seconds (POSIX, GNU tar: -1.5 is 1.5 s before 1970), but
    // libarchive parses "-S.F" as -S seconds plus F: -1.5 comes as (-1 s, 500000000 ns), which
    // is -0.5 s. Only pax times have a fraction in tar and cpio, so a negative time with one is
    // turned back: (-S - 1 s, 1e9 - F ns). "-0.F" comes as (0 s, F ns), its sign lost, and
    // stays +0.F (docs/cli.md).
    if (m.mtime_sec < 0 && m.mtime_nsec > 0) {
      m.mtime_sec -= 1;
      m.mtime_nsec = 1000000000 - m.mtime_nsec;
    }
  }
  // libarchive's pax writer (cairn's TarSink, bsdtar) writes each xattr twice, as
  // LIBARCHIVE.xattr.NAME and SCHILY.xattr.NAME, NAME escaped in both (LibarchiveEscaped). Its
  // reader unescapes only the first, so a name that needed escaping comes back twice, once as
  // written, escaped (found by fuzz/tar_fuzzer.cc: a tar round trip changed the root id). So
  // each value listed under a name is taken with the same value listed under the name's escape,
  // which is dropped: names are taken shortest first, so an escape is always taken with the
  // name it escapes, never as a name of its own (user.a%41 stays beside user.aA, and user.a%41
  // written by libarchive, listed as user.a%41 and user.a%2541, is one xattr). A name listed
  // twice with two values keeps the one listed last.
  std::map<std::string, std::vector<std::string>> listed;  // values by name, in listed order
  archive_entry_xattr_reset(e);
  const char* name;
  const void* value;
  size_t size;
  while (archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK) {
    if (name == nullptr || *name == '\0') continue;
    listed[name].emplace_back(static_cast<const char*>(value), size);
  }
  const std::map<std::string, std::vector<std::string>> as_listed = listed;
  std::vector<std::string> names;
  for (const auto& [n, values] : listed) names.push_back(n);
  std::stable_sort(names.begin(), names.end(),
                   [](const std::string& a, const std::string& b) { return a.size() < b.size(); });
  std::map<std::string, std::string> xattrs;
  size_t twins = 0;  // values dropped as another's twin
  for (const std::string& n : names) {
    std::vector<std::string>& values = listed[n];
    const std::string escaped = LibarchiveEscaped(n);
    auto twin = escaped == n ? listed.end() : listed.find(escaped);
    while (!values.empty()) {
      std::string v = std::move(values.back());
      values.pop_back();
      std::vector<std::string>& same = twin != listed.end() ? twin->second : values;
      if (auto it = std::find(same.begin(), same.end(), v); it != same.end()) {
        same.erase(it);
        ++twins;
      }
      xattrs.emplace(n, std::move(v));  // the first taken, the last listed, stays
    }
  }
  // GNU tar writes each xattr once, as SCHILY.xattr.NAME with '%' and '=' escaped (%25, %3D),
  // and undoes that on extraction. An entry where not every xattr had its twin is GNU tar's:
  // its names are unescaped so. (Two xattrs of GNU tar named X and X's escape with one value
  // read as libarchive's one; a bsdtar tarball of LIBARCHIVE.xattr records only, whose names
  // holding a literal %25 or %3D, reads as GNU tar's: docs/cli.md.)
  if (twins < xattrs.size()) {
    xattrs.clear();
    for (const auto& [n, values] : as_listed) xattrs[GnuTarUnescaped(n)] = values.back();
  }
  for (auto [type, xname] : {std::pair{ARCHIVE_ENTRY_ACL_TYPE_ACCESS, "system.posix_acl_access"},
                             std::pair{ARCHIVE_ENTRY_ACL_TYPE_DEFAULT, "system.posix_acl_default"}}) {
    if (xattrs.contains(xname)) continue;
    CAIRN_ASSIGN_OR_RETURN(auto acl, AclXattr(e, type, shown));
    if (acl) xattrs[xname] = std::move(*acl);
  }
  // Linux holds only a valid ACL, a default ACL only on a directory and no ACL on a symbolic
  // link: any other would fail every directory checkout (EINVAL, EACCES, EOPNOTSUPP).
  const mode_t ftype = archive_entry_filetype(e);
  for (const char* xname : {"system.posix_acl_access", "system.posix_acl_default"}) {
    auto it = xattrs.find(xname);
    if (it == xattrs.end()) continue;
    std::string fault = AclFault(it->second);
    if (!fault.empty()) fault = "is not a valid ACL: " + fault;
    if (fault.empty() && ftype == AE_IFLNK) fault = "is on a symbolic link, which Linux gives none";
    if (fault.empty() && ftype != AE_IFDIR && it->first == "system.posix_acl_default") {
      fault = "is on a non-directory, where Linux holds no default ACL";
    }
    if (!fault.empty()) {
      return Status::InvalidArgument("read tarball entry " + shown + ": " + xname + " " + fault);
    }
  }
  // Setting an access ACL makes the mode agree with it (posix_acl_update_mode): its owner and
  // others bits become the ACL's owner and others entries, its group bits the mask, or the
  // owning group's entry without a mask; an ACL that says no more than the mode (no mask, no
  // named entry) is not kept. A tarball's mode may disagree (libarchive also sets the group bits
  // from the owning group's entry when it parses an ACL): the mode is what extraction gives.
  if (auto it = xattrs.find("system.posix_acl_access"); it != xattrs.end()) {
    std::string_view v = it->second;  // valid (AclFault): the mask comes after the owning group
    uint32_t perms = 0;
    bool extended = false;
    for (size_t pos = 4; pos + 8 <= v.size(); pos += 8) {
      const auto tag = static_cast<uint16_t>(DecodeLittleEndian(v, pos, 2));
      const auto perm = static_cast<uint32_t>(DecodeLittleEndian(v, pos + 2, 2));
      if (tag == kAclUserObj) perms = (perms & ~0700u) | perm << 6;
      if (tag == kAclGroupObj || tag == kAclMask) perms = (perms & ~070u) | perm << 3;
      if (tag == kAclOther) perms = (perms & ~07u) | perm;
      if (tag == kAclUser || tag == kAclGroup || tag == kAclMask) extended = true;
    }
    m.mode = (m.mode & ~0777u) | perms;
    if (!extended) xattrs.erase(it);
  }
  m.xattrs.assign(xattrs.begin(), xattrs.end());
  return m;
}

}  // namespace cairn::indexer
