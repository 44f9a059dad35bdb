// Internal to the tree watcher (indexer/watch.h): the wire protocol between Serve and
// AskWatcher, apart from the sockets, so that tests can hand the decoders what a broken or
// hostile peer might send. Not for use outside indexer/watch*.cc and their tests.
//
// Request: "cairn-watch 1\n", then the root's device and inode in decimal, the token's instance
// ("-" for none), its epoch and the asker's mount namespace (0: unknown), each on a line of its
// own. Answer, after which the watcher
// closes the connection: one header line,
//   "cairn-watch 1 not-mine\n"                      (it watches another tree at that path)
//   "cairn-watch 1 all INSTANCE EPOCH\n"
//   "cairn-watch 1 dirty INSTANCE EPOCH COUNT\n" then COUNT paths, each ended by a NUL byte
// (a name may hold a newline, never a NUL).
//
// Thread-safety: the functions are thread-safe.
#ifndef CAIRN_INDEXER_WATCH_WIRE_H_
#define CAIRN_INDEXER_WATCH_WIRE_H_

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "indexer/watch.h"

namespace cairn::indexer {

inline constexpr std::string_view kWatchMagic = "cairn-watch 1";

struct WatchRequest {
  dev_t dev = 0;
  ino_t ino = 0;
  WatchToken since;
  // The inode of the asker's /proc/self/ns/mnt (0: unknown): in another mount namespace than
  // the watcher's, the same root may hold other mounts, whose changes the watcher never sees.
  uint64_t mnt_ns = 0;
};

// The inode of this process's mount namespace (/proc/self/ns/mnt); 0 if it cannot be had.
uint64_t OwnMountNamespace();

std::string EncodeWatchRequest(const WatchRequest& r);
// nullopt unless `s` is exactly one well-formed request.
std::optional<WatchRequest> DecodeWatchRequest(std::string_view s);

std::string EncodeWatchAnswer(const WatchReport& r);
// The answer to a question asked with `asked`, or nullopt unless `s` is exactly one
// well-formed answer that could be true: a `dirty` answer must come from the instance asked
// (another would have answered `all`), start an epoch after the one asked, and list its
// directories strictly increasing (sorted, no duplicates), as WatchReport promises.
std::optional<WatchReport> DecodeWatchAnswer(std::string_view s, const WatchToken& asked);

}  // namespace cairn::indexer

#endif  // CAIRN_INDEXER_WATCH_WIRE_H_
