// cairn tag, clone, rm, restore, purge: the catalog's small write commands.
#include <fmt/core.h>

#include <set>

#include "catalog/checkin.h"
#include "tools/cli.h"
#include "tools/commands.h"
#include "tools/json_out.h"
#include "vmount/overlay.h"

namespace cairn::tools {
namespace {

// Parses, opens for writing and resolves; shared by the commands below.
struct Target {
  std::unique_ptr<cas::Repository> repo;
  std::optional<catalog::VersionRef> version;
};

Result<Target> OpenFor(const std::string& repo_flag, const std::string& version) {
  Target t;
  CAIRN_ASSIGN_OR_RETURN(t.repo, OpenRepository(repo_flag, cas::Repository::Mode::kWrite));
  if (!version.empty()) {
    catalog::Catalog c(t.repo->store());
    CAIRN_ASSIGN_OR_RETURN(t.version, c.Resolve(version));
  }
  return t;
}

}  // namespace

int RunTag(const Args& args) {
  const CommandSpec spec{"tag", "tag NAME[:VER] TAG",
                         "Name a version: NAME@TAG is then accepted wherever a version is.\n"
                         "Moving an existing tag to another version is allowed."};
  std::string repo, version, tag;
  po::options_description opts("Options");
  AddRepoOption(opts, &repo);
  opts.add_options()("version", po::value(&version)->required(), "NAME[:VER]")(
      "tag", po::value(&tag)->required(), "tag");
  po::positional_options_description pos;
  pos.add("version", 1).add("tag", 1);
  po::variables_map vm;
  if (auto rc = ParseCommandLine(spec, args, opts, pos, &vm)) return *rc;
  if (Status s = catalog::ValidateImageName(tag); !s.ok()) return Fail(s.WithContext("tag"));
  auto t = OpenFor(repo, version);
  if (!t) return Fail(t.error());
  Status s = catalog::Catalog(t->repo->store()).SetTag(*t->version, tag);
  if (!s.ok()) return Fail(s);
  fmt::print("{}@{} -> {}\n", t->version->image, tag, t->version->Name());
  return kExitOk;
}

int RunClone(const Args& args) {
  const CommandSpec spec{"clone", "clone NAME[:VER] NEW [-m MSG]",
                         "Make the next version of image NEW from a version, without copying\n"
                         "data; it records the source as its parent."};
  std::string repo, version, image, message;
  po::options_description opts("Options");
  AddRepoOption(opts, &repo);
  opts.add_options()("message,m", po::value(&message), "message")(
      "version", po::value(&version)->required(), "NAME[:VER]")(
      "new", po::value(&image)->required(), "new image name");
  po::positional_options_description pos;
  pos.add("version", 1).add("new", 1);
  po::variables_map vm;
  if (auto rc = ParseCommandLine(spec, args, opts, pos, &vm)) return *rc;
  if (auto parsed = catalog::ParseVersionSpec(version); !parsed) return Fail(parsed.error());
  if (Status s = catalog::ValidateImageName(image); !s.ok()) return Fail(s);
  auto r = OpenRepository(repo, cas::Repository::Mode::kWrite);
  if (!r) return Fail(r.error());
  auto v = catalog::CloneVersion(**r, version, image, message);
  if (!v) return Fail(v.error());
  fmt::print("{} {}\n", v->Name(), v->id.ToHex());
  return kExitOk;
}

static int SetState(const Args& args, bool deleted) {
  const CommandSpec spec{
      deleted ? "rm" : "restore", deleted ? "rm NAME:VER" : "restore NAME:VER",
      deleted ? "Mark a version deleted: hidden from listings and search until `cairn restore`;\n"
                "`cairn purge` forgets deleted versions and `cairn gc` frees their data."
              : "Bring back a version marked deleted by `cairn rm`."};
  std::string repo, version;
  po::options_description opts("Options");
  AddRepoOption(opts, &repo);
  opts.add_options()("version", po::value(&version)->required(), "NAME:VER");
  po::positional_options_description pos;
  pos.add("version", 1);
  po::variables_map vm;
  if (auto rc = ParseCommandLine(spec, args, opts, pos, &vm)) return *rc;
  auto parsed = catalog::ParseVersionSpec(version);
  if (!parsed) return Fail(parsed.error());
  if (!parsed->number && !parsed->tag) {
    return Fail(Status::InvalidArgument(std::string(spec.name) + " " + version +
                                        ": name the version explicitly (NAME:N or NAME@TAG)"));
  }
  auto t = OpenFor(repo, version);
  if (!t) return Fail(t.error());
  auto state = deleted ? catalog::VersionState::kDeleted : catalog::VersionState::kActive;
  Status s = catalog::Catalog(t->repo->store()).SetState(*t->version, state);
  if (!s.ok()) return Fail(s);
  fmt::print("{} {}\n", t->version->Name(), deleted ? "deleted" : "restored");
  return kExitOk;
}

int RunRm(const Args& args) { return SetState(args, true); }
int RunRestore(const Args& args) { return SetState(args, false); }

int RunPurge(const Args& args) {
  const CommandSpec spec{"purge", "purge [--json]",
                         "Forget every deleted version (then `cairn gc` frees their data)."};
  std::string repo;
  po::options_description opts("Options");
  AddRepoOption(opts, &repo);
  opts.add_options()("json", "print as JSON: {purged: [names], kept: [names]}");
  po::variables_map vm;
  if (auto rc = ParseCommandLine(spec, args, opts, {}, &vm)) return *rc;
  auto t = OpenFor(repo, "");
  if (!t) return Fail(t.error());
  // A writable mount's edit, committed or resumed later, needs its base version in the
  // catalog: that version is kept, deleted, until the edit is committed or discarded.
  auto mounts = vmount::ListMounts(t->repo->dir());
  if (!mounts) return Fail(mounts.error());
  std::set<ObjectId> keep;
  std::vector<std::string> kept;
  catalog::Catalog cat(t->repo->store());
  for (const auto& m : *mounts) {
    if (!m.info.writable) continue;
    auto state = cat.StateOf(m.info.base);
    if (state && *state == catalog::VersionState::kDeleted && keep.insert(m.info.base).second) {
      kept.push_back(m.info.version);
      fmt::print(stderr,
                 "cairn: warning: kept {}: the writable mount at {} is based on it (commit or "
                 "discard its edit, then purge again)\n",
                 m.info.version, m.info.mountpoint);
    }
  }
  auto purged = cat.Purge(keep);
  if (!purged) return Fail(purged.error());
  if (vm.count("json")) {
    PrintJson({{"purged", *purged}, {"kept", kept}});
    return kExitOk;
  }
  for (const auto& n : *purged) fmt::print("purged {}\n", n);
  fmt::print("{} versions purged\n", purged->size());
  return kExitOk;
}

}  // namespace cairn::tools
