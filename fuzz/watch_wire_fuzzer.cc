// The tree watcher's wire protocol (indexer/watch_wire.h) is what a checkin reads from a socket
// another process answers on: an answer it takes must be one the watcher could have given
// (from the instance asked, a later epoch, its directories strictly increasing, no NUL in a
// name), and what it takes must survive its own encoding unchanged. A request the watcher takes
// likewise. Never a crash. The first byte picks the decoder.
#include "fuzz/fuzz_check.h"
#include "indexer/watch_wire.h"

using namespace cairn;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string_view in = fuzz::Bytes(data + 1, size - 1);
  if (data[0] & 1) {
    auto r = indexer::DecodeWatchRequest(in);
    if (!r) return 0;
    auto again = indexer::DecodeWatchRequest(indexer::EncodeWatchRequest(*r));
    FUZZ_CHECK(again && again->dev == r->dev && again->ino == r->ino && again->since == r->since,
               "a request decodes again to itself");
    return 0;
  }
  const indexer::WatchToken asked{"0123456789abcdef0123456789abcdef", 3};
  auto a = indexer::DecodeWatchAnswer(in, asked);
  if (!a) return 0;
  if (!a->all) {
    FUZZ_CHECK(a->token.instance == asked.instance, "a dirty answer from another instance");
    FUZZ_CHECK(a->token.epoch > asked.epoch, "a dirty answer of no later epoch");
    for (size_t i = 0; i < a->dirty.size(); ++i) {
      FUZZ_CHECK(a->dirty[i].find('\0') == std::string::npos, "a NUL in a directory name");
      FUZZ_CHECK(i == 0 || a->dirty[i - 1] < a->dirty[i], "directories not strictly increasing");
    }
  } else {
    FUZZ_CHECK(a->dirty.empty(), "an `all` answer that lists directories");
  }
  auto again = indexer::DecodeWatchAnswer(indexer::EncodeWatchAnswer(*a), asked);
  FUZZ_CHECK(again && again->all == a->all && again->token == a->token && again->dirty == a->dirty,
             "an answer decodes again to itself");
  return 0;
}
