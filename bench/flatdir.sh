#!/usr/bin/env bash
# flatdir.sh: peak memory and wall time of cairn on one directory of FILES files (default
# 1,000,000), the shape that holds the most in memory at once: a directory's Tree is made whole
# (issue 3: "a 1,000,000-file tree must not need gigabytes"). With CAIRN_B set, two binaries run
# the same steps alternately in one run, each in its own repository, and the peaks are given
# side by side with their ratio (this machine is shared and noisy).
#
#   CAIRN=build/tools/cairn bench/flatdir.sh
#   CAIRN=/tmp/old/cairn CAIRN_B=build/tools/cairn NAME_BYTES=255 FILES=200000 bench/flatdir.sh
#
# Environment: BENCH_DIR (default /tmp/cairn-bench/flatdir; the tree is kept there and made
# again only when FILES or NAME_BYTES change), FILES, NAME_BYTES (each name's length, 8 to 255;
# default 8), ROUNDS (default 1: each step's peak is nearly the same every time), CHECKOUT (0:
# leave the checkout out; writing a million files takes minutes).
# Steps, each under /usr/bin/time (wall, MaxRSS), page cache warm:
#   checkin      the directory into an empty repository
#   checkin -p   again with --parent after one file changed (every name is statted)
#   ls --json    the directory's listing
#   checkout     the version into an empty directory
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
A_BIN=${CAIRN:-$here/build/tools/cairn}
B_BIN=${CAIRN_B:-}
B=${BENCH_DIR:-/tmp/cairn-bench/flatdir}
FILES=${FILES:-1000000}
NAME_BYTES=${NAME_BYTES:-8}
ROUNDS=${ROUNDS:-1}
CHECKOUT=${CHECKOUT:-1}
die() { echo "flatdir.sh: $*" >&2; exit 1; }
[ -x "$A_BIN" ] || die "no cairn binary at $A_BIN"
[ -z "$B_BIN" ] || [ -x "$B_BIN" ] || die "no cairn binary at $B_BIN"
[ -x /usr/bin/time ] || die "/usr/bin/time is not installed (apt-get install time)"
((NAME_BYTES >= 8 && NAME_BYTES <= 255)) || die "NAME_BYTES must be 8 to 255"
mkdir -p "$B"
T=$B/tree
if [ "$(cat "$B/tree.shape" 2>/dev/null)" != "$FILES $NAME_BYTES" ]; then
  echo "making $T: $FILES files, names of $NAME_BYTES bytes"
  rm -rf "$T" "$B/tree.shape"
  python3 - "$T" "$FILES" "$NAME_BYTES" <<'EOF'
import os, sys
root, n, width = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
os.makedirs(root)
for i in range(n):
    name = f"f{i:07d}".ljust(width, "n")
    fd = os.open(f"{root}/{name}", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.write(fd, f"item {i % 997}\n".encode() * (i % 5))
    os.close(fd)
EOF
  echo "$FILES $NAME_BYTES" >"$B/tree.shape"
fi
changed=$(python3 -c "print('f0000001'.ljust($NAME_BYTES, 'n'))")
cp -p "$T/$changed" "$B/changed.orig"

bins=(a); [ -n "$B_BIN" ] && bins+=(b)
bin_of() { if [ "$1" = a ]; then echo "$A_BIN"; else echo "$B_BIN"; fi; }
declare -A rss wall
step() {  # step BIN NAME CMD...: runs CMD under /usr/bin/time, keeps the largest MaxRSS
  local bin=$1 name=$2; shift 2
  /usr/bin/time -f "%e %M" -o "$B/time" "$@" >"$B/out" 2>"$B/err" ||
    die "$name ($bin) failed: $(tail -3 "$B/err")"
  read -r w k <"$B/time"
  if [ -z "${rss[$bin,$name]:-}" ] || ((k > ${rss[$bin,$name]})); then rss[$bin,$name]=$k; fi
  wall[$bin,$name]=$w
}
for round in $(seq "$ROUNDS"); do
  for bin in "${bins[@]}"; do
    exe=$(bin_of "$bin")
    cp -p "$B/changed.orig" "$T/$changed"
    rm -rf "$B/repo.$bin" "$B/cache.$bin" "$B/out.$bin"
    export CAIRN_CACHE_DIR=$B/cache.$bin
    "$exe" init --repo "$B/repo.$bin" >/dev/null
    step "$bin" "checkin" "$exe" checkin "$T" --repo "$B/repo.$bin" --image flat
    echo "changed in round $round" >>"$T/$changed"
    step "$bin" "checkin -p" "$exe" checkin "$T" --repo "$B/repo.$bin" --image flat --parent flat
    step "$bin" "ls --json" "$exe" ls flat:2 --json --repo "$B/repo.$bin"
    if [ "$CHECKOUT" = 1 ]; then
      step "$bin" "checkout" "$exe" checkout flat:2 "$B/out.$bin" --repo "$B/repo.$bin"
      rm -rf "$B/out.$bin"
    fi
  done
done
cp -p "$B/changed.orig" "$T/$changed"

echo "flatdir.sh: $FILES files in one directory, names of $NAME_BYTES bytes; peak RSS (MiB) and wall (s) of the last round"
if [ -n "$B_BIN" ]; then
  printf '%-12s %10s %10s %8s %9s %9s\n' step "A MiB" "B MiB" "B/A" "A s" "B s"
else
  printf '%-12s %10s %9s\n' step "MiB" "s"
fi
steps=("checkin" "checkin -p" "ls --json"); [ "$CHECKOUT" = 1 ] && steps+=("checkout")
for name in "${steps[@]}"; do
  a=${rss[a,$name]}
  if [ -n "$B_BIN" ]; then
    b=${rss[b,$name]}
    printf '%-12s %10.0f %10.0f %8.2f %9s %9s\n' "$name" "$(echo "$a/1024" | bc -l)" \
      "$(echo "$b/1024" | bc -l)" "$(echo "$b/$a" | bc -l)" "${wall[a,$name]}" "${wall[b,$name]}"
  else
    printf '%-12s %10.0f %9s\n' "$name" "$(echo "$a/1024" | bc -l)" "${wall[a,$name]}"
  fi
done
