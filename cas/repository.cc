#include "cas/repository.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <thread>

#include "base/coding.h"
#include "base/env.h"
#include "cas/rocks_store.h"

namespace cairn::cas {
namespace {
constexpr std::string_view kMarker = "CAIRN";
constexpr std::string_view kReadersLock = "readers.lock";  // Repository::ExcludeReaders
constexpr std::string_view kMarkerText = "cairn repository\nformat 2\n";
constexpr std::string_view kConfigKey = "config";
constexpr std::string_view kPutBytesKey = "put_bytes";
constexpr std::string_view kLegacyIngestedKey = "ingested_bytes";
}  // namespace

Status RepositoryConfig::Validate() const {
  if (small_zstd_level < 0 || small_zstd_level > 19) {
    return Status::InvalidArgument("small-object zstd level " + std::to_string(small_zstd_level) +
                                   ": must be 0 to 19");
  }
  if (zstd_level < 0 || zstd_level > 19) {
    return Status::InvalidArgument("zstd level " + std::to_string(zstd_level) +
                                   ": must be 0 (off) to 19");
  }
  return chunker.Validate();
}

std::string RepositoryConfig::Encode() const {
  std::ostringstream o;
  o << "zstd-level " << zstd_level << "\n"
    << "zstd-level-small " << small_zstd_level << "\n"
    << "chunk-min " << chunker.min_size << "\n"
    << "chunk-avg " << chunker.avg_size << "\n"
    << "chunk-max " << chunker.max_size << "\n";
  return o.str();
}

Result<RepositoryConfig> RepositoryConfig::Decode(std::string_view text) {
  RepositoryConfig c;
  std::istringstream in{std::string(text)};
  std::string key;
  uint64_t value;
  while (in >> key >> value) {
    if (key == "zstd-level") c.zstd_level = static_cast<int>(value);
    else if (key == "zstd-level-small") c.small_zstd_level = static_cast<int>(value);
    else if (key == "chunk-min") c.chunker.min_size = value;
    else if (key == "chunk-avg") c.chunker.avg_size = value;
    else if (key == "chunk-max") c.chunker.max_size = value;
    // unknown keys come from newer versions and are ignored
  }
  CAIRN_RETURN_IF_ERROR(c.Validate().WithContext("read repository config"));
  return c;
}

namespace {

// Written before the database, removed after the marker: a directory that holds it, without
// the marker, is an init a crash cut short.
constexpr std::string_view kInitMarker = "CAIRN.init";

// `dir` holds an init cut short and nothing else: the init marker (or the temporary file it is
// written to, WriteFileAtomic's NAME.tmp), perhaps a database, perhaps the repository marker's
// temporary file.
bool Unfinished(const std::string& dir) {
  std::error_code ec;
  bool marked = false;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    const std::string name = e.path().filename().string();
    if (name == kInitMarker || name == std::string(kInitMarker) + ".tmp") {
      marked = true;
    } else if (name != "db" && name != std::string(kMarker) + ".tmp") {
      return false;
    }
  }
  return !ec && marked;
}

}  // namespace

bool Repository::Exists(const std::string& dir) {
  return Env::Default()->FileExists(dir + "/" + std::string(kMarker));
}

Status Repository::Init(const std::string& dir, const RepositoryConfig& config) {
  CAIRN_RETURN_IF_ERROR(config.Validate());
  if (Exists(dir)) return Status::AlreadyExists("init " + dir + ": already a cairn repository");
  std::error_code ec;
  if (std::filesystem::exists(dir, ec)) {
    if (!std::filesystem::is_directory(dir, ec)) {
      return Status::InvalidArgument("init " + dir + ": exists and is not a directory");
    }
    if (!std::filesystem::is_empty(dir, ec) && !Unfinished(dir)) {
      return Status::InvalidArgument("init " + dir + ": directory is not empty");
    }
  }
  Env* env = Env::Default();
  const bool created = !std::filesystem::exists(dir, ec);
  CAIRN_RETURN_IF_ERROR(env->CreateDirs(dir));
  // The repository holds every file of every image, /etc/shadow and private keys included:
  // only its owner may read it (docs/cli.md, init). A directory the user made for it keeps
  // the mode they gave it; its database is private either way.
  if (created && ::chmod(dir.c_str(), 0700) != 0) return ErrnoStatus("init: chmod", dir, errno);
  // An init cut short before its marker: its database and temporary files go, and the init
  // starts again.
  for (const std::string& name :
       {std::string("db"), std::string(kMarker) + ".tmp", std::string(kInitMarker) + ".tmp"}) {
    std::filesystem::remove_all(dir + "/" + name, ec);
    if (ec)
      return Status::IOError("init " + dir + ": remove " + name +
                             " of an unfinished init: " + ec.message());
  }
  CAIRN_RETURN_IF_ERROR(WriteFileAtomic(env, dir + "/" + std::string(kInitMarker), ""));
  if (::mkdir((dir + "/db").c_str(), 0700) != 0)
    return ErrnoStatus("init: mkdir", dir + "/db", errno);
  {
    RocksStoreOptions o;
    o.create_if_missing = true;
    CAIRN_ASSIGN_OR_RETURN(auto store, RocksStore::Open(dir + "/db", o));
    WriteBatch b;
    b.Put(Space::kMeta, kConfigKey, config.Encode());
    CAIRN_RETURN_IF_ERROR(store->Write(b, WriteOptions{.sync = true}));
  }
  // The marker goes last: a directory without it is not a repository, so a crash during
  // init leaves nothing that later commands would trust.
  CAIRN_RETURN_IF_ERROR(WriteFileAtomic(env, dir + "/" + std::string(kMarker), kMarkerText));
  return env->RemoveFile(dir + "/" + std::string(kInitMarker));
}

Result<std::unique_ptr<Repository>> Repository::Open(const std::string& dir,
                                                     const OpenOptions& options) {
  if (!Exists(dir)) {
    // A repository of another user's (mode 0700) is named as such, not as missing.
    const std::string marker = dir + "/" + std::string(kMarker);
    if (::access(marker.c_str(), F_OK) != 0 && errno == EACCES) {
      return ErrnoStatus("open repository", dir, EACCES);
    }
    return Status::NotFound("open repository " + dir +
                            ": not a cairn repository (run `cairn init`)");
  }
  CAIRN_ASSIGN_OR_RETURN(std::string marker,
                         ReadFileToString(Env::Default(), dir + "/" + std::string(kMarker)));
  if (marker != kMarkerText) {
    std::string first_lines = marker.substr(0, marker.find('\n', marker.find('\n') + 1));
    if (marker.starts_with("cairn repository\nformat ")) {
      return Status::NotSupported(
          "open repository " + dir + ": it is in " +
          std::string(first_lines.substr(first_lines.find('\n') + 1)) +
          "; this cairn reads format 2 only (check its images out with the cairn that wrote it "
          "and in again)");
    }
    return Status::Corruption("open repository " + dir + ": unrecognised CAIRN marker");
  }
  std::unique_ptr<Repository> repo(new Repository());
  repo->dir_ = dir;
  const std::string readers = dir + "/" + std::string(kReadersLock);
  if (options.mode == Mode::kRead) {
    // Held shared while open (ExcludeReaders); a repository made before it existed, or one
    // whose directory this user cannot write, may lack it: a writer creates it.
    repo->readers_fd_ = ::open(readers.c_str(), O_RDONLY | O_CLOEXEC);
    if (repo->readers_fd_ >= 0 && ::flock(repo->readers_fd_, LOCK_SH | LOCK_NB) != 0) {
      if (errno != EWOULDBLOCK) return ErrnoStatus("lock", readers, errno);
      if (options.on_wait) {
        options.on_wait("repository " + dir + " is being compacted: waiting for the writer");
      }
      while (::flock(repo->readers_fd_, LOCK_SH) != 0) {
        if (errno != EINTR) return ErrnoStatus("lock", readers, errno);
      }
    }
  }
  RocksStoreOptions ro;
  ro.read_only = options.mode == Mode::kRead;
  ro.file_system = options.file_system;
  auto deadline = std::chrono::steady_clock::now() + options.wait;
  bool told = false;
  std::unique_ptr<RocksStore> store;
  for (;;) {
    auto opened = RocksStore::Open(dir + "/db", ro);
    if (opened) {
      store = std::move(opened).value();
      break;
    }
    if (opened.error().code() != Code::kBusy || std::chrono::steady_clock::now() >= deadline) {
      if (opened.error().code() == Code::kBusy) {
        return Status::Busy("open repository " + dir +
                            ": busy: another cairn process is writing to it (waited " +
                            std::to_string(options.wait.count() / 1000) + " s)");
      }
      return std::move(opened).error();
    }
    if (!told && options.on_wait) {
      options.on_wait("repository " + dir + " is busy: waiting for another cairn process");
      told = true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  if (options.mode == Mode::kWrite) {
    repo->readers_fd_ = ::open(readers.c_str(), O_RDONLY | O_CREAT | O_CLOEXEC, 0644);
    if (repo->readers_fd_ < 0) return ErrnoStatus("open", readers, errno);
  }
  CAIRN_ASSIGN_OR_RETURN(auto text, store->Get(Space::kMeta, kConfigKey));
  if (!text) return Status::Corruption("open repository " + dir + ": no config record");
  CAIRN_ASSIGN_OR_RETURN(repo->config_, RepositoryConfig::Decode(*text));
  repo->store_ = std::move(store);
  return repo;
}

Repository::~Repository() {
  store_.reset();  // closed before the readers are let in
  if (readers_fd_ >= 0) ::close(readers_fd_);
}

Result<bool> Repository::ExcludeReaders(std::chrono::milliseconds wait) {
  const std::string readers = dir_ + "/" + std::string(kReadersLock);
  if (readers_fd_ < 0) return Status::Internal("exclude readers of " + dir_ + ": not a writer");
  const auto deadline = std::chrono::steady_clock::now() + wait;
  for (;;) {
    if (::flock(readers_fd_, LOCK_EX | LOCK_NB) == 0) return true;
    if (errno != EWOULDBLOCK && errno != EINTR) return ErrnoStatus("lock", readers, errno);
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

IngestOptions Repository::ingest_options() const {
  IngestOptions o;
  o.chunker = config_.chunker;
  o.zstd_level = config_.zstd_level;
  o.small_zstd_level = config_.small_zstd_level;
  return o;
}

Result<uint64_t> Repository::PutBytes() {
  CAIRN_ASSIGN_OR_RETURN(auto v, store_->Get(Space::kMeta, kPutBytesKey));
  if (!v) return uint64_t{0};
  std::string_view in(*v);
  uint64_t n;
  if (!GetFixed64(&in, &n)) return Status::Corruption("read repository counter: truncated");
  return n;
}

Status Repository::AddPutBytes(uint64_t n) {
  CAIRN_ASSIGN_OR_RETURN(uint64_t cur, PutBytes());
  std::string v;
  PutFixed64(&v, cur + n);
  WriteBatch b;
  b.Put(Space::kMeta, kPutBytesKey, v);
  return store_->Write(b, WriteOptions{.sync = true});
}

Status Repository::ResetPutBytes() {
  WriteBatch b;
  b.Delete(Space::kMeta, kPutBytesKey);
  b.Delete(Space::kMeta, kLegacyIngestedKey);
  return store_->Write(b, WriteOptions{.sync = true});
}

std::string DefaultRepositoryDir(const std::string& flag, bool* explicit_choice) {
  *explicit_choice = !flag.empty();
  if (!flag.empty()) return flag;
  if (const char* e = std::getenv("CAIRN_REPO"); e && *e) return e;
  const char* home = std::getenv("HOME");
  return std::string(home && *home ? home : ".") + "/.local/share/cairn";
}

}  // namespace cairn::cas
