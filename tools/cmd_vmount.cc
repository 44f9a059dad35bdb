// cairn vmount NAME[:VER] DIR [--rw] [--resume|--discard] [--foreground]
// cairn umount DIR; cairn commit DIR -m MSG [--image NEW]; cairn discard DIR; cairn mounts
#include <fmt/core.h>
#include <unistd.h>

#include <iostream>
#include <nlohmann/json.hpp>

#include "tools/cli.h"
#include "tools/commands.h"
#include "tools/json_out.h"
#include "vmount/mount_service.h"

namespace cairn::tools {
namespace {

// The repository directory for commands that do not open the store themselves.
Result<std::string> RepoDir(const std::string& flag) {
  bool explicit_choice = false;
  std::string dir = cas::DefaultRepositoryDir(flag, &explicit_choice);
  if (!cas::Repository::Exists(dir)) {
    return Status::NotFound("open repository " + dir + ": not a cairn repository (run `cairn init`)");
  }
  return dir;
}

// Asks on the terminal what to do with an edit left by a mount that ended.
vmount::MountRequest::Leftover Ask(const std::string& message) {
  fmt::print(stderr, "cairn: {}\nresume it, discard it, or abort? [r/d/A] ", message);
  std::string answer;
  std::getline(std::cin, answer);
  if (answer == "r" || answer == "resume") return vmount::MountRequest::Leftover::kResume;
  if (answer == "d" || answer == "discard") return vmount::MountRequest::Leftover::kDiscard;
  return vmount::MountRequest::Leftover::kRefuse;
}

}  // namespace

int RunVmount(const Args& args) {
  const CommandSpec spec{
      "vmount", "vmount NAME[:VER] DIR [--rw] [--resume | --discard] [--foreground]",
      "Mount a version at DIR (an empty directory) and return once the mount is live.\n"
      "With --rw the mount is writable: edits stay in an overlay beside the repository until\n"
      "`cairn commit DIR` makes them a new version or `cairn discard DIR` drops them. An edit\n"
      "left by a mount that ended is resumed with --resume or dropped with --discard (on a\n"
      "terminal, vmount asks)."};
  std::string repo;
  vmount::MountRequest req;
  bool resume = false, discard = false;
  po::options_description opts("Options");
  AddRepoOption(opts, &repo);
  opts.add_options()("rw", po::bool_switch(&req.writable), "writable (copy-on-write overlay)")(
      "resume", po::bool_switch(&resume), "continue the uncommitted edit left at DIR")(
      "discard", po::bool_switch(&discard), "drop the uncommitted edit left at DIR")(
      "foreground", po::bool_switch(&req.foreground), "serve in this process (debugging)")(
      "json", "print the mount as JSON")(
      "version", po::value(&req.spec)->required(), "NAME[:VER]")(
      "dir", po::value(&req.mountpoint)->required(), "mount point");
  po::positional_options_description pos;
  pos.add("version", 1).add("dir", 1);
  po::variables_map vm;
  if (auto rc = ParseCommandLine(spec, args, opts, pos, &vm)) return *rc;
  if (resume && discard) return Fail(Status::InvalidArgument("vmount: --resume or --discard, not both"));
  auto dir = RepoDir(repo);
  if (!dir) return Fail(dir.error());
  req.repo_dir = *dir;
  if (resume) req.leftover = vmount::MountRequest::Leftover::kResume;
  if (discard) req.leftover = vmount::MountRequest::Leftover::kDiscard;
  auto out = vmount::MountVersion(req);
  if (!out && out.error().code() == Code::kAlreadyExists && !resume && !discard &&
      out.error().message().find("--resume") != std::string::npos && ::isatty(0)) {
    req.leftover = Ask(out.error().message());
    if (req.leftover != vmount::MountRequest::Leftover::kRefuse) out = vmount::MountVersion(req);
  }
  if (!out) return Fail(out.error());
  if (vm.count("json")) {
    nlohmann::json j = {{"mountpoint", out->info.mountpoint}, {"version", out->info.version},
                        {"id", out->info.base.ToHex()},      {"writable", out->info.writable},
                        {"pid", out->info.pid},              {"resumed", out->resumed}};
    PrintJson(std::move(j));
  } else if (!req.foreground) {
    fmt::print("{} mounted at {}{}{}\n", out->info.version, out->info.mountpoint,
               out->info.writable ? " (writable)" : "", out->resumed ? ", edit resumed" : "");
  }
  return kExitOk;
}

int RunUmount(const Args& args) {
  const CommandSpec spec{"umount", "umount DIR",
                         "Unmount a cairn mount. An uncommitted edit is kept: mount again with\n"
                         "--rw --resume to continue it, or `cairn discard DIR` to drop it."};
  std::string repo, mountpoint;
  po::options_description opts("Options");
  AddRepoOption(opts, &repo);
  opts.add_options()("dir", po::value(&mountpoint)->required(), "mount point");
  po::positional_options_description pos;
  pos.add("dir", 1);
  po::variables_map vm;
  if (auto rc = ParseCommandLine(spec, args, opts, pos, &vm)) return *rc;
  auto dir = RepoDir(repo);
  if (!dir) return Fail(dir.error());
  auto out = vmount::UnmountDir(*dir, mountpoint);
  if (!out) return Fail(out.error());
  if (out->kept_edit) {
    fmt::print(stderr, "cairn: kept the uncommitted edit of {}: `cairn vmount ... {} --rw --resume` "
               "continues it, `cairn discard {}` drops it\n", mountpoint, mountpoint, mountpoint);
  }
  return kExitOk;
}

int RunCommit(const Args& args) {
  const CommandSpec spec{
      "commit", "commit DIR -m MSG [--image NEW]",
      "Store the edit of the writable mount at DIR as a new version whose parent is the mounted\n"
      "one (of image NEW with --image), print it (NAME:N) and its id; the mount goes on, now on\n"
      "the new version with an empty overlay."};
  std::string repo, mountpoint;
  vmount::CommitRequest req;
  po::options_description opts("Options");
  AddRepoOption(opts, &repo);
  opts.add_options()("message,m", po::value(&req.message)->required()->value_name("MSG"),
                     "a message for the version")(
      "image,i", po::value(&req.image)->value_name("NEW"), "make the version in image NEW")(
      "author", po::value(&req.author)->value_name("WHO"), "author (default: $USER@host)")(
      "json", "print the result as JSON")("dir", po::value(&mountpoint)->required(), "mount point");
  po::positional_options_description pos;
  pos.add("dir", 1);
  po::variables_map vm;
  if (auto rc = ParseCommandLine(spec, args, opts, pos, &vm)) return *rc;
  auto dir = RepoDir(repo);
  if (!dir) return Fail(dir.error());
  auto out = vmount::CommitMount(*dir, mountpoint, req);
  if (!out) return Fail(out.error());
  if (vm.count("json")) {
    nlohmann::json j = {{"version", out->version}, {"id", out->id.ToHex()},
                        {"objects_new", out->objects_new}};
    PrintJson(std::move(j));
  } else {
    fmt::print("{} {}\n", out->version, out->id.ToHex());
  }
  return kExitOk;
}

int RunDiscard(const Args& args) {
  const CommandSpec spec{"discard", "discard DIR",
                         "Drop the uncommitted edit of the mount at DIR. A live mount is mounted\n"
                         "again, clean, on the same version (files must not be open in it)."};
  std::string repo, mountpoint;
  po::options_description opts("Options");
  AddRepoOption(opts, &repo);
  opts.add_options()("dir", po::value(&mountpoint)->required(), "mount point");
  po::positional_options_description pos;
  pos.add("dir", 1);
  po::variables_map vm;
  if (auto rc = ParseCommandLine(spec, args, opts, pos, &vm)) return *rc;
  auto dir = RepoDir(repo);
  if (!dir) return Fail(dir.error());
  Status s = vmount::DiscardMount(*dir, mountpoint);
  if (!s.ok()) return Fail(s);
  return kExitOk;
}

int RunMounts(const Args& args) {
  const CommandSpec spec{"mounts", "mounts [--json]",
                         "List the mounts of the repository: mount point, version, writable,\n"
                         "whether the mount process lives, and whether an edit is uncommitted."};
  std::string repo;
  po::options_description opts("Options");
  AddRepoOption(opts, &repo);
  opts.add_options()("json", "print the list as JSON");
  po::positional_options_description pos;
  po::variables_map vm;
  if (auto rc = ParseCommandLine(spec, args, opts, pos, &vm)) return *rc;
  auto dir = RepoDir(repo);
  if (!dir) return Fail(dir.error());
  auto all = vmount::ListMounts(*dir);
  if (!all) return Fail(all.error());
  if (vm.count("json")) {
    nlohmann::json j = nlohmann::json::array();
    for (const auto& m : *all) {
      j.push_back({{"mountpoint", m.info.mountpoint}, {"version", m.info.version},
                   {"id", m.info.base.ToHex()}, {"writable", m.info.writable},
                   {"pid", m.info.pid}, {"live", m.live}, {"uncommitted", m.dirty},
                   {"overlay", m.dir}});
    }
    PrintJson(std::move(j));
    return kExitOk;
  }
  for (const auto& m : *all) {
    fmt::print("{}\t{}\t{}\t{}{}\n", m.info.mountpoint, m.info.version, m.info.writable ? "rw" : "ro",
               m.live ? "mounted" : "not mounted (process ended)",
               m.dirty ? ", uncommitted edit" : "");
  }
  return kExitOk;
}

}  // namespace cairn::tools
