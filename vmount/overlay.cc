#include "vmount/overlay.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <charconv>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <random>
#include <sstream>

#include "base/env.h"
#include "base/hex.h"

namespace cairn::vmount {
namespace {
// The header names the format of the records (JournalFormat): "cairn-journal-N\n", N one digit.
constexpr std::string_view kJournalMagicV1 = "cairn-journal-1\n";
constexpr std::string_view kJournalMagicV2 = "cairn-journal-2\n";
const size_t kHeaderSize = kJournalMagicV2.size() + ObjectId::kSize;

std::string RandomId() {
  std::random_device rd;
  std::mt19937_64 rng((uint64_t{rd()} << 32) ^ rd() ^ static_cast<uint64_t>(::getpid()));
  char buf[17];
  std::snprintf(buf, sizeof(buf), "%016llx", static_cast<unsigned long long>(rng()));
  return buf;
}

std::string Header(const ObjectId& base) {
  return std::string(kJournalMagicV2) + std::string(base.AsBytes());
}

// The format a journal's header names; Corruption when it names none.
Result<JournalFormat> FormatOf(std::string_view journal, const std::string& path) {
  if (journal.size() >= kHeaderSize) {
    if (journal.starts_with(kJournalMagicV2)) return JournalFormat::kV2;
    if (journal.starts_with(kJournalMagicV1)) return JournalFormat::kV1;
  }
  return Status::Corruption("read journal " + path + ": header damaged");
}

Result<int64_t> InfoNumber(const std::string& key, const std::string& value) {
  int64_t n = 0;
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
  if (ec != std::errc() || end != value.data() + value.size() || n < 0) {
    return Status::Corruption("read mount info: " + key + " is not a number: " + value);
  }
  return n;
}

bool ProcessLives(int64_t pid) { return pid > 0 && (::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM); }

}  // namespace

std::string MountInfo::Encode() const {
  std::ostringstream o;
  o << "id " << id << "\nmountpoint " << mountpoint << "\nversion " << version << "\nbase "
    << base.ToHex() << "\nwritable " << (writable ? 1 : 0) << "\npid " << pid << "\nstarted "
    << started_ns << "\n";
  if (clean_bytes > 0) o << "clean " << clean_bytes << "\n";
  return o.str();
}

Result<MountInfo> MountInfo::Decode(std::string_view text) {
  MountInfo m;
  std::istringstream in{std::string(text)};
  std::string line;
  while (std::getline(in, line)) {
    size_t sp = line.find(' ');
    if (sp == std::string::npos) continue;
    std::string key = line.substr(0, sp), value = line.substr(sp + 1);
    if (key == "id") m.id = value;
    else if (key == "mountpoint") m.mountpoint = value;
    else if (key == "version") m.version = value;
    else if (key == "base") {
      CAIRN_ASSIGN_OR_RETURN(m.base, ObjectId::FromHex(value));
    } else if (key == "writable") m.writable = value == "1";
    else if (key == "pid") {
      CAIRN_ASSIGN_OR_RETURN(m.pid, InfoNumber(key, value));
    } else if (key == "started") {
      CAIRN_ASSIGN_OR_RETURN(m.started_ns, InfoNumber(key, value));
    } else if (key == "clean") {
      CAIRN_ASSIGN_OR_RETURN(m.clean_bytes, InfoNumber(key, value));
    }
  }
  if (m.mountpoint.empty()) return Status::Corruption("read mount info: no mount point");
  return m;
}

Overlay::~Overlay() {
  if (fd_ >= 0) ::close(fd_);
  if (alive_fd_ >= 0) ::close(alive_fd_);
}

Status Overlay::HoldAlive() {
  if (alive_fd_ >= 0) return Status();
  std::string path = dir_ + "/alive";
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return ErrnoStatus("open", path, errno);
  // Waits only for a MountProcessLives that holds it for a moment.
  while (::flock(fd, LOCK_EX) != 0) {
    if (errno != EINTR) {
      int err = errno;
      ::close(fd);
      return ErrnoStatus("lock", path, err);
    }
  }
  alive_fd_ = fd;
  return Status();
}

bool MountProcessLives(const std::string& dir, int64_t pid) {
  if (pid <= 0) return false;
  int fd = ::open((dir + "/alive").c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    struct stat st;
    if (::stat(dir.c_str(), &st) != 0) return false;  // removed as the process finished
    return ProcessLives(pid);
  }
  bool held = ::flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK;
  ::close(fd);  // drops the shared lock, if it was had
  return held;
}

Result<std::unique_ptr<Overlay>> Overlay::Create(const std::string& repo_dir, MountInfo info) {
  Env* env = Env::Default();
  std::unique_ptr<Overlay> o(new Overlay());
  info.id = RandomId();
  o->dir_ = MountsDir(repo_dir) + "/" + info.id;
  o->base_ = info.base;
  CAIRN_RETURN_IF_ERROR(env->CreateDirs(o->upper_dir()));
  CAIRN_RETURN_IF_ERROR(WriteFileAtomic(env, o->journal_path(), Header(info.base)));
  CAIRN_RETURN_IF_ERROR(o->SaveInfo(info));
  CAIRN_RETURN_IF_ERROR(o->OpenJournal());
  return o;
}

Result<std::unique_ptr<Overlay>> Overlay::Open(const std::string& dir) {
  Env* env = Env::Default();
  std::unique_ptr<Overlay> o(new Overlay());
  o->dir_ = dir;
  auto text = ReadFileToString(env, dir + "/info");
  if (!text) return Status::NotFound("open overlay " + dir + ": no mount info");
  auto info = MountInfo::Decode(*text);
  if (!info) return info.status().WithContext("open overlay " + dir);
  o->info_ = std::move(*info);
  CAIRN_RETURN_IF_ERROR(env->CreateDirs(o->upper_dir()));
  CAIRN_ASSIGN_OR_RETURN(std::string j, ReadFileToString(env, o->journal_path()));
  auto format = FormatOf(j, o->journal_path());
  if (!format) return format.status().WithContext("open overlay " + dir);
  o->format_ = *format;
  CAIRN_ASSIGN_OR_RETURN(o->base_,
                         ObjectId::FromBytes(j.substr(kJournalMagicV2.size(), ObjectId::kSize)));
  auto decoded = DecodeJournalRecords(std::string_view(j).substr(kHeaderSize), o->format_);
  if (!decoded) return decoded.status().WithContext("open overlay " + dir);
  o->records_ = decoded->records.size();
  for (const auto& r : decoded->records)
    if (r.op == JournalOp::kCopyUp) o->next_upper_ = std::max(o->next_upper_, r.number + 1);
  // A torn last record (the machine stopped while it was appended) is cut off before anything
  // is appended after it: it would read as damage in the middle, or, in version 1, as the
  // start of a record that swallows those appended after it.
  const uint64_t whole = kHeaderSize + decoded->whole_bytes;
  if (whole < j.size()) {
    if (::truncate(o->journal_path().c_str(), static_cast<off_t>(whole)) != 0) {
      return ErrnoStatus("cut the torn last record off journal", o->journal_path(), errno);
    }
  }
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(o->upper_dir(), ec)) {
    uint64_t n = std::strtoull(e.path().filename().c_str(), nullptr, 10);
    o->next_upper_ = std::max(o->next_upper_, n + 1);
  }
  CAIRN_RETURN_IF_ERROR(o->OpenJournal());
  return o;
}

Status Overlay::OpenJournal() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = ::open(journal_path().c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
  if (fd_ < 0) return ErrnoStatus("open journal", journal_path(), errno);
  off_t end = ::lseek(fd_, 0, SEEK_END);
  if (end < 0) return ErrnoStatus("open journal", journal_path(), errno);
  size_ = last_size_ = static_cast<uint64_t>(end);
  return Status();
}

Status Overlay::SaveInfo(const MountInfo& info) {
  info_ = info;
  return WriteFileAtomic(Env::Default(), dir_ + "/info", info.Encode());
}

Status Overlay::Append(const JournalRecord& r) {
  std::string rec = EncodeJournalRecord(r, format_);
  // One write: whole or (on a crash) torn at the end. A write the disk cuts short must not stay:
  // records appended after a partial one would replay as its payload, or be taken for a torn
  // tail and dropped although their operations succeeded. So the rest is tried once more (a
  // short write may be transient; else it names the errno), then the journal is cut back.
  size_t done = 0;
  int err = 0;
  while (done < rec.size()) {
    ssize_t n = ::write(fd_, rec.data() + done, rec.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      err = n < 0 ? errno : EIO;
      break;
    }
    done += static_cast<size_t>(n);
  }
  if (err != 0) {
    if (done > 0 && ::ftruncate(fd_, static_cast<off_t>(size_)) != 0) {
      return Status::IOError("append to journal " + journal_path() + ": " + std::strerror(err) +
                             "; cutting off the partial record failed: " + std::strerror(errno) +
                             " (the journal is damaged)");
    }
    return ErrnoStatus("append to journal", journal_path(), err);
  }
  last_size_ = size_;
  size_ += rec.size();
  records_++;
  return Status();
}

Status Overlay::DropLast() {
  if (::ftruncate(fd_, static_cast<off_t>(last_size_)) != 0) {
    return ErrnoStatus("drop the last journal record of", journal_path(), errno);
  }
  size_ = last_size_;
  records_--;
  return Status();
}

bool Overlay::has_edits() const {
  return records_ > 0 && size_ > std::max<uint64_t>(kHeaderSize, info_.clean_bytes);
}

Status Overlay::Sync() {
  if (::fdatasync(fd_) != 0) return ErrnoStatus("sync journal", journal_path(), errno);
  return Status();
}

Result<std::vector<JournalRecord>> Overlay::Records() {
  CAIRN_ASSIGN_OR_RETURN(std::string j, ReadFileToString(Env::Default(), journal_path()));
  CAIRN_ASSIGN_OR_RETURN(JournalFormat format, FormatOf(j, journal_path()));
  auto decoded = DecodeJournalRecords(std::string_view(j).substr(kHeaderSize), format);
  if (!decoded) return decoded.status().WithContext(journal_path());
  return std::move(decoded->records);
}

Status Overlay::Reset(const ObjectId& base, const std::vector<JournalRecord>& keep) {
  // Not synced here: the caller deletes the freed upper files first (so that syncing does not
  // write their data back), then calls SyncAll. A rename is atomic for a dying process.
  std::string data = Header(base);
  for (const auto& r : keep) data += EncodeJournalRecord(r, JournalFormat::kV2);
  std::string tmp = journal_path() + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return ErrnoStatus("create", tmp, errno);
  ssize_t n = ::write(fd, data.data(), data.size());
  int err = errno;
  ::close(fd);
  if (n != static_cast<ssize_t>(data.size())) return ErrnoStatus("write", tmp, n < 0 ? err : EIO);
  if (::rename(tmp.c_str(), journal_path().c_str()) != 0) {
    return ErrnoStatus("rename", journal_path(), errno);
  }
  base_ = base;
  format_ = JournalFormat::kV2;
  records_ = keep.size();
  info_.clean_bytes = keep.empty() ? 0 : data.size();
  return OpenJournal();
}

Status Overlay::SyncAll() {
  CAIRN_RETURN_IF_ERROR(Sync());
  return Env::Default()->SyncDir(dir_);
}

void Overlay::RemoveUpper(uint64_t n) { ::unlink((upper_dir() + "/" + std::to_string(n)).c_str()); }

Status Overlay::Remove() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
  if (ec) return Status::IOError("remove overlay " + dir_ + ": " + ec.message());
  return Status();
}

std::string AbsolutePath(const std::string& path) {
  std::error_code ec;
  auto p = std::filesystem::weakly_canonical(std::filesystem::absolute(path, ec), ec);
  if (ec) p = std::filesystem::absolute(path).lexically_normal();
  std::string s = p.string();
  while (s.size() > 1 && s.back() == '/') s.pop_back();
  return s;
}

Result<std::vector<MountStatus>> ListMounts(const std::string& repo_dir) {
  std::vector<MountStatus> out;
  std::error_code ec;
  std::string dir = Overlay::MountsDir(repo_dir);
  if (!std::filesystem::is_directory(dir, ec)) return out;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    auto text = ReadFileToString(Env::Default(), e.path().string() + "/info");
    if (!text) continue;  // being created or removed
    auto info = MountInfo::Decode(*text);
    // Skipped, gc could delete what the edit needs; guessed, a mount could be taken for another.
    if (!info) {
      return info.status().WithContext("list mounts: overlay " + e.path().string() +
                                       " (repair or delete its info file)");
    }
    MountStatus s;
    s.info = std::move(*info);
    s.dir = e.path().string();
    s.live = MountProcessLives(s.dir, s.info.pid);
    struct stat st;
    s.committing = ::stat((s.dir + "/committing").c_str(), &st) == 0;
    s.dirty =
        ::stat((s.dir + "/journal").c_str(), &st) == 0 &&
        static_cast<uint64_t>(st.st_size) > std::max<uint64_t>(kHeaderSize, s.info.clean_bytes);
    out.push_back(std::move(s));
  }
  std::sort(out.begin(), out.end(),
            [](const MountStatus& a, const MountStatus& b) { return a.info.mountpoint < b.info.mountpoint; });
  return out;
}

Result<MountStatus> FindMount(const std::string& repo_dir, const std::string& mountpoint) {
  std::string abs = AbsolutePath(mountpoint);
  CAIRN_ASSIGN_OR_RETURN(auto all, ListMounts(repo_dir));
  for (auto& m : all)
    if (m.info.mountpoint == abs) return m;
  return Status::NotFound(abs + ": not a cairn mount of repository " + repo_dir +
                          " (see `cairn mounts`)");
}

}  // namespace cairn::vmount
