#include "vmount/mount_process.h"

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "base/env.h"
#include "base/large_stack.h"
#include "base/phase_timer.h"
#include "cas/repository.h"
#include "cas/version.h"
#include "catalog/catalog.h"
#include "catalog/checkin.h"
#include "vmount/control.h"
#include "vmount/filesystem.h"
#include "vmount/fuse_adapter.h"

namespace cairn::vmount {
namespace {

Result<std::shared_ptr<cas::ObjectStore>> OpenReadStore(const std::string& repo_dir) {
  cas::Repository::OpenOptions o;
  o.mode = cas::Repository::Mode::kRead;
  CAIRN_ASSIGN_OR_RETURN(auto repo, cas::Repository::Open(repo_dir, o));
  std::shared_ptr<cas::Repository> holder(std::move(repo));
  return std::shared_ptr<cas::ObjectStore>(holder, holder->store());
}

// The commit, in the mount process, with every file-system operation held off.
Result<CommitOutcome> Commit(Filesystem& fs, Overlay& overlay, const std::string& repo_dir,
                             const CommitRequest& req) {
  CommitOutcome out;
  // Nothing to commit is said at once, without waiting for the writer's lock (and again below,
  // with the mount held still).
  CAIRN_RETURN_IF_ERROR(fs.Exclusive([](MutableTree& tree, std::shared_ptr<cas::ObjectStore>&) {
    return tree.dirty() ? Status()
                        : Status::InvalidArgument("commit: nothing to commit (no changes)");
  }));
  // The writer's lock first, outside the exclusive section: while another cairn process writes
  // (Open waits up to its limit for it), the mount goes on answering.
  cas::Repository::OpenOptions o;
  o.mode = cas::Repository::Mode::kWrite;
  CAIRN_ASSIGN_OR_RETURN(auto repo, cas::Repository::Open(repo_dir, o));
  Status s = fs.Exclusive([&](MutableTree& tree,
                              std::shared_ptr<cas::ObjectStore>& store) -> Status {
    if (!tree.dirty()) return Status::InvalidArgument("commit: nothing to commit (no changes)");
    catalog::Catalog catalog(repo->store());
    CAIRN_ASSIGN_OR_RETURN(catalog::VersionRef base, catalog.ResolveId(overlay.base()));
    cas::Version v;
    v.image = req.image.empty() ? base.image : req.image;
    CAIRN_RETURN_IF_ERROR(catalog::ValidateImageName(v.image));
    cas::Ingestor ingestor(repo->store(), repo->ingest_options());
    PhaseTimer timer("commit ");  // CAIRN_TIMING: phase times in the mount's log
    auto mark = [&](const char* phase) { timer.Mark(phase); };
    auto root = tree.Commit(&ingestor);
    mark("store");
    Status st = root.status();
    if (st.ok()) st = ingestor.WritePending();
    if (!st.ok()) {
      return cas::WithUndo(st, ingestor.Abort(), "commit");
    }
    v.root_type = cas::Version::RootType::kTree;
    v.root = *root;
    v.parents = {base.id};
    catalog::StampVersion(&v, req.author);
    v.message = req.message;
    // The base's Trees index the files the edit left alone (catalog::IndexTrees).
    CAIRN_ASSIGN_OR_RETURN(ObjectId base_tree, cas::RootTreeOf(repo->store(), base.version));
    // Durable before the version can be: a process that dies between recording the version and
    // resetting the journal must not leave the edit to be offered, and committed, again.
    CAIRN_RETURN_IF_ERROR(
        WriteFileAtomic(Env::Default(), overlay.committing_path(), root->ToHex() + "\n"));
    // Undone on error.
    auto recorded = catalog::RecordIngestedVersion(*repo, ingestor, std::move(v), *root, base_tree,
                                                   catalog::kIndexBatchKeys, timer);
    if (!recorded) {
      ::unlink(overlay.committing_path().c_str());
      return recorded.status();
    }
    catalog::VersionRef ref = std::move(*recorded);
    out.version = ref.Name();
    out.id = ref.id;
    out.objects_new = ingestor.stats().objects_new;
    repo.reset();  // the writer's lock goes; the mount reads a fresh snapshot from here on
    CAIRN_ASSIGN_OR_RETURN(auto fresh, OpenReadStore(repo_dir));
    std::vector<uint64_t> freed;
    tree.Rebase(fresh.get(), &freed);
    store = std::move(fresh);
    std::vector<JournalRecord> keep;  // files still open keep their upper file
    for (const auto& [ino, n] : tree.Uppers()) {
      auto path = tree.PathOf(ino);
      if (!path) continue;
      JournalRecord r;
      r.op = JournalOp::kCopyUp;
      r.path = *path;
      r.number = n;
      keep.push_back(std::move(r));
    }
    mark("rebase");
    CAIRN_RETURN_IF_ERROR(overlay.Reset(ref.id, keep));
    for (uint64_t n : freed) overlay.RemoveUpper(n);
    // Not synced (a sync here waits for the freed files' writeback): the version is durable
    // already, and the rename of the journal is atomic for a dying process (docs/vmount.md).
    mark("overlay");
    MountInfo info = overlay.info();
    info.base = ref.id;
    info.version = ref.Name();
    CAIRN_RETURN_IF_ERROR(overlay.SaveInfo(info));
    ::unlink(overlay.committing_path().c_str());
    return Status();
  });
  if (!s.ok()) return s;
  return out;
}

}  // namespace

Status SettleInterruptedCommit(const std::string& repo_dir, const std::string& dir) {
  CAIRN_ASSIGN_OR_RETURN(auto overlay, Overlay::Open(dir));
  CAIRN_ASSIGN_OR_RETURN(std::string text,
                         ReadFileToString(Env::Default(), overlay->committing_path()));
  while (!text.empty() && text.back() == '\n') text.pop_back();
  CAIRN_ASSIGN_OR_RETURN(ObjectId root, ObjectId::FromHex(text));
  CAIRN_ASSIGN_OR_RETURN(auto store, OpenReadStore(repo_dir));
  catalog::Catalog catalog(store.get());
  CAIRN_ASSIGN_OR_RETURN(std::vector<ObjectId> children, catalog.Children(overlay->base()));
  for (const ObjectId& child : children) {
    auto ref = catalog.ResolveId(child);
    if (!ref || ref->version.root != root || ref->version.parents != std::vector{overlay->base()}) {
      continue;
    }
    // The version holds the whole edit: what the commit would have done next.
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(overlay->upper_dir(), ec)) {
      std::filesystem::remove(e.path(), ec);
    }
    CAIRN_RETURN_IF_ERROR(overlay->Reset(ref->id, {}));
    MountInfo info = overlay->info();
    info.base = ref->id;
    info.version = ref->Name();
    CAIRN_RETURN_IF_ERROR(overlay->SaveInfo(info));
    CAIRN_RETURN_IF_ERROR(overlay->SyncAll());
    break;
  }
  if (::unlink(overlay->committing_path().c_str()) != 0) {
    return ErrnoStatus("settle the interrupted commit of overlay", dir, errno);
  }
  return Status();
}

Message CommitRequestMessage(const CommitRequest& req) {
  return {"commit", req.message, req.image, req.author};
}

Result<CommitOutcome> DecodeCommitReply(const Message& m) {
  if (m.size() != 5) return Status::Internal("commit: malformed reply from the mount process");
  int code = std::atoi(m[0].c_str());
  if (code != 0) return Status(static_cast<Code>(code), m[1]);
  CommitOutcome out;
  out.version = m[2];
  CAIRN_ASSIGN_OR_RETURN(out.id, ObjectId::FromHex(m[3]));
  out.objects_new = std::strtoull(m[4].c_str(), nullptr, 10);
  return out;
}

Status ServeMount(const MountRequest& req, const std::string& mountpoint,
                  const std::string& resume_dir, const std::string& discard_dir, bool daemon,
                  const ReadyFn& ready) {
  std::unique_ptr<Overlay> overlay;
  bool created = false;
  std::unique_ptr<Filesystem> fs;
  std::unique_ptr<FuseSession> session;
  MountOutcome outcome;
  auto setup = [&]() -> Status {
    CAIRN_ASSIGN_OR_RETURN(auto store, OpenReadStore(req.repo_dir));
    catalog::Catalog catalog(store.get());
    catalog::VersionRef ref;
    if (!resume_dir.empty()) {
      CAIRN_ASSIGN_OR_RETURN(overlay, Overlay::Open(resume_dir));
      CAIRN_ASSIGN_OR_RETURN(ref, catalog.ResolveId(overlay->base()));
      if (!req.spec.empty()) {
        CAIRN_ASSIGN_OR_RETURN(catalog::VersionRef asked, catalog.Resolve(req.spec));
        if (asked.id != ref.id) {
          return Status::InvalidArgument("mount " + mountpoint + ": the edit to resume is on " +
                                         ref.Name() + ", not " + asked.Name());
        }
      }
      outcome.resumed = true;
    } else {
      CAIRN_ASSIGN_OR_RETURN(ref, catalog.Resolve(req.spec));
      MountInfo info;
      info.mountpoint = mountpoint;
      info.version = ref.Name();
      info.base = ref.id;
      info.writable = req.writable;
      CAIRN_ASSIGN_OR_RETURN(overlay, Overlay::Create(req.repo_dir, info));
      created = true;
    }
    CAIRN_ASSIGN_OR_RETURN(ObjectId root, cas::RootTreeOf(store.get(), ref.version));
    FilesystemOptions fo;
    fo.statfs_path = overlay->upper_dir();
    CAIRN_ASSIGN_OR_RETURN(fs, Filesystem::Open(store, root, req.writable ? overlay.get() : nullptr, fo));
    if (outcome.resumed) CAIRN_RETURN_IF_ERROR(fs->Replay());
    FuseOptions opts;
    opts.mountpoint = mountpoint;
    opts.fsname = "cairn:" + ref.Name();
    CAIRN_ASSIGN_OR_RETURN(session, FuseSession::Mount(fs.get(), opts));
    CAIRN_RETURN_IF_ERROR(overlay->HoldAlive());
    MountInfo info = overlay->info();
    info.pid = ::getpid();
    info.writable = req.writable;
    info.started_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                          std::chrono::system_clock::now().time_since_epoch()).count();
    CAIRN_RETURN_IF_ERROR(overlay->SaveInfo(info));
    outcome.info = info;
    return Status();
  };
  Status s = setup();
  if (!s.ok()) {
    session.reset();
    if (created) (void)overlay->Remove();
    ready(s);
    return s;
  }
  auto server = ControlServer::Start(overlay->socket_path(), [&](const Message& m) -> Message {
    if (m.empty() || m[0] != "commit" || m.size() != 4) return {"1", "unknown request", "", "", ""};
    if (!fs->writable()) {
      return {std::to_string(static_cast<int>(Code::kInvalidArgument)),
              "commit " + mountpoint + ": a read-only mount (mount with --rw to edit)", "", "", ""};
    }
    // The commit's walks recurse once per directory level (base/large_stack.h).
    Result<CommitOutcome> r = Status::Internal("commit: not run");
    RunWithStack(kWalkStackBytes, [&] {
      r = Commit(*fs, *overlay, req.repo_dir, {m[1], m[2], m[3]});
    });
    if (!r) return {std::to_string(static_cast<int>(r.error().code())), r.error().message(), "", "", ""};
    return {"0", "", r->version, r->id.ToHex(), std::to_string(r->objects_new)};
  });
  Status discarded;
  if (server && !discard_dir.empty()) {
    auto old = Overlay::Open(discard_dir);
    discarded = old ? (*old)->Remove() : old.status();
  }
  if (!server || !discarded.ok()) {
    Status err = server ? discarded : server.error();
    session.reset();
    if (created) (void)overlay->Remove();
    ready(err);
    return err;
  }
  ready(outcome);
  if (daemon) {  // from here on, messages go to the overlay's log
    int log = ::open(overlay->log_path().c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (log >= 0) {
      ::dup2(log, 1);
      ::dup2(log, 2);
      ::close(log);
    }
  }
  s = session->Run();
  (*server)->Stop();
  session.reset();
  if (!req.writable || !overlay->has_edits()) {
    (void)overlay->Remove();
  } else {
    MountInfo info = overlay->info();
    info.pid = 0;
    (void)overlay->SaveInfo(info);
  }
  return s;
}

}  // namespace cairn::vmount
