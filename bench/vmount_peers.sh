#!/usr/bin/env bash
# vmount_peers.sh: `cairn vmount` of the corpus version v2 side by side, in one run, with the
# same tree as a plain directory and with `guestmount` of the same disk image.
#
#   bench/vmount_peers.sh
#   CAIRN=build/tools/cairn SKIP_GUESTMOUNT=1 bench/vmount_peers.sh
#
# Environment:
#   C                the corpus (default /tmp/corpus: trees/v2 and images/v2.raw; build them with
#                    ../shared/corpus/make-corpus.sh trees images)
#   BENCH_DIR        work directory (default /tmp/cairn-bench/vmount)
#   CAIRN            the cairn binary (default build/tools/cairn beside this script's repo)
#   SKIP_GUESTMOUNT  1: measure plain and cairn only
#
# Workloads, each timed cold (page cache dropped first) and warm (again at once):
#   find     find DIR | wc -l                    every name
#   du       du -s DIR                           a stat of every file
#   tar      tar cf - DIR | cat >/dev/null       every byte (not `tar cf /dev/null`: GNU tar
#                                                then skips reading file contents)
# and, on a writable mount (a plain empty directory, cairn vmount --rw, guestmount of a copy):
#   create   1,000 small files written by one shell process
#   commit   cairn commit of an edit of 20 files (cairn only)
# guestmount runs libguestfs's appliance under TCG here (no KVM): its start is reported apart.
# Needs root (drop_caches, FUSE). Prints a header, the raw seconds, and ratios to the plain
# directory.
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
C=${C:-/tmp/corpus}
TREE=$C/trees/v2
IMAGE=$C/images/v2.raw
BENCH_DIR=${BENCH_DIR:-/tmp/cairn-bench/vmount}
CAIRN=${CAIRN:-$here/build/tools/cairn}
REPO=$BENCH_DIR/repo

die() { echo "vmount_peers.sh: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "needs root (drop_caches, FUSE mounts)"
[ -x "$CAIRN" ] || die "no cairn binary at $CAIRN (build it, or set CAIRN)"
[ -d "$TREE" ] || die "no tree $TREE (run make-corpus.sh trees)"
if [ "${SKIP_GUESTMOUNT:-0}" != 1 ]; then
  [ -r "$IMAGE" ] || die "no image $IMAGE (run make-corpus.sh images)"
  command -v guestmount >/dev/null || die "guestmount is not installed (libguestfs-tools)"
fi
export LIBGUESTFS_BACKEND=direct

now() { date +%s.%N; }
drop() { sync; echo 3 > /proc/sys/vm/drop_caches; }
# secs CMD...: runs CMD (output discarded) and prints its wall time in seconds.
secs() { local t0; t0=$(now); "$@" >/dev/null 2>&1; awk -v a="$t0" -v b="$(now)" 'BEGIN{printf "%.3f", b-a}'; }
w_find() { find "$1" | wc -l; }
w_du() { du -s "$1"; }
w_tar() { tar cf - -C "$1" . | cat >/dev/null; }
w_create() { mkdir -p "$1/bench-create" && for i in $(seq 1000); do echo "file $i" > "$1/bench-create/f$i"; done; }

cleanup() {
  for m in "$BENCH_DIR"/mnt-*; do
    [ -d "$m" ] && { "$CAIRN" umount "$m" --repo "$REPO" 2>/dev/null; fusermount3 -u -z "$m" 2>/dev/null; }
  done
}
trap cleanup EXIT

cleanup
rm -rf "$BENCH_DIR"
mkdir -p "$BENCH_DIR"/mnt-cairn "$BENCH_DIR"/mnt-cairn-rw "$BENCH_DIR"/mnt-guest "$BENCH_DIR"/mnt-guest-rw "$BENCH_DIR"/plain-rw

echo "# vmount_peers.sh: cairn vmount vs a plain directory vs guestmount, corpus v2"
echo "# cairn:    $("$CAIRN" --version) ($CAIRN)"
echo "# cpu:      $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //') x $(nproc)"
echo "# kernel:   $(uname -r)"
echo "# load:     $(cut -d' ' -f1-3 /proc/loadavg) (1/5/15 min) at start"
echo "# tree:     $TREE ($(du -sh "$TREE" | cut -f1), $(find "$TREE" | wc -l) names)"
grep -q 'CMAKE_BUILD_TYPE:STRING=Release\|CMAKE_BUILD_TYPE:STRING=RelWithDebInfo' \
  "$(dirname "$(dirname "$CAIRN")")/CMakeCache.txt" 2>/dev/null ||
  echo "# WARNING: the cairn build may not be optimised"

"$CAIRN" init --repo "$REPO" >/dev/null || die "init failed"
t=$(secs "$CAIRN" checkin "$TREE" --image v2 --repo "$REPO")
echo "# setup:    checkin of v2 ${t}s (not part of the comparison)"

declare -A R
measure() {  # measure NAME DIR
  local w
  for w in find du tar; do
    drop
    R[$1,$w,cold]=$(secs "w_$w" "$2")
    R[$1,$w,warm]=$(secs "w_$w" "$2")
  done
}

measure plain "$TREE"
drop
t=$(secs "$CAIRN" vmount v2 "$BENCH_DIR/mnt-cairn" --repo "$REPO")
echo "# start:    cairn vmount ${t}s"
measure cairn "$BENCH_DIR/mnt-cairn"
if [ "${SKIP_GUESTMOUNT:-0}" != 1 ]; then
  t=$(secs guestmount -a "$IMAGE" -m /dev/sda --ro "$BENCH_DIR/mnt-guest")
  echo "# start:    guestmount ${t}s (libguestfs appliance under TCG)"
  measure guest "$BENCH_DIR/mnt-guest"
  guestunmount "$BENCH_DIR/mnt-guest" 2>/dev/null
fi

# Writable: 1,000 small files.
R[plain,create,cold]=$(secs w_create "$BENCH_DIR/plain-rw")
"$CAIRN" vmount v2 "$BENCH_DIR/mnt-cairn-rw" --rw --repo "$REPO" >/dev/null || die "rw mount failed"
R[cairn,create,cold]=$(secs w_create "$BENCH_DIR/mnt-cairn-rw")
if [ "${SKIP_GUESTMOUNT:-0}" != 1 ]; then
  cp --sparse=always "$IMAGE" "$BENCH_DIR/v2-copy.raw"
  t=$(secs guestmount -a "$BENCH_DIR/v2-copy.raw" -m /dev/sda "$BENCH_DIR/mnt-guest-rw")
  echo "# start:    guestmount (rw) ${t}s"
  R[guest,create,cold]=$(secs w_create "$BENCH_DIR/mnt-guest-rw")
  guestunmount "$BENCH_DIR/mnt-guest-rw" 2>/dev/null
fi
# Commit: the 1,000 new files are committed first; then an edit of 20 existing files is timed.
t=$(secs "$CAIRN" commit "$BENCH_DIR/mnt-cairn-rw" -m "1000 files" --repo "$REPO")
echo "# commit:   of the 1,000 new files ${t}s"
i=0
for f in "$BENCH_DIR"/mnt-cairn-rw/etc/*; do
  [ -f "$f" ] && [ ! -L "$f" ] || continue
  echo "# edited" >> "$f"; i=$((i + 1)); [ $i = 20 ] && break
done
t=$(secs "$CAIRN" commit "$BENCH_DIR/mnt-cairn-rw" -m "20-file edit" --repo "$REPO")
echo "# commit:   of a 20-file edit ${t}s (target < 1 s)"
"$CAIRN" diff v2:2 v2:3 --stat --repo "$REPO" | sed 's/^/#           /'
echo "# load:     $(cut -d' ' -f1-3 /proc/loadavg) (1/5/15 min) at end"

echo
printf "%-8s %-5s %9s %9s %9s %12s %12s\n" workload cache plain cairn guest cairn/plain guest/cairn
for w in find du tar create; do
  for c in cold warm; do
    p=${R[plain,$w,$c]:-}; [ -n "$p" ] || continue
    k=${R[cairn,$w,$c]:-}; g=${R[guest,$w,$c]:--}
    awk -v w=$w -v c=$c -v p="$p" -v k="$k" -v g="$g" 'BEGIN{
      kr = (p > 0) ? k / p : 0; gr = (g != "-" && k > 0) ? g / k : 0;
      printf "%-8s %-5s %9.3f %9.3f %9s %11.2fx %11s\n", w, c, p, k, g, kr, (g == "-") ? "-" : sprintf("%.1fx", gr) }'
  done
done
echo "# cairn/plain: time ratio (metadata target <= 2x; reading: plain/cairn >= 0.7, i.e. <= 1.43x)"
echo "# guest/cairn: how many times faster cairn is than guestmount (target >= 5x)"
