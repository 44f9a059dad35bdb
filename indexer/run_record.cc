#include "indexer/run_record.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <sstream>

#include "indexer/command.h"

namespace cairn::indexer {
namespace {

// Record files are named KIND.N; one being written is KIND.N.new until it is renamed.
constexpr const char* kKindNames[] = {"mount", "loop", "file"};

std::string RunDir() {
  const char* e = std::getenv("CAIRN_RUN_DIR");
  return std::string(e && *e ? e : "/run/cairn") + "/disk";
}

// "PID.START" for the process `pid` (START: its start time in clock ticks after boot, field 22
// of /proc/PID/stat), or nullopt when it is gone or a zombie (it holds nothing any more).
std::optional<std::string> LiveProcessId(const std::string& pid) {
  std::ifstream in("/proc/" + pid + "/stat");
  std::string stat;
  if (!std::getline(in, stat)) return std::nullopt;
  const size_t close = stat.rfind(')');  // the command name may hold anything
  if (close == std::string::npos) return std::nullopt;
  std::istringstream fields(stat.substr(close + 1));
  std::vector<std::string> f;
  for (std::string w; fields >> w;) f.push_back(w);
  // f[0] is field 3 (the state), so field 22 is f[19].
  if (f.size() < 20 || f[0] == "Z" || f[0] == "X") return std::nullopt;
  return pid + "." + f[19];
}

// Whether the process named by the last "PID.START" of `name` ("PID.START" or, once claimed by
// a cleaner, "PID.START-PID.START") still runs.
bool OwnerLives(const std::string& name) {
  const std::string last = name.substr(name.rfind('-') + 1);
  const size_t dot = last.find('.');
  if (dot == std::string::npos) return false;
  std::optional<std::string> now = LiveProcessId(last.substr(0, dot));
  return now && *now == last;
}

std::vector<std::string> Lines(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> out;
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

std::string ReadSys(const std::string& path) {
  std::vector<std::string> l = Lines(path);
  return l.empty() ? "" : l[0];
}

// Lets go of what the record `path` of kind `kind` names; adds what it did to `done`.
void Release(const std::string& kind, const std::string& path, std::vector<std::string>* done) {
  std::vector<std::string> l = Lines(path);
  if (l.empty() || l[0].empty()) return;
  const std::string& what = l[0];
  if (kind == "mount") {
    if (::umount2(what.c_str(), 0) == 0 ||
        (errno == EBUSY && ::umount2(what.c_str(), MNT_DETACH) == 0)) {
      done->push_back("unmounted " + what);
    }
    ::rmdir(what.c_str());
    ::rmdir(what.substr(0, what.rfind('/')).c_str());
  } else if (kind == "loop" && l.size() >= 3 && what.starts_with("/dev/loop")) {
    // Only the device as it was attached: one detached since may serve another image now.
    const std::string sys = "/sys/block/" + what.substr(5) + "/loop/";
    const std::string backing = ReadSys(sys + "backing_file");
    if ((backing == l[1] || backing == l[1] + " (deleted)") && ReadSys(sys + "offset") == l[2]) {
      auto r = RunCommand({"losetup", "--detach", what});
      if (r && r->exit_code == 0) done->push_back("detached " + what);
    }
  } else if (kind == "file" && what.find(".cairn-tmp.") != std::string::npos) {
    if (::unlink(what.c_str()) == 0) done->push_back("removed " + what);
  }
}

}  // namespace

std::unique_ptr<RunRecord> RunRecord::Make(Kind kind, const std::string& what,
                                           const std::string& image, uint64_t offset) {
  static std::atomic<uint64_t> counter{0};
  std::unique_ptr<RunRecord> none(new RunRecord(""));
  std::optional<std::string> self = LiveProcessId(std::to_string(::getpid()));
  if (!self) return none;
  const std::string run = RunDir(), dir = run + "/" + *self;
  for (const std::string& d : {run.substr(0, run.rfind('/')), run, dir}) {
    if (::mkdir(d.c_str(), 0700) != 0 && errno != EEXIST) return none;
  }
  const std::string path =
      dir + "/" + kKindNames[static_cast<int>(kind)] + "." + std::to_string(counter.fetch_add(1));
  {
    std::ofstream out(path + ".new", std::ios::trunc);
    out << what << "\n" << image << "\n" << offset << "\n";
    out.flush();
    if (!out) {
      ::unlink((path + ".new").c_str());
      return none;
    }
  }
  // Renamed whole into place: a record cut short by a kill is never taken for a shorter path.
  if (::rename((path + ".new").c_str(), path.c_str()) != 0) {
    ::unlink((path + ".new").c_str());
    return none;
  }
  return std::unique_ptr<RunRecord>(new RunRecord(path));
}

RunRecord::~RunRecord() {
  if (path_.empty()) return;
  ::unlink(path_.c_str());
  // The process's directory goes with its last record (it fails while others remain).
  ::rmdir(path_.substr(0, path_.rfind('/')).c_str());
}

std::vector<std::string> CleanUpAfterDeadProcesses() {
  std::vector<std::string> done;
  if (::geteuid() != 0) return done;
  std::optional<std::string> self = LiveProcessId(std::to_string(::getpid()));
  if (!self) return done;
  const std::string run = RunDir();
  std::vector<std::string> names;
  if (DIR* d = ::opendir(run.c_str())) {
    while (dirent* e = ::readdir(d)) {
      if (e->d_name[0] != '.') names.push_back(e->d_name);
    }
    ::closedir(d);
  }
  for (const std::string& name : names) {
    if (OwnerLives(name)) continue;
    // Claimed by renaming, so that two commands starting at once do not both clean it; a
    // cleaner killed in turn leaves it for the next.
    const std::string claimed = run + "/" + name.substr(0, name.find('-')) + "-" + *self;
    if (::rename((run + "/" + name).c_str(), claimed.c_str()) != 0) continue;
    std::vector<std::string> records;
    if (DIR* d = ::opendir(claimed.c_str())) {
      while (dirent* e = ::readdir(d)) {
        if (e->d_name[0] != '.') records.push_back(e->d_name);
      }
      ::closedir(d);
    }
    // Mounts before loop devices before files: a file may back a device, a device a mount.
    for (const char* kind : kKindNames) {
      for (const std::string& r : records) {
        const std::string path = claimed + "/" + r;
        if (!r.starts_with(std::string(kind) + ".")) continue;
        if (!r.ends_with(".new")) Release(kind, path, &done);
        ::unlink(path.c_str());
      }
    }
    ::rmdir(claimed.c_str());
  }
  return done;
}

}  // namespace cairn::indexer
