#!/usr/bin/env bash
# incremental.sh: warm incremental checkin (`--parent`) of corpus v3 over a working copy of v2,
# against a full checkin of the same tree into an empty repository, phase by phase
# (CAIRN_TIMING), median of ROUNDS runs. With CAIRN_B set, the two binaries run alternately in
# the same rounds, so a change is measured A/B on the same (shared, noisy) machine.
#
#   CAIRN=build/tools/cairn bench/incremental.sh
#   CAIRN=/tmp/old/cairn CAIRN_B=build/tools/cairn ROUNDS=9 bench/incremental.sh
#
# Environment: C (corpus, default /tmp/corpus; needs trees/v2 and trees/v3), BENCH_DIR (default
# /tmp/cairn-bench/incremental), ROUNDS (default 7), FULL_ROUNDS (default 3), WATCH (1: a tree
# watcher, `cairn watch W`, runs from before w:1's checkin, so the incrementals are watched; each
# round then restores the stat cache files only, the watcher's socket lives in the cache
# directory). Unwatched, each binary incrementals over its own w:1 and stat cache (two builds
# may write different cache formats).
# The working copy W is v2 rsynced, checked in as w:1, then brought to v3 by rsync in place of
# the changed files, as an administrator patching a golden tree would: unchanged files keep their
# inodes and ctimes, so the stat cache applies to them. Each round starts from a copy of the
# repository and stat cache saved after w:1. Warm: the page cache is not dropped.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
C=${C:-/tmp/corpus}
B=${BENCH_DIR:-/tmp/cairn-bench/incremental}
A_BIN=${CAIRN:-$here/build/tools/cairn}
B_BIN=${CAIRN_B:-}
ROUNDS=${ROUNDS:-7}
FULL_ROUNDS=${FULL_ROUNDS:-3}
die() { echo "incremental.sh: $*" >&2; exit 1; }
[ -x "$A_BIN" ] || die "no cairn binary at $A_BIN"
[ -z "$B_BIN" ] || [ -x "$B_BIN" ] || die "no cairn binary at $B_BIN"
for v in v2 v3; do [ -d "$C/trees/$v" ] || die "no $C/trees/$v (../shared/corpus/make-corpus.sh)"; done

rm -rf "$B"; mkdir -p "$B"
rsync -aHAX "$C/trees/v2/" "$B/W/"
wpid=
if [ "${WATCH:-0}" = 1 ]; then
  mkdir -p "$B/C"
  CAIRN_CACHE_DIR="$B/C" "$A_BIN" watch "$B/W" 2> "$B/watch.log" &
  wpid=$!
  trap 'kill $wpid 2>/dev/null' EXIT
  for _ in $(seq 300); do grep -q '^watching' "$B/watch.log" && break; sleep 0.1; done
  grep -q '^watching' "$B/watch.log" || die "cairn watch did not start: $(cat "$B/watch.log")"
  CAIRN_CACHE_DIR="$B/C" "$A_BIN" init --repo "$B/R0" >/dev/null
  CAIRN_CACHE_DIR="$B/C" "$A_BIN" checkin "$B/W" --repo "$B/R0" --image w >/dev/null
  mkdir -p "$B/C0"; cp -a "$B/C"/stat-* "$B/C0/"
else
  CAIRN_CACHE_DIR="$B/C0" "$A_BIN" init --repo "$B/R0" >/dev/null
  CAIRN_CACHE_DIR="$B/C0" "$A_BIN" checkin "$B/W" --repo "$B/R0" --image w >/dev/null
  if [ -n "$B_BIN" ]; then  # B's own w:1 and stat cache: the two may write different formats
    CAIRN_CACHE_DIR="$B/C0b" "$B_BIN" init --repo "$B/R0b" >/dev/null
    CAIRN_CACHE_DIR="$B/C0b" "$B_BIN" checkin "$B/W" --repo "$B/R0b" --image w >/dev/null
  fi
fi
rsync -aHAX --delete "$C/trees/v3/" "$B/W/"

bins=(a); [ -n "$B_BIN" ] && bins+=(b)
bin_of() { if [ "$1" = a ]; then echo "$A_BIN"; else echo "$B_BIN"; fi; }
timed() {  # timed LABEL CMD...: the CAIRN_TIMING lines and the wall time, prefixed by LABEL
  local label=$1; shift
  local s e
  # $EPOCHREALTIME, and the phases to a file read afterwards: a `date` or an awk started inside
  # the timed span costs 3-5 ms on this VM.
  s=$EPOCHREALTIME
  CAIRN_TIMING=1 "$@" 2> "$B/timing.txt" >/dev/null
  e=$EPOCHREALTIME
  awk -v l="$label" '$1 == "timing" {print l, $2, $3}' "$B/timing.txt"
  awk -v l="$label" -v a="$s" -v b="$e" 'BEGIN {printf "%s wall %.1f\n", l, (b - a) * 1000}'
}
{
  for _ in $(seq "$ROUNDS"); do
    for v in "${bins[@]}"; do
      # sync: the copy written back now, not by the command's first fsync (trees_peers.sh)
      r0=$B/R0 c0=$B/C0
      if [ "$v" = b ] && [ -z "$wpid" ]; then r0=$B/R0b c0=$B/C0b; fi
      rm -rf "$B/R"; cp -a "$r0" "$B/R"
      if [ -n "$wpid" ]; then cp -a "$c0/." "$B/C/"; else rm -rf "$B/C"; cp -a "$c0" "$B/C"; fi
      sync
      CAIRN_CACHE_DIR="$B/C" timed "$v-incremental" "$(bin_of $v)" checkin "$B/W" --repo "$B/R" --image w -p w:1
    done
  done
  for _ in $(seq "$FULL_ROUNDS"); do
    for v in "${bins[@]}"; do
      rm -rf "$B/RF" "$B/CF"; "$A_BIN" init --repo "$B/RF" >/dev/null; sync
      CAIRN_CACHE_DIR="$B/CF" timed "$v-full" "$(bin_of $v)" checkin "$B/W" --repo "$B/RF" --image w
    done
  done
} | python3 -c '
import collections, statistics, sys
d = collections.OrderedDict()
for line in sys.stdin:
    label, phase, ms = line.split()
    d.setdefault(label, collections.OrderedDict()).setdefault(phase, []).append(float(ms))
for label, phases in d.items():
    print(f"{label:16}", "  ".join(f"{p} {statistics.median(v):.1f}" for p, v in phases.items()), "(ms, medians)")
for v in "ab":
    i, f = d.get(v + "-incremental"), d.get(v + "-full")
    if i and f:
        ri, rf = statistics.median(i["wall"]), statistics.median(f["wall"])
        print(f"{v}: incremental {ri:.0f} ms / full {rf:.0f} ms = {100 * ri / rf:.1f}% (target < 10%)")
'
