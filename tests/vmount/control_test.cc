// The control channel of a mount process: one request per connection, at any path length, and
// a client that sends nothing holds no other client for longer than the server's limit.
#include "vmount/control.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>

#include "tests/cas/test_util.h"

namespace cairn::vmount {
namespace {

Message Echo(const Message& m) {
  Message out = {"echo"};
  out.insert(out.end(), m.begin(), m.end());
  return out;
}

// A repository may sit at any depth; a socket's address holds 107 bytes of path.
TEST(ControlTest, ASocketPathLongerThanAnAddressHoldsIsServed) {
  cas::testing::TempDir tmp;
  std::string dir = tmp.path();
  while (dir.size() < 200) dir += "/a-directory-of-some-length";
  std::filesystem::create_directories(dir);
  std::string path = dir + "/ctl.sock";
  auto server = ControlServer::Start(path, Echo);
  ASSERT_TRUE(server) << server.error().ToString();
  auto reply = CallControl(path, {"commit", "x"});
  ASSERT_TRUE(reply) << reply.error().ToString();
  EXPECT_EQ(*reply, (Message{"echo", "commit", "x"}));
  (*server)->Stop();
  EXPECT_FALSE(std::filesystem::exists(path)) << "Stop removes the socket";
}

// The server answers one client at a time: one that connected and sent nothing held every
// later request (a commit, an unmount) forever.
TEST(ControlTest, AClientThatSendsNothingHoldsOthersOnlyForTheLimit) {
  cas::testing::TempDir tmp;
  std::string path = tmp.path() + "/ctl.sock";
  auto server = ControlServer::Start(path, Echo, std::chrono::milliseconds(300));
  ASSERT_TRUE(server) << server.error().ToString();
  int idle = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(idle, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::memcpy(a.sun_path, path.c_str(), path.size());
  ASSERT_EQ(::connect(idle, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
  auto start = std::chrono::steady_clock::now();
  auto reply = CallControl(path, {"status"});
  auto took = std::chrono::steady_clock::now() - start;
  ASSERT_TRUE(reply) << reply.error().ToString();
  EXPECT_EQ(*reply, (Message{"echo", "status"}));
  EXPECT_LT(took, std::chrono::seconds(5));
  ::close(idle);
}

}  // namespace
}  // namespace cairn::vmount
