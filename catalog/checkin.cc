#include "catalog/checkin.h"

#include <fcntl.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <vector>

#include "base/phase_timer.h"
#include "cas/disk.h"
#include "cas/write_batch.h"
#include "catalog/inspect.h"
#include "indexer/dir_sink.h"
#include "indexer/dir_source.h"
#include "indexer/disk_sink.h"
#include "indexer/disk_source.h"
#include "indexer/image_sniff.h"
#include "indexer/tar_sink.h"
#include "indexer/tar_source.h"

namespace cairn::catalog {
namespace {

// Who runs cairn when $USER does not say (cron, systemd units and `env -i` leave it unset): the
// effective uid's name, or the uid in decimal when the password database has no entry for it.
// "root" was recorded then whoever ran cairn.
std::string EffectiveUserName() {
  uid_t uid = ::geteuid();
  long hint = ::sysconf(_SC_GETPW_R_SIZE_MAX);
  std::vector<char> buf(hint > 0 ? static_cast<size_t>(hint) : 16384);
  struct passwd pw;
  struct passwd* found = nullptr;
  int rc;
  while ((rc = ::getpwuid_r(uid, &pw, buf.data(), buf.size(), &found)) == ERANGE &&
         buf.size() < (1u << 20)) {
    buf.resize(buf.size() * 2);
  }
  if (rc == 0 && found && found->pw_name && *found->pw_name) return found->pw_name;
  return std::to_string(uid);
}

// Repositories from before the host-side stat cache (docs/format/catalog.md) kept it in the
// stat_cache space, which nothing reads any more: a checkin deletes what is left, in batches.
// Once the space is empty this costs one seek.
Status DropLegacyStatCache(cas::ObjectStore* store) {
  constexpr size_t kBatch = 10000;
  for (;;) {
    cas::WriteBatch batch;
    size_t n = 0;
    CAIRN_RETURN_IF_ERROR(store->Scan(cas::Space::kStatCache, "", [&](std::string_view k, std::string_view) {
      batch.Delete(cas::Space::kStatCache, k);
      return ++n < kBatch;
    }));
    if (batch.empty()) return Status();
    CAIRN_RETURN_IF_ERROR(store->Write(batch, cas::WriteOptions{}));
    if (n < kBatch) return Status();
  }
}

// A new version's index keys up to this size go in its synced batch, through the log (a small
// change's); larger ones are written in bulk and flushed, as a log left behind must stay small
// (cas/rocks_store.cc, kMaxLogLeftBehind).
constexpr size_t kLoggedIndexBytes = 16 << 10;

size_t IndexBytes(const IndexKeys& keys) {
  size_t n = 0;
  for (const auto& [k, v] : keys) n += k.size() + v.size();
  return n;
}

// A progress line's total (for its share done and ETA): the bytes of `v`'s files, from its
// summary, decoded only when the line is drawn.
void SetProgressTotal(Progress* progress, const cas::Version& v) {
  if (progress && progress->enabled()) progress->SetTotal(DecodeInspection(v.summary).bytes);
}

}  // namespace

Result<std::unique_ptr<indexer::Source>> OpenSource(const std::string& path) {
  if (path == "-") {  // a tarball on standard input: `tar c ... | cairn checkin - --image NAME`
    if (::isatty(0)) {
      return Status::InvalidArgument("checkin -: standard input is a terminal, not a tarball");
    }
    return std::unique_ptr<indexer::Source>(new indexer::TarSource(path));
  }
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return ErrnoStatus("checkin", path, errno);
  if (S_ISDIR(st.st_mode)) return std::unique_ptr<indexer::Source>(new indexer::DirSource(path));
  if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode)) {
    return Status::InvalidArgument("checkin " + path + ": not a directory, a tarball or a disk image");
  }
  // A file is sniffed by content: a disk image (qcow2, vmdk, vdi, vhdx, raw with a partition
  // table or an ext superblock), else a tarball (TarSource names what libarchive makes of it).
  std::string head(64 * 1024, '\0');
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus("checkin", path, errno);
  ssize_t n = ::pread(fd, head.data(), head.size(), 0);
  int err = errno;
  ::close(fd);
  if (n < 0) return ErrnoStatus("checkin", path, err);
  head.resize(static_cast<size_t>(n));
  std::string format = indexer::SniffImageFormat(head);
  if (!format.empty()) return std::unique_ptr<indexer::Source>(new indexer::DiskSource(path, format));
  return std::unique_ptr<indexer::Source>(new indexer::TarSource(path));
}

void StampVersion(cas::Version* v, const std::string& author) {
  if (author.empty()) {
    const char* user = std::getenv("USER");
    char host[256] = "localhost";
    ::gethostname(host, sizeof(host) - 1);
    v->author = (user && *user ? std::string(user) : EffectiveUserName()) + "@" + host;
  } else {
    v->author = author;
  }
  v->time_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                   std::chrono::system_clock::now().time_since_epoch())
                   .count();
}

Result<CheckinOutcome> CheckinVersion(cas::Repository& repo, const CheckinRequest& req) {
  CAIRN_RETURN_IF_ERROR(ValidateImageName(req.image));
  Catalog catalog(repo.store());
  cas::Version v;
  indexer::CheckinOptions options = req.options;
  if (!req.parent.empty()) {
    CAIRN_ASSIGN_OR_RETURN(VersionRef parent, catalog.Resolve(req.parent));
    v.parents.push_back(parent.id);
    CAIRN_ASSIGN_OR_RETURN(options.parent_tree, cas::RootTreeOf(repo.store(), parent.version));
    SetProgressTotal(options.progress, parent.version);  // an estimate of the new version's size
  }
  options.use_stat_cache = !req.parent.empty() && !req.paranoid;
  PhaseTimer timer;
  CAIRN_ASSIGN_OR_RETURN(auto source, OpenSource(req.source));
  cas::Ingestor ingestor(repo.store(), repo.ingest_options());
  Result<indexer::CheckinResult> result = Status::Internal("unreachable");
  try {
    result = source->Checkin(&ingestor, options);
  } catch (const std::exception& e) {
    // A defect, still undone below: the objects written so far go, as on any failure (an
    // exception from a parser, found by review, left them in the repository).
    result = Status::Internal("checkin " + req.source + ": internal error: " + e.what());
  }
  if (!result && result.error().message().find("Unrecognized archive format") != std::string::npos) {
    // Neither a disk image (by content) nor anything libarchive knows.
    result = Status::InvalidArgument(
        req.source == "-"
            ? "checkin -: standard input is not a tarball (a disk image is checked in by its path)"
            : "checkin " + req.source +
                  ": not a disk image (raw, qcow2, vmdk, vdi, vhdx), a tarball or a directory");
  }
  timer.Mark("walk+store");
  Status s = result.status();
  if (s.ok()) s = ingestor.WritePending();
  timer.Mark("write");
  if (!s.ok()) {
    return cas::WithUndo(s, ingestor.Abort(), "checkin");
  }
  v.root_type = result->disk.IsZero() ? cas::Version::RootType::kTree : cas::Version::RootType::kDisk;
  v.root = result->disk.IsZero() ? result->root : result->disk;
  v.image = req.image;
  StampVersion(&v, req.author);
  v.message = req.message;
  CheckinOutcome out;
  // Undone on error.
  CAIRN_ASSIGN_OR_RETURN(out.version,
                         RecordIngestedVersion(repo, ingestor, std::move(v), result->root,
                                               options.parent_tree, req.index_batch_keys, timer));
  out.result = std::move(*result);
  indexer::TakeStatCacheSave(&out.result);
  // The version stands whatever happens here: a failure only leaves the old space's bytes.
  if (Status dropped = DropLegacyStatCache(repo.store()); !dropped.ok()) {
    out.result.warnings.push_back("the old stat cache in the repository was not deleted: " +
                                  dropped.ToString());
  }
  out.objects_new = ingestor.stats().objects_new;
  out.bytes_new = ingestor.stats().bytes_new;
  out.bytes_stored = ingestor.stats().bytes_stored;
  return out;
}

Result<VersionRef> RecordIngestedVersion(cas::Repository& repo, cas::Ingestor& ingestor,
                                         cas::Version v, const ObjectId& tree,
                                         const ObjectId& base_tree, size_t index_batch_keys,
                                         PhaseTimer& timer) {
  Catalog catalog(repo.store());
  // The index keys of a large tree (two per file) go to the store as they are made, in bulk
  // like the objects, and are flushed before the version is recorded. A tree of a million
  // files held its two million keys three times over before (bench/bigtree.sh: 540 MB).
  KeySink sink;
  sink.batch_keys = index_batch_keys;
  sink.take = [&](IndexKeys& keys) {
    // Index keys name Trees, and no cut may leave keys of a Tree it lost. They go to the
    // catalog space unlogged, without waiting for the objects' flush: that flush takes the
    // object spaces only, and the catalog space becomes durable after it (Ingestor::Finish),
    // or with every space in one atomic flush of RocksDB's own (atomic_flush). Waiting kept
    // the keys' write (~2 ms for the 2,700 keys of corpus v3 over v2) out of the flush's
    // shadow (docs/benchmarks.md, session 21). Sorted first: RocksDB's memtable (a skip list)
    // takes keys in order at a third of the cost of keys in the order a walk makes them (the
    // 406,000 keys of 200,000 small files: 650-1,140 ms unsorted, 395 ms sorted, sort included).
    std::sort(keys.begin(), keys.end());
    cas::WriteBatch b;
    for (auto& [k, value] : keys) b.PutOwned(cas::Space::kCatalog, std::move(k), std::move(value));
    return repo.store()->Write(b, cas::WriteOptions{.bulk = true});
  };
  // The objects are flushed while the index is built; the version's refs then go into the
  // store in one synced batch, after everything they name is durable
  // (cas::Ingestor::Finish(WriteBatch)).
  ingestor.StartFlush();
  auto index = BuildVersionIndex(repo.store(), tree, repo.ingest_options().chunker.min_size, &sink,
                                 base_tree);
  if (index && IndexBytes(index->trees.puts) > kLoggedIndexBytes) {
    // A large index goes in bulk too, flushed before the version's batch: in that batch it
    // would be written to the log and then flushed from it at close.
    sink.sent = true;
    Status sent = sink.take(index->trees.puts);
    index->trees.puts.clear();
    if (!sent.ok()) index = sent;
  }
  timer.Mark("index");
  auto prepared = index ? catalog.PrepareVersion(std::move(v), *index)
                        : Result<Catalog::PreparedVersion>(index.error());
  Status s = prepared.status();
  timer.Mark("record");
  if (s.ok()) s = ingestor.Finish(std::move(prepared->batch));
  timer.Mark("flush");
  if (s.ok()) return std::move(prepared->ref);
  // Once the record is written, it and what it names stay (Ingestor::Abort then leaves the
  // objects and the index too). Else the index keys go first, once StartFlush's flush has
  // ended (Ingestor::Abort): no cut may leave keys of a Tree the objects' undo removed.
  // The disk may have filled during a flush: the store then refuses every write, these deletes
  // too, until it is reopened (crash review 02: skipping the objects' undo left thousands).
  Status undo = ingestor.Abort([&] {
    return repo.store()->UndoRecovering([&] { return UndoTreeIndex(repo.store(), sink); });
  });
  return cas::WithUndo(s, undo, "record version");
}

Result<VersionRef> CloneVersion(cas::Repository& repo, const std::string& spec,
                                const std::string& new_image, const std::string& message) {
  CAIRN_RETURN_IF_ERROR(ValidateImageName(new_image));
  Catalog catalog(repo.store());
  CAIRN_ASSIGN_OR_RETURN(VersionRef from, catalog.Resolve(spec));
  cas::Version v = from.version;
  v.parents = {from.id};
  v.image = new_image;
  StampVersion(&v, "");
  v.message = message.empty() ? "clone of " + from.Name() : message;
  VersionIndexData index;
  index.inspection = DecodeInspection(from.version.summary);
  CAIRN_ASSIGN_OR_RETURN(index.tree, cas::RootTreeOf(repo.store(), v));
  CAIRN_ASSIGN_OR_RETURN(index.trees, IndexTrees(repo.store(), index.tree));  // indexed already
  return catalog.AddVersion(std::move(v), index);
}

Result<indexer::CheckoutResult> CheckoutVersion(cas::Repository& repo, const std::string& spec,
                                                const std::string& target_given, std::string format,
                                                const indexer::CheckoutOptions& options) {
  // A trailing slash makes the kernel follow a symbolic link in the last component (lstat,
  // O_NOFOLLOW): `checkout web lnk/` wrote into the directory lnk points at. The target is named
  // without it, and a link is refused as a link.
  std::string target = target_given;
  while (target.size() > 1 && target.back() == '/') target.pop_back();
  Catalog catalog(repo.store());
  CAIRN_ASSIGN_OR_RETURN(VersionRef ref, catalog.Resolve(spec));
  CAIRN_ASSIGN_OR_RETURN(ObjectId tree, cas::RootTreeOf(repo.store(), ref.version));
  bool is_disk = ref.version.root_type == cas::Version::RootType::kDisk;
  SetProgressTotal(options.progress, ref.version);
  if (format.empty()) {
    if (is_disk && target.ends_with(".qcow2")) format = "qcow2";
    else if (is_disk && (target.ends_with(".raw") || target.ends_with(".img"))) format = "raw";
    else if (target == "-")
      format = "tar";
    else
      format = indexer::TarFormatOf(target);
  }
  if (format.empty() &&
      std::filesystem::path(target).filename().string().find(".tar.") != std::string::npos) {
    // out.tar.lz4 as a directory named so would surprise everyone.
    return Status::InvalidArgument("checkout " + target +
                                   ": a tarball compressed so is not written (name it .tar, "
                                   ".tar.gz, .tar.zst, .tar.xz or .tar.bz2, or give --format)");
  }
  if (format.empty()) format = "dir";
  if (target == "-" && !indexer::IsTarFormat(format)) {
    return Status::InvalidArgument("checkout " + spec +
                                   " -: standard output takes a tarball (--format tar, tar.gz, "
                                   "tar.zst, tar.xz or tar.bz2), not " +
                                   format);
  }
  // A disk format for a file tree is refused as such first, whatever --size says: "--size is
  // the size of a disk image, not of a raw of a file tree" said the opposite of the truth.
  if ((format == "raw" || format == "qcow2") && !is_disk) {
    return Status::NotSupported(
        "checkout " + spec + " as " + format +
        ": the version is a file tree, not a disk (check it out as dir or tar)");
  }
  if (options.disk_size != 0 && !(is_disk && (format == "raw" || format == "qcow2"))) {
    return Status::InvalidArgument(
        "checkout " + spec + ": --size is the size of a disk image (raw or qcow2), not of a " +
        (format == "dir" ? "directory" : format));
  }
  std::unique_ptr<indexer::Sink> sink;
  if (format == "raw" || format == "qcow2") {
    indexer::DiskSink disk(target, format, options.disk_size);
    return disk.Checkout(repo.store(), ref.version.root, options);
  }
  if (format == "dir") {
    sink = std::make_unique<indexer::DirSink>(target);
  } else if (indexer::IsTarFormat(format)) {
    sink = std::make_unique<indexer::TarSink>(target, format);
  } else {
    return Status::InvalidArgument(
        "checkout format '" + format +
        "': expected dir, tar, tar.gz, tar.zst, tar.xz, tar.bz2, raw or qcow2");
  }
  return sink->Checkout(repo.store(), tree, options);
}

}  // namespace cairn::catalog
