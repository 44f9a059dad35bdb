#include "tests/cas/power_cut_fs.h"

#include <filesystem>
#include <fstream>
#include <sstream>

namespace cairn::cas::testing {
namespace {

namespace fs = std::filesystem;
using rocksdb::IODebugContext;
using rocksdb::IOOptions;
using rocksdb::IOStatus;
using rocksdb::Slice;

std::string ReadPrefix(const std::string& path, std::optional<uint64_t> n) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  std::string s = out.str();
  if (n && *n < s.size()) s.resize(*n);
  return s;
}

class TrackedFile final : public rocksdb::FSWritableFileOwnerWrapper {
 public:
  // `name`: the file's name in the watched directory, "" when it is elsewhere.
  TrackedFile(std::unique_ptr<rocksdb::FSWritableFile> f, PowerCutFs* fs, std::string name)
      : FSWritableFileOwnerWrapper(std::move(f)), fs_(fs), name_(std::move(name)) {}
  IOStatus Append(const Slice& data, const IOOptions& o, IODebugContext* dbg) override {
    fs_->Appended(name_, data.size());
    return target()->Append(data, o, dbg);
  }
  IOStatus Append(const Slice& data, const IOOptions& o, const rocksdb::DataVerificationInfo& v,
                  IODebugContext* dbg) override {
    fs_->Appended(name_, data.size());
    return target()->Append(data, o, v, dbg);
  }
  IOStatus PositionedAppend(const Slice& data, uint64_t offset, const IOOptions& o,
                            IODebugContext* dbg) override {
    fs_->Appended(name_, data.size());
    return target()->PositionedAppend(data, offset, o, dbg);
  }
  IOStatus PositionedAppend(const Slice& data, uint64_t offset, const IOOptions& o,
                            const rocksdb::DataVerificationInfo& v, IODebugContext* dbg) override {
    fs_->Appended(name_, data.size());
    return target()->PositionedAppend(data, offset, o, v, dbg);
  }
  IOStatus Sync(const IOOptions& o, IODebugContext* dbg) override {
    IOStatus s = target()->Sync(o, dbg);
    if (s.ok()) fs_->Synced(name_);
    return s;
  }
  IOStatus Fsync(const IOOptions& o, IODebugContext* dbg) override {
    IOStatus s = target()->Fsync(o, dbg);
    if (s.ok()) fs_->Synced(name_);
    return s;
  }

 private:
  PowerCutFs* fs_;
  std::string name_;
};

class TrackedDir final : public rocksdb::FSDirectoryWrapper {
 public:
  TrackedDir(std::unique_ptr<rocksdb::FSDirectory> d, PowerCutFs* fs)
      : FSDirectoryWrapper(std::move(d)), fs_(fs) {}
  IOStatus Fsync(const IOOptions& o, IODebugContext* dbg) override {
    IOStatus s = FSDirectoryWrapper::Fsync(o, dbg);
    if (s.ok()) fs_->DirSynced();
    return s;
  }
  IOStatus FsyncWithDirOptions(const IOOptions& o, IODebugContext* dbg,
                               const rocksdb::DirFsyncOptions& d) override {
    IOStatus s = FSDirectoryWrapper::FsyncWithDirOptions(o, dbg, d);
    if (s.ok()) fs_->DirSynced();
    return s;
  }

 private:
  PowerCutFs* fs_;
};

}  // namespace

PowerCutFs::PowerCutFs(std::string dir, uint64_t cut_at, std::string snapshot_dir)
    : FileSystemWrapper(rocksdb::FileSystem::Default()),
      dir_(fs::absolute(dir).lexically_normal().string()),
      cut_at_(cut_at),
      snapshot_dir_(std::move(snapshot_dir)) {}

uint64_t PowerCutFs::events() const {
  std::lock_guard lock(mu_);
  return events_;
}

bool PowerCutFs::cut() const {
  std::lock_guard lock(mu_);
  return cut_;
}

void PowerCutFs::CutNow() {
  std::lock_guard lock(mu_);
  if (cut_) return;
  TakeSnapshot();
  cut_ = true;
}

std::string PowerCutFs::Name(const std::string& path) const {
  fs::path p = fs::absolute(path).lexically_normal();
  if (p.parent_path().string() != dir_) return "";
  return p.filename().string();
}

void PowerCutFs::Event() {
  ++events_;
  if (!cut_ && events_ == cut_at_) {
    TakeSnapshot();
    cut_ = true;
  }
}

void PowerCutFs::TakeSnapshot() {
  fs::create_directories(snapshot_dir_);
  for (const auto& entry : fs::directory_iterator(dir_)) {
    std::string name = entry.path().filename().string();
    std::optional<std::string> content;
    if (auto r = renames_.find(name); r != renames_.end()) {
      content = r->second.old_target;  // the rename is not durable yet
    } else if (auto f = files_.find(name); f != files_.end()) {
      if (f->second.durable_name) content = ReadPrefix(entry.path().string(), f->second.synced);
    } else {
      content = ReadPrefix(entry.path().string(), std::nullopt);  // untouched since the open
    }
    if (!content) continue;
    std::ofstream out(snapshot_dir_ + "/" + name, std::ios::binary);
    out.write(content->data(), static_cast<std::streamsize>(content->size()));
  }
}

void PowerCutFs::Appended(const std::string& name, uint64_t n) {
  if (name.empty()) return;
  std::lock_guard lock(mu_);
  Event();
  files_[name].size += n;
}

void PowerCutFs::Synced(const std::string& name) {
  if (name.empty()) return;
  std::lock_guard lock(mu_);
  Event();
  FileState& f = files_[name];
  f.synced = f.size;
  f.durable_name = true;  // ext4: fsync of a new file commits its directory entry too
}

void PowerCutFs::DirSynced() {
  std::lock_guard lock(mu_);
  Event();
  for (auto& [name, f] : files_) f.durable_name = true;
  renames_.clear();
}

IOStatus PowerCutFs::NewWritableFile(const std::string& f, const rocksdb::FileOptions& o,
                                     std::unique_ptr<rocksdb::FSWritableFile>* r,
                                     IODebugContext* dbg) {
  std::unique_ptr<rocksdb::FSWritableFile> file;
  IOStatus s = target()->NewWritableFile(f, o, &file, dbg);
  if (!s.ok()) return s;
  std::string name = Name(f);
  if (!name.empty()) {
    std::lock_guard lock(mu_);
    files_[name] = FileState{};
  }
  *r = std::make_unique<TrackedFile>(std::move(file), this, name);
  return s;
}

IOStatus PowerCutFs::ReopenWritableFile(const std::string& f, const rocksdb::FileOptions& o,
                                        std::unique_ptr<rocksdb::FSWritableFile>* r,
                                        IODebugContext* dbg) {
  std::unique_ptr<rocksdb::FSWritableFile> file;
  IOStatus s = target()->ReopenWritableFile(f, o, &file, dbg);
  if (!s.ok()) return s;
  std::string name = Name(f);
  if (!name.empty()) {
    std::lock_guard lock(mu_);
    if (!files_.contains(name)) {  // an existing file: what it holds is durable
      uint64_t size = fs::exists(f) ? fs::file_size(f) : 0;
      files_[name] = FileState{size, size, fs::exists(f)};
    }
  }
  *r = std::make_unique<TrackedFile>(std::move(file), this, name);
  return s;
}

IOStatus PowerCutFs::ReuseWritableFile(const std::string& f, const std::string&,
                                       const rocksdb::FileOptions&,
                                       std::unique_ptr<rocksdb::FSWritableFile>*, IODebugContext*) {
  return IOStatus::NotSupported("PowerCutFs: file recycling is not modelled: " + f);
}

IOStatus PowerCutFs::NewDirectory(const std::string& name, const IOOptions& o,
                                  std::unique_ptr<rocksdb::FSDirectory>* r, IODebugContext* dbg) {
  std::unique_ptr<rocksdb::FSDirectory> d;
  IOStatus s = target()->NewDirectory(name, o, &d, dbg);
  if (!s.ok()) return s;
  if (fs::absolute(name).lexically_normal().string() == dir_) {
    *r = std::make_unique<TrackedDir>(std::move(d), this);
  } else {
    *r = std::move(d);
  }
  return s;
}

IOStatus PowerCutFs::RenameFile(const std::string& src, const std::string& dst, const IOOptions& o,
                                IODebugContext* dbg) {
  std::string from = Name(src), to = Name(dst);
  std::unique_lock lock(mu_);
  if (!to.empty()) {
    Event();
    if (!renames_.contains(to)) {
      PendingRename p;
      auto f = files_.find(to);
      if (f != files_.end()) {
        if (f->second.durable_name) p.old_target = ReadPrefix(dst, f->second.synced);
      } else if (fs::exists(dst)) {
        p.old_target = ReadPrefix(dst, std::nullopt);
      }
      renames_[to] = std::move(p);
    }
  }
  IOStatus s = target()->RenameFile(src, dst, o, dbg);
  if (s.ok() && !to.empty()) {
    FileState moved;
    if (auto f = files_.find(from); f != files_.end()) {
      moved = f->second;
      files_.erase(f);
    } else {
      uint64_t size = fs::file_size(dst);
      moved = FileState{size, size, true};
    }
    files_[to] = moved;
  }
  return s;
}

IOStatus PowerCutFs::DeleteFile(const std::string& f, const IOOptions& o, IODebugContext* dbg) {
  IOStatus s = target()->DeleteFile(f, o, dbg);
  if (s.ok()) {
    if (std::string name = Name(f); !name.empty()) {
      std::lock_guard lock(mu_);
      files_.erase(name);
    }
  }
  return s;
}

}  // namespace cairn::cas::testing
