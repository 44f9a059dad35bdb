#include "vmount/mount_service.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <thread>

#include "base/coding.h"
#include "base/env.h"
#include "catalog/catalog.h"
#include "vmount/control.h"
#include "vmount/mount_process.h"

namespace cairn::vmount {
namespace {

// Whether `dir` is a mount point (from /proc/self/mountinfo; octal escapes as the kernel writes).
bool IsMountPoint(const std::string& dir) {
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  while (std::getline(in, line)) {
    size_t a = line.find(' '), b;
    for (int i = 0; i < 3 && a != std::string::npos; ++i) a = line.find(' ', a + 1);
    if (a == std::string::npos || (b = line.find(' ', a + 1)) == std::string::npos) continue;
    std::string raw = line.substr(a + 1, b - a - 1), mp;
    for (size_t i = 0; i < raw.size(); ++i) {
      if (raw[i] == '\\' && i + 3 < raw.size()) {
        mp.push_back(static_cast<char>(std::stoi(raw.substr(i + 1, 3), nullptr, 8)));
        i += 3;
      } else {
        mp.push_back(raw[i]);
      }
    }
    if (mp == dir) return true;
  }
  return false;
}

std::string ShellQuote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// Runs fusermount3 -u (lazily with `lazy`). Busy when files are open in the mount.
Status Fusermount(const std::string& dir, bool lazy) {
  std::string cmd = std::string("fusermount3 -u ") + (lazy ? "-z " : "") + ShellQuote(dir) + " 2>&1";
  FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) return ErrnoStatus("run", "fusermount3", errno);
  std::string out;
  char buf[512];
  while (size_t n = std::fread(buf, 1, sizeof(buf), p)) out.append(buf, n);
  int rc = ::pclose(p);
  if (rc == 0) return Status();
  while (!out.empty() && out.back() == '\n') out.pop_back();
  if (out.find("busy") != std::string::npos) {
    return Status::Busy("unmount " + dir + ": files are open in the mount (close them first)");
  }
  return Status::IOError("unmount " + dir + ": " + out);
}

// Held from the check for a leftover until the new mount process has registered its pid, so
// that two vmounts started together cannot both find the directory free. One lock for the whole
// repository: vmounts are rare, and a mount point's spelling is not one name for one directory.
class RegistryLock {
 public:
  ~RegistryLock() { Release(); }
  Status Acquire(const std::string& repo_dir) {
    std::string dir = Overlay::MountsDir(repo_dir);
    CAIRN_RETURN_IF_ERROR(Env::Default()->CreateDirs(dir));
    std::string path = dir + "/.lock";
    fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd_ < 0) return ErrnoStatus("mount: lock", path, errno);
    while (::flock(fd_, LOCK_EX) != 0) {
      if (errno != EINTR) return ErrnoStatus("mount: lock", path, errno);
    }
    return Status();
  }
  // Also in a forked child, which must not hold the lock for its life.
  void Release() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

Status CheckMountPoint(const std::string& dir, const std::string& repo_dir) {
  std::string repo = AbsolutePath(repo_dir);
  if (dir == repo || dir.starts_with(repo + "/")) {
    return Status::InvalidArgument("mount " + dir + ": inside the repository " + repo +
                                   " (mount somewhere else)");
  }
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0) {
    if (errno == ENOENT) return Status::NotFound("mount " + dir + ": no such directory");
    return ErrnoStatus("mount", dir, errno);
  }
  if (!S_ISDIR(st.st_mode)) return Status::InvalidArgument("mount " + dir + ": not a directory");
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return ErrnoStatus("mount", dir, errno);
  bool empty = true;
  while (struct dirent* e = ::readdir(d)) {
    std::string_view n = e->d_name;
    if (n != "." && n != "..") empty = false;
  }
  ::closedir(d);
  if (!empty) return Status::InvalidArgument("mount " + dir + ": directory is not empty");
  if (IsMountPoint(dir)) {
    return Status::AlreadyExists("mount " + dir + ": something is mounted there already");
  }
  return Status();
}

// The ready report of a forked mount process, through a pipe: "0" + info, or code + message.
std::string EncodeReady(const Result<MountOutcome>& r) {
  std::string out;
  if (!r) {
    PutLengthPrefixed(&out, std::to_string(static_cast<int>(r.error().code())));
    PutLengthPrefixed(&out, r.error().message());
    return out;
  }
  PutLengthPrefixed(&out, "0");
  PutLengthPrefixed(&out, r->info.Encode());
  PutLengthPrefixed(&out, r->resumed ? "1" : "0");
  return out;
}

Result<MountOutcome> DecodeReady(std::string_view in) {
  std::string_view code, a, b;
  if (!GetLengthPrefixed(&in, &code) || !GetLengthPrefixed(&in, &a)) {
    return Status::Internal("mount: the mount process ended without a report (see its log)");
  }
  if (code != "0") return Status(static_cast<Code>(std::stoi(std::string(code))), std::string(a));
  MountOutcome out;
  CAIRN_ASSIGN_OR_RETURN(out.info, MountInfo::Decode(a));
  out.resumed = GetLengthPrefixed(&in, &b) && b == "1";
  return out;
}

// SettleInterruptedCommit in a child process: this one opens no store before it forks the
// mount process (which then starts with no threads behind it).
Status SettleInChild(const std::string& repo_dir, const std::string& dir) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return ErrnoStatus("settle commit", "pipe", errno);
  pid_t pid = ::fork();
  if (pid < 0) return ErrnoStatus("settle commit", "fork", errno);
  if (pid == 0) {
    ::close(fds[0]);
    Status s = SettleInterruptedCommit(repo_dir, dir);
    std::string msg = s.ok() ? "" : s.message();
    (void)!::write(fds[1], msg.data(), msg.size());
    ::_exit(s.ok() ? 0 : 1);
  }
  ::close(fds[1]);
  std::string msg = ReadFdToEnd(fds[0]);
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return Status();
  return Status::IOError("settle the interrupted commit of overlay " + dir + ": " +
                         (msg.empty() ? std::string("the process failed") : msg));
}

// What a mount that ended left at a mount point: the overlay to resume, or the one whose edit
// to drop once the new mount is up.
struct Leftover {
  std::string resume_dir, discard_dir;
};

// Clears what a mount that ended left at `mountpoint`, except an edit to discard (deleted by
// the new mount process once it is up: a mount that fails, say on a mistyped version, must
// not have cost the edit).
Result<Leftover> HandleLeftover(const MountRequest& req, const std::string& mountpoint) {
  auto found = FindMount(req.repo_dir, mountpoint);
  if (!found) {
    if (req.leftover == MountRequest::Leftover::kResume) {
      return Status::NotFound("mount " + mountpoint + ": no uncommitted edit here to resume");
    }
    return Leftover();
  }
  if (found->committing && !found->live) {
    CAIRN_RETURN_IF_ERROR(SettleInChild(req.repo_dir, found->dir));
    found = FindMount(req.repo_dir, mountpoint);
    if (!found) return found.status();
  }
  const MountStatus& m = *found;
  if (m.live) {
    return Status::AlreadyExists("mount " + mountpoint + ": " + m.info.version +
                                 " is mounted there (pid " + std::to_string(m.info.pid) + ")");
  }
  if (IsMountPoint(mountpoint)) (void)Fusermount(mountpoint, /*lazy=*/true);  // a dead mount
  if (m.dirty && m.info.writable) {
    switch (req.leftover) {
      case MountRequest::Leftover::kResume:
        return Leftover{m.dir, ""};
      case MountRequest::Leftover::kRefuse:
        return Status::AlreadyExists(
            "mount " + mountpoint + ": an uncommitted edit of " + m.info.version +
            " from a mount that ended is kept here: add --resume to continue it, or --discard "
            "to drop it");
      case MountRequest::Leftover::kDiscard:
        return Leftover{"", m.dir};
    }
  }
  auto overlay = Overlay::Open(m.dir);
  if (overlay) CAIRN_RETURN_IF_ERROR((*overlay)->Remove());
  if (req.leftover == MountRequest::Leftover::kResume) {
    return Status::NotFound("mount " + mountpoint + ": no uncommitted edit here to resume");
  }
  return Leftover();
}

}  // namespace

Result<MountOutcome> MountVersion(const MountRequest& req) {
  std::string mountpoint = AbsolutePath(req.mountpoint);
  RegistryLock lock;
  CAIRN_RETURN_IF_ERROR(lock.Acquire(req.repo_dir));
  CAIRN_ASSIGN_OR_RETURN(Leftover leftover, HandleLeftover(req, mountpoint));
  const std::string& resume_dir = leftover.resume_dir;
  CAIRN_RETURN_IF_ERROR(CheckMountPoint(mountpoint, req.repo_dir));
  if (!resume_dir.empty() && !req.writable) {
    return Status::InvalidArgument("mount " + mountpoint + ": --resume needs --rw");
  }
  if (req.foreground) {
    Result<MountOutcome> out = Status::Internal("mount: not ready");
    Status s = ServeMount(req, mountpoint, resume_dir, leftover.discard_dir, false,
                          [&](const Result<MountOutcome>& r) {
                            out = r;
                            lock.Release();
                          });
    if (!out) return out;
    if (!s.ok()) return s;
    return out;
  }
  // No store is open in this process yet, so the child starts with no threads behind it.
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return ErrnoStatus("mount", "pipe", errno);
  pid_t pid = ::fork();
  if (pid < 0) return ErrnoStatus("mount", "fork", errno);
  if (pid == 0) {
    ::close(fds[0]);
    lock.Release();  // the parent holds it until the report
    ::setsid();
    if (::fork() > 0) ::_exit(0);  // not a session leader: never gets a controlling terminal
    int null = ::open("/dev/null", O_RDWR);
    ::dup2(null, 0);
    ::dup2(null, 1);
    ::dup2(null, 2);
    Status s = ServeMount(req, mountpoint, resume_dir, leftover.discard_dir, true,
                          [&](const Result<MountOutcome>& r) {
                            std::string msg = EncodeReady(r);
                            (void)!::write(fds[1], msg.data(), msg.size());
                            ::close(fds[1]);
                          });
    ::_exit(s.ok() ? 0 : 1);
  }
  ::close(fds[1]);
  ::waitpid(pid, nullptr, 0);
  std::string msg = ReadFdToEnd(fds[0]);
  ::close(fds[0]);
  return DecodeReady(msg);
}

Result<UnmountOutcome> UnmountDir(const std::string& repo_dir, const std::string& dir) {
  CAIRN_ASSIGN_OR_RETURN(MountStatus m, FindMount(repo_dir, dir));
  UnmountOutcome out;
  if (!m.live) {
    if (IsMountPoint(m.info.mountpoint)) CAIRN_RETURN_IF_ERROR(Fusermount(m.info.mountpoint, true));
    out.kept_edit = m.dirty && m.info.writable;
    if (!out.kept_edit) {
      auto overlay = Overlay::Open(m.dir);
      if (overlay) CAIRN_RETURN_IF_ERROR((*overlay)->Remove());
    }
    return out;
  }
  CAIRN_RETURN_IF_ERROR(Fusermount(m.info.mountpoint, false));
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (MountProcessLives(m.dir, m.info.pid) && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (MountProcessLives(m.dir, m.info.pid)) {
    return Status::Busy("unmount " + m.info.mountpoint + ": the mount process " +
                        std::to_string(m.info.pid) + " is still finishing");
  }
  struct stat st;
  out.kept_edit = m.info.writable && ::stat((m.dir + "/info").c_str(), &st) == 0;
  return out;
}

Result<CommitOutcome> CommitMount(const std::string& repo_dir, const std::string& dir,
                                  const CommitRequest& req) {
  CAIRN_ASSIGN_OR_RETURN(MountStatus m, FindMount(repo_dir, dir));
  if (!m.live) {
    return Status::InvalidArgument("commit " + m.info.mountpoint +
                                   ": its mount process has ended; mount it again with --rw "
                                   "--resume to commit the edit");
  }
  CAIRN_ASSIGN_OR_RETURN(Message reply,
                         CallControl(m.dir + "/ctl.sock", CommitRequestMessage(req)));
  return DecodeCommitReply(reply);
}

Status DiscardMount(const std::string& repo_dir, const std::string& dir) {
  CAIRN_ASSIGN_OR_RETURN(MountStatus m, FindMount(repo_dir, dir));
  if (!m.info.writable) {
    return Status::InvalidArgument("discard " + m.info.mountpoint + ": a read-only mount has no edit");
  }
  CAIRN_ASSIGN_OR_RETURN(UnmountOutcome u, UnmountDir(repo_dir, dir));
  if (u.kept_edit) {
    CAIRN_ASSIGN_OR_RETURN(auto overlay, Overlay::Open(m.dir));
    CAIRN_RETURN_IF_ERROR(overlay->Remove());
  }
  if (!m.live) return Status();
  MountRequest again;
  again.repo_dir = repo_dir;
  again.spec = m.info.version;
  again.mountpoint = m.info.mountpoint;
  again.writable = true;
  return MountVersion(again).status();
}

Result<std::vector<ObjectId>> GcRoots(cas::Repository& repo) {
  CAIRN_ASSIGN_OR_RETURN(std::vector<ObjectId> roots, catalog::Catalog(repo.store()).AllVersionIds());
  CAIRN_ASSIGN_OR_RETURN(std::vector<MountStatus> mounts, ListMounts(repo.dir()));
  for (const auto& m : mounts) {
    if (std::find(roots.begin(), roots.end(), m.info.base) != roots.end()) continue;
    if (repo.store()->Info(m.info.base)) roots.push_back(m.info.base);
  }
  return roots;
}

}  // namespace cairn::vmount
