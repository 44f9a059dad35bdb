// The tree watcher's socket between Serve and AskWatcher (indexer/watch.h), its wire format
// (indexer/watch_wire.h), and the mount and file-system checks beside it.
#include "indexer/watch.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/inotify.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>

#include "indexer/dir_scan.h"
#include "indexer/watch_events.h"
#include "indexer/watch_wire.h"
#include "tests/indexer/watch_fixture.h"

namespace cairn::indexer {
namespace {

// Serve on a thread of its own, stopped through a pipe.
class ServeTest : public WatchTest {
 protected:
  void StartServing() {
    StartWatching();
    ASSERT_EQ(::pipe(stop_), 0);
    auto path = WatchSocketPath(cache_, root_);
    ASSERT_TRUE(path);
    socket_ = *path;
    struct stat st;
    ASSERT_EQ(::stat(root_.c_str(), &st), 0);
    dev_ = st.st_dev;
    ino_ = st.st_ino;
    server_ = std::thread([this] { served_ = watcher_->Serve(socket_, stop_[0]); });
    // Until it listens: an answer (the empty token) or the deadline.
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!Ask({}) && std::chrono::steady_clock::now() < deadline) std::this_thread::yield();
  }
  Status StopServing() {
    if (server_.joinable()) {
      EXPECT_EQ(::write(stop_[1], "x", 1), 1);
      server_.join();
    }
    for (int& fd : stop_) {
      if (fd >= 0) ::close(fd);
      fd = -1;
    }
    return served_;
  }
  void TearDown() override {
    (void)StopServing();
    WatchTest::TearDown();
  }
  std::optional<WatchReport> Ask(const WatchToken& since) {
    return AskWatcher(cache_, root_, dev_, ino_, since);
  }

  int stop_[2] = {-1, -1};
  std::string socket_;
  dev_t dev_ = 0;
  ino_t ino_ = 0;
  std::thread server_;
  Status served_;
};

TEST_F(ServeTest, AskWatcherGetsWhatSyncWouldThroughTheSocket) {
  Mkdir(P("a"));
  StartServing();
  auto first = Ask({});
  ASSERT_TRUE(first);
  EXPECT_TRUE(first->all);
  Mkdir(P("a/x\ny"));
  Write(P("a/x\ny/f"));
  auto changed = Ask(first->token);
  ASSERT_TRUE(changed);
  EXPECT_FALSE(changed->all);
  EXPECT_EQ(changed->dirty, (Dirs{"a", "a/x\ny"}));
  auto quiet = Ask(changed->token);
  ASSERT_TRUE(quiet);
  EXPECT_FALSE(quiet->all);
  EXPECT_EQ(quiet->dirty, Dirs{});
  EXPECT_EQ(quiet->token.epoch, changed->token.epoch + 1);
  EXPECT_TRUE(StopServing().ok());
  EXPECT_FALSE(std::filesystem::exists(socket_));
  EXPECT_FALSE(Ask(quiet->token));
}

TEST_F(ServeTest, AWatcherOfAnotherTreeAtThatPathDoesNotAnswer) {
  StartServing();
  ASSERT_TRUE(Ask({}));
  EXPECT_FALSE(AskWatcher(cache_, root_, dev_, ino_ + 1, {}));
  EXPECT_FALSE(AskWatcher(cache_, root_, dev_ + 1, ino_, {}));
}

TEST_F(ServeTest, ASecondWatcherOnTheSameSocketIsRefused) {
  StartServing();
  auto second = TreeWatcher::Start(root_);
  ASSERT_TRUE(second);
  int never[2];
  ASSERT_EQ(::pipe(never), 0);
  Status s = (*second)->Serve(socket_, never[0]);
  EXPECT_EQ(s.code(), Code::kAlreadyExists) << s.ToString();
  EXPECT_NE(s.ToString().find(socket_), std::string::npos) << s.ToString();
  ::close(never[0]);
  ::close(never[1]);
  EXPECT_TRUE(Ask({}));  // the first one still answers
}

TEST_F(ServeTest, AStaleSocketFileIsReplaced) {
  auto path = WatchSocketPath(cache_, root_);
  ASSERT_TRUE(path);
  std::filesystem::create_directories(cache_ + "/watch");
  int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::strcpy(a.sun_path, path->c_str());
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
  ::close(fd);  // the file stays, nobody listens
  EXPECT_FALSE(Ask({}));
  StartServing();
  EXPECT_TRUE(Ask({}));
}

TEST_F(ServeTest, ServeFailsAndRemovesItsSocketWhenTheRootIsRemoved) {
  StartServing();
  ASSERT_TRUE(Ask({}));
  ASSERT_TRUE(std::filesystem::exists(socket_));
  ASSERT_EQ(::rmdir(root_.c_str()), 0);
  server_.join();  // without the stop pipe: the removal ends it
  EXPECT_FALSE(served_.ok());
  EXPECT_NE(served_.ToString().find("the root was removed or moved"), std::string::npos)
      << served_.ToString();
  EXPECT_FALSE(std::filesystem::exists(socket_));
}

TEST_F(ServeTest, AClientThatTricklesItsRequestIsDroppedWithinTheDeadline) {
  StartServing();
  int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::strcpy(a.sun_path, socket_.c_str());
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
  const auto start = std::chrono::steady_clock::now();
  bool dropped = false;
  // A byte every 300 ms: each well within a second, the whole request never
  // complete.
  for (int i = 0; i < 12 && !dropped; ++i) {
    if (::send(fd, "c", 1, MSG_NOSIGNAL) != 1) {  // closed by the watcher
      dropped = true;
      break;
    }
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 300) == 1) {
      char c;
      dropped = ::read(fd, &c, 1) == 0;
    }
  }
  const auto held = std::chrono::steady_clock::now() - start;
  ::close(fd);
  EXPECT_TRUE(dropped);
  EXPECT_LT(held, std::chrono::milliseconds(2500));
  EXPECT_TRUE(Ask({}));
}

TEST_F(ServeTest, AMountWhileServingIsNotVouchedFor) {
  if (::geteuid() != 0) GTEST_SKIP() << "mounting needs root";
  Mkdir(P("m"));
  StartServing();
  auto before = Ask({});
  ASSERT_TRUE(before);
  ASSERT_EQ(::mount("none", P("m").c_str(), "tmpfs", 0, nullptr), 0) << std::strerror(errno);
  // Serve's poll wakes on the mount and consumes its report: the watcher must
  // not forget it.
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  auto after = Ask(before->token);
  ::umount2(P("m").c_str(), MNT_DETACH);
  ASSERT_TRUE(after);
  EXPECT_TRUE(after->all);
}

// The same root seen from another mount namespace may hold other mounts: not the tree watched.
TEST_F(ServeTest, AQuestionFromAnotherMountNamespaceIsNotAnswered) {
  StartServing();
  ASSERT_NE(OwnMountNamespace(), 0u);
  auto ask = [&](uint64_t ns) {
    int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::strcpy(a.sun_path, socket_.c_str());
    EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
    std::string req = EncodeWatchRequest({dev_, ino_, {}, ns});
    EXPECT_EQ(::write(fd, req.data(), req.size()), static_cast<ssize_t>(req.size()));
    std::string answer;
    char buf[256];
    for (ssize_t n; (n = ::read(fd, buf, sizeof(buf))) > 0;) answer.append(buf, n);
    ::close(fd);
    return answer;
  };
  EXPECT_EQ(ask(OwnMountNamespace() + 1), "cairn-watch 1 not-mine\n");
  EXPECT_EQ(ask(OwnMountNamespace()).substr(0, 18), "cairn-watch 1 all ");
}

TEST_F(ServeTest, AClientThatSendsGarbageIsDroppedAndTheWatcherGoesOn) {
  StartServing();
  int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::strcpy(a.sun_path, socket_.c_str());
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
  ASSERT_EQ(::write(fd, "GET / HTTP/1.0\n\n\n\n\n", 19), 19);
  char c;
  EXPECT_EQ(::read(fd, &c, 1), 0);  // closed without an answer
  ::close(fd);
  EXPECT_TRUE(Ask({}));
}

// A `dirty` answer of instance `inst` at `epoch` listing `dirs`, as the watcher
// encodes it.
std::string DirtyAnswer(const std::string& inst, uint64_t epoch, const Dirs& dirs) {
  WatchReport r;
  r.all = false;
  r.token = {inst, epoch};
  r.dirty = dirs;
  return EncodeWatchAnswer(r);
}

TEST(WatchWireTest, AnAnswerRoundTrips) {
  const std::string inst(32, 'a');
  auto r = DecodeWatchAnswer(DirtyAnswer(inst, 5, {"", "a", "a\nb", "b"}), {inst, 4});
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->all);
  EXPECT_EQ(r->token, (WatchToken{inst, 5}));
  EXPECT_EQ(r->dirty, (Dirs{"", "a", "a\nb", "b"}));
  WatchReport all;
  all.token = {std::string(32, 'b'), 1};
  auto a = DecodeWatchAnswer(EncodeWatchAnswer(all), {inst, 4});
  ASSERT_TRUE(a);  // another instance may say it cannot vouch
  EXPECT_TRUE(a->all);
}

TEST(WatchWireTest, ADirtyListNotStrictlyIncreasingIsRejected) {
  const std::string inst(32, 'a');
  EXPECT_FALSE(DecodeWatchAnswer(DirtyAnswer(inst, 5, {"b", "a"}), {inst, 4}));
  EXPECT_FALSE(DecodeWatchAnswer(DirtyAnswer(inst, 5, {"a", "a"}), {inst, 4}));
  EXPECT_FALSE(DecodeWatchAnswer(DirtyAnswer(inst, 5, {"a", "", "b"}), {inst, 4}));
}

TEST(WatchWireTest, ADirtyAnswerOfAnotherInstanceOrNoLaterEpochIsRejected) {
  const std::string inst(32, 'a'), other(32, 'c');
  EXPECT_FALSE(DecodeWatchAnswer(DirtyAnswer(other, 5, {"a"}), {inst, 4}));
  EXPECT_FALSE(DecodeWatchAnswer(DirtyAnswer(inst, 5, {}), {"", 0}));
  EXPECT_FALSE(DecodeWatchAnswer(DirtyAnswer(inst, 4, {"a"}), {inst, 4}));
  EXPECT_FALSE(DecodeWatchAnswer(DirtyAnswer(inst, 3, {"a"}), {inst, 4}));
}

TEST(WatchWireTest, ARequestRoundTripsAndGarbageIsRejected) {
  auto r = DecodeWatchRequest(EncodeWatchRequest({7, 9, {std::string(32, 'f'), 3}, 4026531841}));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->dev, 7u);
  EXPECT_EQ(r->ino, 9u);
  EXPECT_EQ(r->since, (WatchToken{std::string(32, 'f'), 3}));
  EXPECT_EQ(r->mnt_ns, 4026531841u);
  EXPECT_FALSE(DecodeWatchRequest("GET / HTTP/1.0\n\n\n\n\n"));
}

TEST(MountsBeneathTest, TakesTheMountPointsAtOrBeneathTheRootWithTheirEscapesUndone) {
  const std::string table =
      "22 1 8:1 / / rw - ext4 /dev/vda rw\n"
      "30 22 0:5 / /srv/golden rw - ext4 /dev/vdb rw\n"
      "31 30 0:6 / /srv/golden/a\\040b rw - tmpfs none rw\n"
      "32 22 0:7 / /srv/golden-other rw - tmpfs none rw\n"
      "33 31 0:8 / /srv/golden/a\\040b/c\\134d rw - tmpfs none rw\n"
      "34 22 0:9 / /srv/gold rw - tmpfs none rw\n";
  EXPECT_EQ(MountsBeneath(table, "/srv/golden"),
            (Dirs{"/srv/golden", "/srv/golden/a b", "/srv/golden/a b/c\\d"}));
  EXPECT_EQ(MountsBeneath(table, "/srv/golden/a b/c\\d"), Dirs{"/srv/golden/a b/c\\d"});
  EXPECT_EQ(MountsBeneath(table, "/tmp"), Dirs{});
  EXPECT_EQ(MountsBeneath(table, "/").size(), 6u) << "every mount point is beneath /";
  EXPECT_EQ(MountsBeneath("garbage\n\n", "/"), Dirs{});
}

TEST(UnwatchableFilesystemTest, NetworkAndUserSpaceFilesystemsAreNamedOthersAreNot) {
  EXPECT_EQ(UnwatchableFilesystem(0x6969), "NFS");
  EXPECT_EQ(UnwatchableFilesystem(0xFF534D42), "CIFS");
  EXPECT_EQ(UnwatchableFilesystem(0xFE534D42), "SMB2");
  EXPECT_EQ(UnwatchableFilesystem(0x65735546), "FUSE");
  EXPECT_EQ(UnwatchableFilesystem(0x00C36400), "Ceph");
  EXPECT_EQ(UnwatchableFilesystem(0x01021997), "9P");
  EXPECT_EQ(UnwatchableFilesystem(0x5346414F), "AFS");
  EXPECT_FALSE(UnwatchableFilesystem(0xEF53));      // ext4
  EXPECT_FALSE(UnwatchableFilesystem(0x58465342));  // xfs
  EXPECT_FALSE(UnwatchableFilesystem(0x01021994));  // tmpfs
  EXPECT_FALSE(UnwatchableFilesystem(0x794C7630));  // overlayfs
}

TEST(AskWatcherTest, NoSocketMeansNoAnswer) {
  EXPECT_FALSE(AskWatcher("/nonexistent-cache-dir", "/some/root", 1, 2, {}));
}

}  // namespace
}  // namespace cairn::indexer
