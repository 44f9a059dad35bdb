// The control channel of a mount process: a unix socket in the overlay directory on which other
// `cairn` processes ask it to commit. One request per connection: the client writes the request
// and shuts down its writing side; the server answers and closes.
//
// Thread-safety: a ControlServer runs its own thread; Stop may be called from another.
#ifndef CAIRN_VMOUNT_CONTROL_H_
#define CAIRN_VMOUNT_CONTROL_H_

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "base/result.h"

namespace cairn::vmount {

// A request or reply: a list of byte strings.
using Message = std::vector<std::string>;

class ControlServer {
 public:
  using Handler = std::function<Message(const Message& request)>;
  // Listens on `path` (replacing a stale socket; any length: a long one is reached through its
  // directory) and serves requests one at a time. A client's request must arrive, and its
  // reply leave, within `client_limit`, so that a client that sends nothing holds no other.
  static Result<std::unique_ptr<ControlServer>> Start(
      const std::string& path, Handler handler,
      std::chrono::milliseconds client_limit = std::chrono::seconds(10));
  ~ControlServer();
  void Stop();

 private:
  ControlServer() = default;
  void Serve();
  int fd_ = -1;
  std::string path_;
  Handler handler_;
  std::chrono::milliseconds client_limit_{0};
  std::thread thread_;
};

// Sends `request` to the server at `path` and returns its reply. IOError when nothing listens.
Result<Message> CallControl(const std::string& path, const Message& request);

}  // namespace cairn::vmount

#endif  // CAIRN_VMOUNT_CONTROL_H_
