#!/usr/bin/env bash
# The test command (README): installs the packages (scripts/install-deps.sh), builds cairn
# three times and runs every test: the unit tests under ASan+UBSan, the fuzz targets (clang,
# libFuzzer; fuzz/README.md), then the integration tests (real
# RocksDB repositories, the real CLI, the real Debian corpus of ../shared/corpus) on the
# optimised build. Run as root. Usage: scripts/test.sh [ctest args...].
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)
bash scripts/install-deps.sh
shared=${SHARED:-$PWD/../shared}
export C=${C:-/tmp/corpus}
# The corpus trees for the fidelity tests on a real Debian root (a few minutes, once).
bash "$shared/corpus/make-corpus.sh" trees

cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCAIRN_SANITIZE=ON -DCAIRN_BUILD_BENCH=OFF >/dev/null
# Only the unit-test binaries: the integration tests run on the optimised build below.
ninja -C build-asan -j "$jobs" unit_tests
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
(cd build-asan && ctest -L unit --output-on-failure -j "$jobs" "$@")

# The decoders of untrusted bytes under libFuzzer, each for CAIRN_FUZZ_SECONDS (fuzz/README.md).
CC=clang-14 CXX=clang++-14 cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCAIRN_FUZZ=ON -DCAIRN_FUZZ_SECONDS="${CAIRN_FUZZ_SECONDS:-30}" >/dev/null
ninja -C build-fuzz -j "$jobs" fuzzers
(cd build-fuzz && ctest -L fuzz --output-on-failure -j "$jobs" "$@")

cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
ninja -C build -j "$jobs"
(cd build && ctest -LE unit --output-on-failure "$@")
