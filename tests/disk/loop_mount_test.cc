// LoopMount (indexer/loop_mount.h): a filesystem from an image is mounted where no other user
// reaches it, with nothing in it run as its owner or opened as a device.
#include "indexer/loop_mount.h"

#include <sys/stat.h>

#include <fstream>
#include <sstream>

#include "tests/disk/disk_fixture.h"

namespace cairn::testing {
namespace {

// The options of the mount at `point`, from /proc/self/mountinfo.
std::string MountOptions(const std::string& point) {
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream f(line);
    std::string id, parent, dev, root, mp, opts;
    f >> id >> parent >> dev >> root >> mp >> opts;
    if (mp == point) return opts;
  }
  return "(not mounted)";
}

TEST_F(DiskTest, AnImagesFilesystemIsMountedNosuidNodevNoexecWhereOnlyRootReaches) {
  const std::string image = dir_ + "/fs.raw", src = dir_ + "/src";
  // The image's root lets anyone in, and holds a setuid program.
  Sh("mkdir -p " + src + " && cp /usr/bin/id " + src + "/id && chmod 4755 " + src +
     "/id && chmod 0755 " + src + " && truncate -s 16M " + image + " && mkfs.ext4 -q -F -d " + src +
     " " + image);
  for (bool read_only : {true, false}) {
    auto m = indexer::LoopMount::Mount(image, 0, 16 << 20, read_only);
    ASSERT_TRUE(m) << m.error().ToString();
    const std::string opts = MountOptions((*m)->dir());
    for (const char* o : {"nosuid", "nodev", "noexec"}) {
      EXPECT_NE(opts.find(o), std::string::npos)
          << opts << (read_only ? " (read-only)" : " (read-write)");
    }
    struct stat st;
    const std::string parent = (*m)->dir().substr(0, (*m)->dir().rfind('/'));
    ASSERT_EQ(::stat(parent.c_str(), &st), 0) << parent;
    EXPECT_EQ(st.st_mode & 07777, 0700u) << parent;
    ASSERT_TRUE((*m)->Unmount().ok());
    EXPECT_FALSE(Exists(parent)) << "removed with the mount";
  }
}

}  // namespace
}  // namespace cairn::testing
