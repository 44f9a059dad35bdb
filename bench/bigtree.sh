#!/usr/bin/env bash
# bigtree.sh: cairn on a tree of 1,000,000 files. Issue 3 asks that memory stay bounded
# whatever the tree size ("a 1,000,000-file tree must not need gigabytes"); this measures the
# peak RSS and wall time of every command that walks or rebuilds a whole tree of that size.
#
#   bench/bigtree.sh
#   CAIRN=/tmp/bst/tools/cairn BENCH_DIR=/tmp/cairn-bench/big FILES=1000000 bench/bigtree.sh
#
# Environment:
#   CAIRN      the cairn binary (default: build-bench/tools/cairn beside this script's repo)
#   BENCH_DIR  work directory (default /tmp/cairn-bench/bigtree); the generated tree is kept
#              there between runs (made again only when FILES changes)
#   FILES      files in the tree (default 1000000)
#   RSS_MIB    the bound each command's peak RSS is held to (default 1024: "not gigabytes")
#
# The tree (made once, deterministic): 5% of the files in one flat directory (a 50,000-entry
# Tree), the rest 1,000 to a directory in two levels below ten top directories. Every fifth
# file is empty; the others hold 7-70 bytes that repeat across directories, so some content
# is shared. Every 1,000th file has a hard-link twin. Disk: ~4 KiB per non-empty file.
# Steps, each under /usr/bin/time (wall, MaxRSS), page cache warm, after a sync:
#   checkin        the whole tree into an empty repository
#   checkin -p     again with --parent after 1,000 files changed, 100 added and 100 removed
#   checkin -p watched    again after a patch (2 files changed, 1 added, in 2 directories), with
#                  a tree watcher (`cairn watch`, running since before the first checkin): only
#                  the directories the watcher saw change are looked at
#   checkin -p unwatched  the same size of patch again, the watcher stopped: the whole tree is
#                  statted (the two patches touch the same directories)
#   ls -l --json   the flat directory
#   ls -R --json   the whole version
#   diff           version 1 against version 2
#   checkout dir   the last version (4) into an empty directory (then compared with the tree by rsync -n)
#   checkout tar   version 4 as a tar.zst
#   checkin tar    that tarball, as a new image (it must get version 4's root id)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CAIRN="${CAIRN:-$here/build-bench/tools/cairn}"
B="${BENCH_DIR:-/tmp/cairn-bench/bigtree}"
FILES="${FILES:-1000000}"
RSS_MIB="${RSS_MIB:-1024}"
die() { echo "bigtree.sh: $*" >&2; exit 1; }
[[ -x "$CAIRN" ]] || die "no cairn binary at $CAIRN (build it, or set CAIRN)"
[[ -x /usr/bin/time ]] || die "/usr/bin/time is not installed (apt-get install time)"
mkdir -p "$B"
T=$B/tree

# make: the tree; reset: undo what `change` did; change: 1,000 files changed, 100 added and 100
# removed, as an update would.
tree_py() {
  python3 - "$T" "$FILES" "$1" <<'EOF'
import glob, os, sys
root, n, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3]
flat = n // 20
def content(i):
    return (f"item {i % 997}\n" * (i % 5)).encode() if i % 5 else b""
def write(path, i):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.write(fd, content(i))
    os.close(fd)
def subdir(d):
    top, sub = divmod(d, 100)
    return f"{root}/d{top:02d}/s{sub:03d}"
ndirs = (n - flat + 999) // 1000
changed = [(k % ndirs, (k * 7) % 1000) for k in range(1000)]
changed = [(d, f) for d, f in changed if flat + d * 1000 + f < n]
if mode == "make":
    os.makedirs(f"{root}/flat")
    for i in range(flat):
        write(f"{root}/flat/f{i:06d}", i)
    for d in range(ndirs):
        os.makedirs(subdir(d))
        for k in range(min(1000, n - flat - d * 1000)):
            i = flat + d * 1000 + k
            p = f"{subdir(d)}/f{k:04d}"
            write(p, i)
            if i % 1000 == 0:
                os.link(p, p + ".link")
elif mode == "patch" or mode == "patch2":
    tag = mode
    for d in (1, 2):
        with open(f"{subdir(d)}/f0001", "a") as fh:
            fh.write(f"{tag}\n")
    with open(f"{subdir(1)}/{tag}-new", "w") as fh:
        fh.write(f"{tag}\n")
elif mode == "reset":
    for d, f in changed:
        write(f"{subdir(d)}/f{f:04d}", flat + d * 1000 + f)
    for k in range(100):
        write(f"{subdir(ndirs - 1)}/f{k:04d}", flat + (ndirs - 1) * 1000 + k)
    for p in glob.glob(f"{subdir(ndirs // 2)}/new*"):
        os.unlink(p)
    for d in (1, 2):
        write(f"{subdir(d)}/f0001", flat + d * 1000 + 1)
    for p in glob.glob(f"{subdir(1)}/patch*-new"):
        os.unlink(p)
else:
    for k, (d, f) in enumerate(changed):
        with open(f"{subdir(d)}/f{f:04d}", "a") as fh:
            fh.write(f"changed {k}\n")
    for k in range(100):
        with open(f"{subdir(ndirs // 2)}/new{k}", "w") as fh:
            fh.write(f"new {k}\n")
        os.unlink(f"{subdir(ndirs - 1)}/f{k:04d}")
EOF
}
if [[ "$(cat "$B/tree.files" 2>/dev/null)" != "$FILES" ]]; then
  echo "making $T: $FILES files"
  rm -rf "$T" "$B/tree.files"
  tree_py make
  echo "$FILES" >"$B/tree.files"
fi
tree_py reset  # a run before this one changed the tree

repo=$B/repo
out=$B/out
rm -rf "$repo" "$out" "$out.tar.zst" "$B/cache" "$B/work"
export CAIRN_CACHE_DIR=$B/cache
"$CAIRN" init --repo "$repo" >/dev/null

results=()
# step NAME CMD...: runs CMD under /usr/bin/time; keeps wall s and MaxRSS KiB.
step() {
  local name=$1
  shift
  sync  # the previous step's writeback (a million files) is not this one's time
  /usr/bin/time -f "%e %M" -o "$B/time" "$@" >"$B/$name.out" 2>"$B/$name.err" ||
    die "$name failed: $* (see $B/$name.err)"
  read -r wall rss <"$B/time"
  results+=("$name|$wall|$rss")
  printf '%-16s %8.2f s %8.1f MiB\n' "$name" "$wall" "$(awk -v k="$rss" 'BEGIN {print k / 1024}')"
}

echo "bigtree.sh  $("$CAIRN" --version)  $CAIRN"
echo "tree: $T ($FILES files, $(find "$T" -type d | wc -l) directories)"
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
cat "$T"/flat/* >/dev/null 2>&1 || true

# The watcher runs from before the first checkin, so that each checkin records its token.
"$CAIRN" watch "$T" 2>"$B/watch.log" &
wpid=$!
trap 'kill $wpid 2>/dev/null || true' EXIT
for _ in $(seq 600); do grep -q '^watching' "$B/watch.log" && break; sleep 0.1; done
grep -q '^watching' "$B/watch.log" || die "cairn watch did not start: $(cat "$B/watch.log")"
step checkin "$CAIRN" checkin "$T" --repo "$repo" --image big
tree_py change
step checkin-p "$CAIRN" checkin "$T" --repo "$repo" --image big -p big:1
tree_py patch
step checkin-p-watched env CAIRN_TIMING=1 "$CAIRN" checkin "$T" --repo "$repo" --image big -p big:2 --json
kill $wpid && wait $wpid 2>/dev/null || true
tree_py patch2
step checkin-p-unwatched env CAIRN_TIMING=1 "$CAIRN" checkin "$T" --repo "$repo" --image big -p big:3 --json
step ls-flat "$CAIRN" ls big:4 flat -l --json --repo "$repo"
step ls-all "$CAIRN" ls big:4 -R --json --repo "$repo"
step diff "$CAIRN" diff big:1 big:2 --repo "$repo"
field() { python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$2" <"$B/$1.out"; }
step checkout-dir "$CAIRN" checkout big:4 "$out" --repo "$repo"
step checkout-tar "$CAIRN" checkout big:4 "$out.tar.zst" --format tar.zst --repo "$repo"
step checkin-tar "$CAIRN" checkin "$out.tar.zst" --repo "$repo" --image bigtar

# The checkout is the tree: names, types, sizes, modes, owners, mtimes and hard links.
diffs=$(rsync -aHn --delete -i "$T/" "$out/" | wc -l)
entries=$(python3 -c 'import json,sys; print(len(json.load(sys.stdin)))' <"$B/ls-flat.out")
all_entries=$(grep -c '^  {' "$B/ls-all.out")
changes=$(wc -l <"$B/diff.out")
echo "checkout differs from the tree in $diffs paths (rsync -aHn); ls listed $entries entries in flat/ and $all_entries in all; diff printed $changes lines"
root_of() { "$CAIRN" show "$1" --json --repo "$repo" | python3 -c 'import json,sys; print(json.load(sys.stdin)["root"])'; }
same_root=$([[ "$(root_of big:4)" == "$(root_of bigtar:1)" ]] && echo yes || echo no)
echo "repository $(du -sb "$repo" | cut -f1) bytes; stat cache $(du -sb "$B/cache" | cut -f1) bytes"
# The checkin phase (walk, store, index, record: CAIRN_TIMING), without the repository's open
# and close: the close may wait for a compaction the earlier checkins' tables started.
phases() { awk '$1 == "timing" {printf "%s %s ", $2, $3}' "$B/$1.err"; }
echo "patch watched: watcher '$(field checkin-p-watched watcher)', $(field checkin-p-watched dirs_unwalked) subtrees taken unseen, $(field checkin-p-watched bytes_read) bytes read; unwatched: watcher '$(field checkin-p-unwatched watcher)', $(field checkin-p-unwatched dirs_unwalked) unseen"
echo "  watched phases (ms):   $(phases checkin-p-watched)"
echo "  unwatched phases (ms): $(phases checkin-p-unwatched)"
echo
worst=0
for r in "${results[@]}"; do
  IFS='|' read -r name wall rss <<<"$r"
  ((rss > worst)) && worst=$rss
done
printf '%-58s %8s %8s  %s\n' target measured goal verdict
printf '%-58s %8.0f %8s  %s\n' "peak RSS of any step (MiB)" "$(awk -v k="$worst" 'BEGIN {print k / 1024}')" \
  "<$RSS_MIB" "$( ((worst < RSS_MIB * 1024)) && echo PASS || echo MISS)"
printf '%-58s %8s %8s  %s\n' "checkout identical to the tree (paths rsync would change)" "$diffs" 0 \
  "$( ((diffs == 0)) && echo PASS || echo MISS)"
printf '%-58s %8s %8s  %s\n' "tarball checkin gets the directory checkin's root id" "$same_root" yes \
  "$([[ $same_root == yes ]] && echo PASS || echo MISS)"
wall_of() { for r in "${results[@]}"; do IFS='|' read -r name wall rss <<<"$r"; [[ $name == "$1" ]] && echo "$wall"; done; }
printf '%-58s %8s %8s  %s\n' "patch checkin watched / unwatched (wall)" \
  "$(awk -v a="$(wall_of checkin-p-watched)" -v b="$(wall_of checkin-p-unwatched)" 'BEGIN {printf "%.3f", a / b}')" "" ""
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
