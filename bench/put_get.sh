#!/usr/bin/env bash
# put_get.sh: the whole-workload benchmark of `cairn put` and `cairn get` against their peers
# (sha256sum, zstd -3 -T0, zstd -d) on one 1-2 GiB file of real mixed data, in one run.
#
#   bench/put_get.sh                       # uses $BENCH_DIR/usr.tar, made on first use
#   CAIRN=build/tools/cairn ROUNDS=6 SIZE_MB=1536 BENCH_DIR=/tmp/cairn-bench bench/put_get.sh
#
# Environment:
#   CAIRN      the cairn binary (default: build-bench/tools/cairn beside this script's repo)
#   BENCH_DIR  work directory, on the disk to measure (default /tmp/cairn-bench)
#   INPUT      the input file (default $BENCH_DIR/usr.tar: a tar of /usr, capped at SIZE_MB)
#   SIZE_MB    size of the generated input (default 1536)
#   ROUNDS     rounds of the whole sequence; the table shows the median (default 4: get and
#              zstd -d take turns going first, so an even number)
#   ZSTD_LEVEL passed to `cairn init --zstd-level` (default: the repository default)
#   CACHE      cold: drop the page cache before every timed step (needs root; the default
#              when root), warm: read the input into the cache before every step instead
#
# Every step runs under /usr/bin/time -v (wall time, MaxRSS). Outputs go to files in
# BENCH_DIR (`get` refuses a terminal and renames FILE.cairn-tmp to FILE, so not /dev/null);
# neither cairn nor zstd fsyncs its output, so both leave it in the page cache alike.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CAIRN="${CAIRN:-$here/build-bench/tools/cairn}"
BENCH_DIR="${BENCH_DIR:-/tmp/cairn-bench}"
INPUT="${INPUT:-$BENCH_DIR/usr.tar}"
SIZE_MB="${SIZE_MB:-1536}"
ROUNDS="${ROUNDS:-4}"
if [[ -z "${CACHE:-}" ]]; then
  if [[ -w /proc/sys/vm/drop_caches ]]; then CACHE=cold; else CACHE=warm; fi
fi

init_args=()
[[ -n "${ZSTD_LEVEL:-}" ]] && init_args=(--zstd-level "$ZSTD_LEVEL")

die() { echo "put_get.sh: $*" >&2; exit 1; }
[[ -x "$CAIRN" ]] || die "no cairn binary at $CAIRN (build it, or set CAIRN)"
command -v zstd >/dev/null || die "zstd is not installed"
[[ -x /usr/bin/time ]] || die "/usr/bin/time is not installed (apt-get install time)"
((ROUNDS % 2 == 0)) || echo "put_get.sh: warning: ROUNDS=$ROUNDS is odd: zstd -d goes first in one round more than get" >&2
if [[ "$CACHE" == cold && ! -w /proc/sys/vm/drop_caches ]]; then
  die "CACHE=cold needs root (writes /proc/sys/vm/drop_caches)"
fi
mkdir -p "$BENCH_DIR"

if [[ ! -f "$INPUT" ]]; then
  echo "making $INPUT: tar of /usr/bin /usr/include /usr/share /usr/lib, first $SIZE_MB MiB"
  # A cut tar is still real mixed data: executables, libraries, headers, text, locales, images.
  (tar --sort=name -cf - -C / usr/bin usr/include usr/share usr/lib 2>/dev/null || true) |
    head -c $((SIZE_MB << 20)) >"$INPUT.part"
  mv "$INPUT.part" "$INPUT"
fi
size=$(stat -c %s "$INPUT")

repo="$BENCH_DIR/put_get.repo"
zout="$BENCH_DIR/put_get.zst"
zdec="$BENCH_DIR/put_get.unzst"
gout="$BENCH_DIR/put_get.get"
tfile="$BENCH_DIR/put_get.time"
cleanup() { rm -rf "$repo" "$zout" "$zdec" "$gout" "$gout.cairn-tmp" "$tfile"; }
trap cleanup EXIT

prepare() {  # before each timed step
  sync
  if [[ "$CACHE" == cold ]]; then
    echo 3 >/proc/sys/vm/drop_caches
  else
    cat "$INPUT" >/dev/null
  fi
}

declare -A wall rss
# run NAME CMD...: times CMD (stdout to $BENCH_DIR/NAME.out) and appends wall s and MaxRSS KiB.
run() {
  local name=$1
  shift
  prepare
  /usr/bin/time -v -o "$tfile" "$@" >"$BENCH_DIR/$name.out" ||
    die "$name failed: $* (see $BENCH_DIR/$name.out)"
  local e m
  e=$(awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,p,":"); s=0; for(i=1;i<=n;i++) s=s*60+p[i]; print s}' "$tfile")
  m=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$tfile")
  wall[$name]+="$e "
  rss[$name]+="$m "
}
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
maxof() { tr ' ' '\n' | grep -v '^$' | sort -g | tail -1; }
store_bytes() { du -sb "$repo" | cut -f1; }
stored_objects() { "$CAIRN" stats --repo "$repo" | awk '/^objects/ {print $2}'; }

echo "put_get.sh  $("$CAIRN" --version)  $CAIRN"
echo "CPU: $(nproc) x $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')   kernel $(uname -r)"
echo "$(sha256sum --version | head -1); $(zstd --version)"
echo "input: $INPUT ($((size / 1000000)) MB); rounds: $ROUNDS (median shown); cache: $CACHE; zstd level: ${ZSTD_LEVEL:-default}"
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
[[ "$(basename "$(dirname "$(dirname "$CAIRN")")")" == *debug* ]] && echo "WARNING: $CAIRN looks like a debug build"

run_zstd_d() {
  run zstd_d sh -c 'zstd -d -q -c "$1" >"$2"' _ "$zout" "$zdec"
  rm -f "$zdec"
}
run_get() {
  run get "$CAIRN" get --repo "$repo" "$id" -o "$gout"
  if ((r == 1)); then cmp -s "$INPUT" "$gout" || die "get returned other bytes than were put"; fi
  rm -f "$gout"
}

grow_max=0
for ((r = 1; r <= ROUNDS; r++)); do
  rm -rf "$repo" "$zout" "$zdec" "$gout"
  run sha256sum sha256sum "$INPUT"
  run zstd_c sh -c 'zstd -3 -T0 -q -c "$1" >"$2"' _ "$INPUT" "$zout"
  "$CAIRN" init --repo "$repo" "${init_args[@]}" >/dev/null
  run put1 "$CAIRN" put --repo "$repo" "$INPUT"
  id=$(cat "$BENCH_DIR/put1.out")
  before=$(store_bytes)
  objects_before=$(stored_objects)
  run put2 "$CAIRN" put --repo "$repo" "$INPUT"
  after=$(store_bytes)
  objects_after=$(stored_objects)
  [[ "$(cat "$BENCH_DIR/put2.out")" == "$id" ]] || die "second put printed another id"
  [[ "$objects_after" == "$objects_before" ]] || die "second put added objects ($objects_before -> $objects_after)"
  grow=$((after - before))
  ((grow > grow_max)) && grow_max=$grow
  # get and zstd -d run back to back, in turns first, so a change in the machine's load (it is
  # shared) falls on both alike. Each output is deleted right after its step, so the second of
  # the pair, whichever it is, takes page-cache pages freed a moment before (by that deletion
  # and the cache drop), as the first takes those freed by the steps before it. That matters
  # here: pages left free for a few seconds go back to the host (virtio-balloon free page
  # reporting), and the next first touch of each costs a host fault. A get right after another
  # get: 1.87-2.17 s, 0.5-0.8 s system time; after zstd -d or a 5 s pause: 1.93-2.98 s, 1.0-2.2 s
  # system time, its page-cache copies 3x slower (session 11).
  if ((r % 2)); then
    run_zstd_d
    run_get
  else
    run_get
    run_zstd_d
  fi
  if ((r == 1)); then
    repo_size=$after
    zst_size=$(stat -c %s "$zout")
  fi
  printf 'round %d done: put1 %ss put2 %ss get %ss; store %d -> %d bytes (%d objects)\n' \
    "$r" "$(echo "${wall[put1]}" | awk '{print $NF}')" "$(echo "${wall[put2]}" | awk '{print $NF}')" \
    "$(echo "${wall[get]}" | awk '{print $NF}')" "$before" "$after" "$objects_after"
done

mb() { awk -v s="$size" -v t="$1" 'BEGIN {printf "%.0f", s / 1e6 / t}'; }
declare -A t m
for k in sha256sum zstd_c zstd_d put1 put2 get; do
  t[$k]=$(echo "${wall[$k]}" | median)
  m[$k]=$(echo "${rss[$k]}" | maxof)
done

echo
printf '%-34s %8s %8s %10s   %s\n' step "wall s" "MB/s" "MaxRSS MiB" "all rounds (s)"
row() { printf '%-34s %8.2f %8s %10.1f   %s\n' "$1" "${t[$2]}" "$(mb "${t[$2]}")" "$(awk -v k="${m[$2]}" 'BEGIN {print k / 1024}')" "${wall[$2]}"; }
row "sha256sum FILE" sha256sum
row "zstd -3 -T0 -c FILE > out.zst" zstd_c
row "zstd -d -c out.zst > file" zstd_d
row "cairn put FILE (empty repository)" put1
row "cairn put FILE (again)" put2
row "cairn get ID -o file" get
echo "sizes: input $size, zstd -3 $zst_size ($(awk -v a="$zst_size" -v b="$size" 'BEGIN {printf "%.3f", a / b}')), repository after put $repo_size ($(awk -v a="$repo_size" -v b="$size" 'BEGIN {printf "%.3f", a / b}'))"
echo

verdict() { awk -v v="$1" -v g="$2" 'BEGIN {print (v >= g) ? "PASS" : "MISS"}'; }
slower=$(awk -v a="${t[sha256sum]}" -v b="${t[zstd_c]}" 'BEGIN {print (a > b) ? a : b}')
r_put=$(awk -v p="${t[put1]}" -v s="$slower" 'BEGIN {printf "%.2f", s / p}')
r_again=$(awk -v a="${t[put1]}" -v b="${t[put2]}" 'BEGIN {printf "%.2f", a / b}')
r_get=$(awk -v g="${t[get]}" -v z="${t[zstd_d]}" 'BEGIN {printf "%.2f", z / g}')
rss_put=$(awk -v a="${m[put1]}" -v b="${m[put2]}" 'BEGIN {printf "%.1f", ((a > b) ? a : b) / 1024}')
rss_get=$(awk -v a="${m[get]}" 'BEGIN {printf "%.1f", a / 1024}')
printf '%-58s %8s %8s  %s\n' target measured goal verdict
printf '%-58s %7sx %7sx  %s\n' "put vs slower of sha256sum, zstd -3 -T0 (throughput)" "$r_put" 0.7 "$(verdict "$r_put" 0.7)"
printf '%-58s %7sx %7sx  %s\n' "put again: speed-up over the first put" "$r_again" 3 "$(verdict "$r_again" 3)"
# The second put opens the database again: RocksDB adds an OPTIONS file, a MANIFEST and an
# info LOG (a few KiB). "Does not grow" means no object is added and the growth stays < 1 MiB.
printf '%-58s %8s %8s  %s\n' "put again: store growth (bytes; objects unchanged)" "$grow_max" "<1MiB" "$( ((grow_max < 1048576)) && echo PASS || echo MISS)"
printf '%-58s %7sx %7sx  %s\n' "get vs zstd -d (throughput)" "$r_get" 0.8 "$(verdict "$r_get" 0.8)"
echo "  get vs zstd -d, each round's pair: $(paste -d' ' <(echo "${wall[zstd_d]}" | tr ' ' '\n') <(echo "${wall[get]}" | tr ' ' '\n') | awk 'NF == 2 {printf "%.2fx ", $1 / $2}')"
printf '%-58s %8s %8s  %s\n' "peak RSS of put (MiB)" "$rss_put" "<200" "$(awk -v v="$rss_put" 'BEGIN {print (v < 200) ? "PASS" : "MISS"}')"
printf '%-58s %8s %8s  %s\n' "peak RSS of get (MiB)" "$rss_get" "<200" "$(awk -v v="$rss_get" 'BEGIN {print (v < 200) ? "PASS" : "MISS"}')"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
