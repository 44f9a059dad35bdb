// cairn_make_fixture DIR [SEED]: builds the fidelity tests' full tree (tree_fixture.h, FullSpec:
// every kind of entry and metadata of DESIGN.md's Fidelity section) in DIR, which must be empty
// or missing. For bench/fidelity_peers.sh, which stores the same tree with the peer tools.
// Needs root. Exit 0: built; 1: building failed (the message names the entry); 2: usage.
#include <cstdio>
#include <cstdlib>
#include <string>

#include "tests/indexer/tree_fixture.h"

int main(int argc, char** argv) {
  if (argc < 2 || argc > 3 || std::string(argv[1]) == "--help") {
    std::fprintf(stderr, "usage: cairn_make_fixture DIR [SEED]\n");
    return 2;
  }
  const uint64_t seed = argc == 3 ? std::strtoull(argv[2], nullptr, 10) : 1;
  const std::string err =
      cairn::indexer::testing::TryBuildTree(argv[1], cairn::indexer::testing::FullSpec(seed));
  if (!err.empty()) {
    std::fprintf(stderr, "cairn_make_fixture: %s: %s\n", argv[1], err.c_str());
    return 1;
  }
  return 0;
}
