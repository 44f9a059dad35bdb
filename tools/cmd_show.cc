// cairn log NAME [--json]; cairn provenance NAME[:VER] [--dot]; cairn show NAME[:VER] [--json]
#include <fmt/core.h>

#include <ctime>
#include <nlohmann/json.hpp>
#include <optional>

#include "base/progress.h"
#include "cas/disk.h"
#include "catalog/inspect.h"
#include "catalog/provenance.h"
#include "tools/cli.h"
#include "tools/commands.h"
#include "tools/json_out.h"

namespace cairn::tools {
namespace {

// The layout of a disk version, as JSON (also the source of the text form).
Result<nlohmann::json> DiskLayout(cas::ObjectStore* store, const cas::Version& v) {
  CAIRN_ASSIGN_OR_RETURN(std::string data, store->ReadTyped(v.root, cas::ObjectType::kDisk));
  CAIRN_ASSIGN_OR_RETURN(cas::Disk d, cas::DecodeDisk(v.root, data));
  nlohmann::json parts = nlohmann::json::array(), fss = nlohmann::json::array(), boot = nlohmann::json::array();
  for (const auto& p : d.partitions) {
    const char* content = p.content == cas::PartitionContent::kFilesystem ? "filesystem"
                          : p.content == cas::PartitionContent::kRaw     ? "raw"
                          : p.content == cas::PartitionContent::kLvmPv   ? "lvm-pv"
                                                                         : "nothing";
    parts.push_back({{"number", p.number}, {"start", p.start}, {"size", p.size}, {"type", p.type},
                     {"guid", p.guid}, {"name", p.name}, {"attrs", p.attrs}, {"content", content}});
  }
  for (const auto& f : d.filesystems) {
    nlohmann::json params = nlohmann::json::object();
    for (const auto& [k, val] : f.params) params[k] = val;
    fss.push_back({{"partition", f.partition}, {"volume", f.volume}, {"type", f.type}, {"uuid", f.uuid},
                   {"label", f.label}, {"size", d.FilesystemSize(f)}, {"mountpoint", f.mountpoint},
                   {"tree", f.tree.IsZero() ? "" : f.tree.ToHex()}, {"params", params}});
  }
  for (const auto& b : d.boot) boot.push_back({{"kind", b.kind}, {"offset", b.offset}, {"length", b.length}});
  nlohmann::json vgs = nlohmann::json::array();
  for (const auto& vg : d.volume_groups) {
    nlohmann::json pvs = nlohmann::json::array(), lvs = nlohmann::json::array();
    for (const auto& pv : vg.pvs) {
      pvs.push_back({{"partition", pv.partition}, {"uuid", pv.uuid}, {"pe_start", pv.pe_start}, {"pe_count", pv.pe_count}});
    }
    for (const auto& lv : vg.lvs) {
      nlohmann::json segs = nlohmann::json::array();
      for (const auto& sg : lv.segments) {
        segs.push_back({{"partition", sg.partition}, {"pe", sg.pe}, {"extents", sg.extents}});
      }
      const char* content = lv.content == cas::VolumeContent::kFilesystem ? "filesystem"
                            : lv.content == cas::VolumeContent::kRaw     ? "raw"
                                                                         : "nothing";
      lvs.push_back({{"name", lv.name}, {"uuid", lv.uuid}, {"size", lv.Extents() * vg.extent_size},
                     {"segments", segs}, {"content", content}});
    }
    vgs.push_back({{"name", vg.name}, {"uuid", vg.uuid}, {"extent_size", vg.extent_size}, {"pvs", pvs}, {"lvs", lvs}});
  }
  nlohmann::json out{
      {"id", v.root.ToHex()}, {"size", d.size},      {"table", cas::PartitionTableName(d.table)},
      {"disk_id", d.disk_id}, {"partitions", parts}, {"filesystems", fss},
      {"volume_groups", vgs}, {"boot_areas", boot},  {"view", d.view.ToHex()}};
  if (d.table == cas::PartitionTable::kGpt)
    out["gpt_entries_lba"] = d.entries_lba == 0 ? 2 : d.entries_lba;
  return out;
}

void PrintLayout(const nlohmann::json& d) {
  fmt::print("disk          {} {} table, id {}\n",
             Progress::Bytes(d["size"].get<double>()), d["table"].get<std::string>(),
             d["disk_id"].get<std::string>().empty() ? "-" : d["disk_id"].get<std::string>());
  for (const auto& p : d["partitions"]) {
    fmt::print("  partition {:<3} start {:>12} size {:>10} type {} {}{}\n", p["number"].get<int>(),
               p["start"].get<uint64_t>(), Progress::Bytes(p["size"].get<double>()), p["type"].get<std::string>(),
               p["content"].get<std::string>(),
               p["name"].get<std::string>().empty() ? "" : " \"" + p["name"].get<std::string>() + "\"");
  }
  for (const auto& f : d["filesystems"]) {
    fmt::print("  filesystem  {:<5} on {} uuid {} label {} size {} mounted {}\n", f["type"].get<std::string>(),
               !f["volume"].get<std::string>().empty() ? "volume " + f["volume"].get<std::string>()
               : f["partition"].get<int>() == 0        ? std::string("disk")
                                                       : "partition " + std::to_string(f["partition"].get<int>()),
               f["uuid"].get<std::string>(), f["label"].get<std::string>().empty() ? "-" : f["label"].get<std::string>(),
               Progress::Bytes(f["size"].get<double>()),
               f["mountpoint"].get<std::string>().empty() ? "-" : f["mountpoint"].get<std::string>());
  }
  for (const auto& vg : d["volume_groups"]) {
    fmt::print("  volume group {} uuid {} extent {}\n", vg["name"].get<std::string>(), vg["uuid"].get<std::string>(),
               Progress::Bytes(vg["extent_size"].get<double>()));
    for (const auto& pv : vg["pvs"]) {
      fmt::print("    pv on partition {} uuid {}\n", pv["partition"].get<int>(), pv["uuid"].get<std::string>());
    }
    for (const auto& lv : vg["lvs"]) {
      fmt::print("    lv {:<12} uuid {} size {} {}\n", lv["name"].get<std::string>(), lv["uuid"].get<std::string>(),
                 Progress::Bytes(lv["size"].get<double>()), lv["content"].get<std::string>());
    }
  }
  for (const auto& b : d["boot_areas"]) {
    fmt::print("  boot area   {} at {} ({} bytes)\n", b["kind"].get<std::string>(), b["offset"].get<uint64_t>(),
               b["length"].get<uint64_t>());
  }
}

// Names of versions by id, for parents and children ("(purged)" when forgotten). A deleted
// version is hidden from listings, so its name alone would read as an active one: it is marked
// "[deleted]", as provenance marks it.
std::vector<std::string> Names(catalog::Catalog& c, const std::vector<ObjectId>& ids) {
  std::vector<std::string> out;
  for (const auto& id : ids) {
    auto r = c.ResolveId(id);
    if (!r) {
      out.push_back("(purged " + id.Short() + ")");
    } else {
      out.push_back(r->Name() + (r->state == catalog::VersionState::kDeleted ? " [deleted]" : ""));
    }
  }
  return out;
}

int OneVersionCommand(const CommandSpec& spec, const Args& args, bool with_dot,
                      const std::function<int(catalog::Catalog&, const catalog::VersionRef&,
                                              const po::variables_map&)>& body) {
  std::string repo, version;
  po::options_description opts("Options");
  AddRepoOption(opts, &repo);
  opts.add_options()("json", "print as JSON")("version", po::value(&version)->required(), "NAME[:VER]");
  if (with_dot) opts.add_options()("dot", "print a Graphviz graph");
  po::positional_options_description pos;
  pos.add("version", 1);
  po::variables_map vm;
  if (auto rc = ParseCommandLine(spec, args, opts, pos, &vm)) return *rc;
  auto r = OpenRepository(repo, cas::Repository::Mode::kRead);
  if (!r) return Fail(r.error());
  catalog::Catalog c((*r)->store());
  auto ref = c.Resolve(version);
  if (!ref) return Fail(ref.error());
  return body(c, *ref, vm);
}

}  // namespace

int RunLog(const Args& args) {
  const CommandSpec spec{
      "log", "log NAME[:VER] [--json]",
      "The history of a version, newest first, with parents: its latest version\n"
      "(or VER: NAME:VER, NAME@TAG) and every version it descends from, through\n"
      "every parent and across images."};
  return OneVersionCommand(
      spec, args, false,
      [](catalog::Catalog& c, const catalog::VersionRef& ref, const po::variables_map& vm) -> int {
        // The version's ancestry, not the image's numbers: a version checked in with `-p web:1`
        // after web:2 descends from web:1 alone, and a clone's log goes on in the image it came
        // from (as `git log` follows parents).
        auto shown = catalog::Ancestry(c, ref);
        if (!shown) return Fail(shown.error());
        nlohmann::json out = nlohmann::json::array();
        for (const catalog::VersionRef& v : *shown) {
          auto parents = Names(c, v.version.parents);
          auto tags = c.TagsOf(v);
          const bool deleted = v.state == catalog::VersionState::kDeleted;
          if (vm.count("json")) {
            out.push_back({{"version", v.Name()},
                           {"id", v.id.ToHex()},
                           {"time", FormatTime(v.version.time_ns)},
                           {"author", v.version.author},
                           {"message", v.version.message},
                           {"parents", parents},
                           {"tags", tags ? *tags : std::vector<std::string>{}},
                           {"state", deleted ? "deleted" : "active"}});
            continue;
          }
          fmt::print("version {} {}", v.Name(), v.id.ToHex());
          if (tags && !tags->empty()) {
            fmt::print(" (");
            for (size_t i = 0; i < tags->size(); ++i)
              fmt::print("{}{}@{}", i ? ", " : "", v.image, (*tags)[i]);
            fmt::print(")");
          }
          if (deleted) fmt::print(" [deleted]");
          fmt::print("\nAuthor: {}\nDate:   {}\n", v.version.author, FormatTime(v.version.time_ns));
          for (const auto& p : parents) fmt::print("Parent: {}\n", p);
          fmt::print("\n    {}\n\n",
                     v.version.message.empty() ? "(no message)" : v.version.message);
        }
        if (vm.count("json")) PrintJson(std::move(out));
        return kExitOk;
      });
}

int RunProvenance(const Args& args) {
  const CommandSpec spec{"provenance", "provenance NAME[:VER] [--dot] [--json]",
                         "Where a version came from and what was derived from it, across images."};
  return OneVersionCommand(spec, args, true, [](catalog::Catalog& c, const catalog::VersionRef& ref,
                                                const po::variables_map& vm) -> int {
    auto p = catalog::BuildProvenance(c, ref);
    if (!p) return Fail(p.error());
    if (vm.count("dot")) {
      fmt::print("{}", catalog::ProvenanceDot(*p));
    } else if (vm.count("json")) {
      nlohmann::json out = nlohmann::json::array();
      for (const auto& n : p->nodes) {
        nlohmann::json parents = nlohmann::json::array();
        for (const auto& x : n.parents) parents.push_back(x.ToHex());
        out.push_back({{"version", n.name},
                       {"id", n.id.ToHex()},
                       {"parents", parents},
                       {"focus", n.id == p->focus},
                       {"deleted", n.state == catalog::VersionState::kDeleted},
                       {"purged", n.purged}});
      }
      PrintJson(std::move(out));
    } else {
      fmt::print("{}", catalog::ProvenanceText(*p));
    }
    return kExitOk;
  });
}

int RunShow(const Args& args) {
  const CommandSpec spec{"show", "show NAME[:VER] [--json]",
                         "Describe a version: size, files, OS, distribution, architecture, hostname,\n"
                         "packages, parents, children, tags and state; for a disk version its layout (partition\n"
                         "table, partitions, filesystems with type, UUID, label and size, boot areas)."};
  return OneVersionCommand(spec, args, false, [](catalog::Catalog& c, const catalog::VersionRef& ref,
                                                 const po::variables_map& vm) -> int {
    auto in = catalog::DecodeInspection(ref.version.summary);
    // The summary counts the directories beneath the root; checkin and checkout count the root
    // too, and so does show.
    const uint64_t dirs = in.dirs + 1;
    auto children = c.Children(ref.id);
    if (!children) return Fail(children.error());
    auto tags = c.TagsOf(ref);
    if (!tags) return Fail(tags.error());
    auto parents = Names(c, ref.version.parents);
    auto kids = Names(c, *children);
    std::string state = ref.state == catalog::VersionState::kDeleted ? "deleted" : "active";
    std::optional<nlohmann::json> layout;
    if (ref.version.root_type == cas::Version::RootType::kDisk) {
      auto l = DiskLayout(c.store(), ref.version);
      if (!l) return Fail(l.error());
      layout = std::move(*l);
    }
    if (vm.count("json")) {
      nlohmann::json pk = nlohmann::json::array();
      for (const auto& p : in.packages) pk.push_back({{"name", p.name}, {"version", p.version}, {"arch", p.arch}});
      nlohmann::json out = {
          {"version", ref.Name()}, {"id", ref.id.ToHex()}, {"root", ref.version.root.ToHex()},
          {"time", FormatTime(ref.version.time_ns)}, {"author", ref.version.author},
          {"message", ref.version.message}, {"state", state}, {"tags", *tags},
          {"parents", parents}, {"children", kids}, {"bytes", in.bytes}, {"files", in.files},
          {"directories", dirs}, {"symlinks", in.symlinks}, {"other_entries", in.others},
          {"os", in.os}, {"distribution", in.distro}, {"distribution_version", in.version},
          {"pretty_name", in.pretty_name}, {"architecture", in.arch}, {"hostname", in.hostname},
          {"package_format", in.package_format}, {"packages", pk}};
      if (layout) out["disk"] = *layout;
      PrintJson(std::move(out));
      return kExitOk;
    }
    auto list = [](const std::vector<std::string>& v) {
      std::string s;
      for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
      return s.empty() ? std::string("-") : s;
    };
    fmt::print("version       {} {}\n", ref.Name(), ref.id.ToHex());
    fmt::print("state         {}\ntags          {}\n", state, list(*tags));
    fmt::print("created       {} by {}\nmessage       {}\n", FormatTime(ref.version.time_ns), ref.version.author,
               ref.version.message);
    fmt::print("parents       {}\nchildren      {}\n", list(parents), list(kids));
    fmt::print("size          {} in {} files, {} directories, {} symlinks, {} other\n",
               Progress::Bytes(static_cast<double>(in.bytes)), in.files, dirs, in.symlinks, in.others);
    fmt::print("os            {}\ndistribution  {} {}{}\n", in.os.empty() ? "-" : in.os,
               in.distro.empty() ? "-" : in.distro, in.version,
               in.pretty_name.empty() ? "" : " (" + in.pretty_name + ")");
    fmt::print("architecture  {}\nhostname      {}\n", in.arch.empty() ? "-" : in.arch,
               in.hostname.empty() ? "-" : in.hostname);
    if (layout) PrintLayout(*layout);
    fmt::print("packages      {} ({})\n", in.packages.size(), in.package_format.empty() ? "none" : in.package_format);
    // Named as dpkg, diff and search name them: two architectures of one package printed as
    // two identical lines by their bare name.
    for (const auto& p : in.packages)
      fmt::print("  {:<36} {}\n", catalog::DpkgName(p, in), p.version);
    return kExitOk;
  });
}

}  // namespace cairn::tools
