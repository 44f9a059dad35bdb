#!/usr/bin/env bash
# trees_peers.sh: the whole-workload benchmark of `cairn checkin` / `cairn checkout` on the real
# corpus (three related Debian root trees v1, v2, v3; /work/shared/corpus) side by side with
# the tools a user would pick instead, in one run:
#   ostree (archive mode), restic, borg (zstd,3), casync (directory mode),
# each storing v1 then v2 then v3 into ONE repository, then restoring v3.
#
#   bench/trees_peers.sh
#   BENCH_DIR=/tmp/cairn-bench/trees2 CAIRN=build-peers/tools/cairn bench/trees_peers.sh
#   SKIP_PEERS=1 bench/trees_peers.sh        # keep $BENCH_DIR/peers, re-measure cairn only
#
# Environment:
#   C           the corpus (default /tmp/corpus; build it with corpus/make-corpus.sh trees)
#   BENCH_DIR   work directory (default /tmp/cairn-bench/trees); results in $BENCH_DIR/peers
#   CAIRN       the cairn binary (default: build-peers/tools/cairn beside this script's repo);
#               copied into $BENCH_DIR first, so a rebuild during the run changes nothing
#   PEERS_SH    the corpus peer script (default ../shared/corpus/peers.sh beside the repo)
#   PEERS       peer tools (default "ostree-archive casync-dir restic borg")
#   SKIP_PEERS  1: reuse the peer rows already in $BENCH_DIR/peers/results.tsv
#   INCR_ROUNDS rounds of the full and incremental v3 checkins, cold and warm (default 5; at
#               least one)
#   IDLE_S      seconds idle before each of the idle rounds (default 5)
#   SKIP_WATCHED   1: do not measure the watched incremental (v3-incr-watched*, below)
#   SKIP_FIDELITY  1: do not run bench/fidelity_peers.sh (the same peers and cairn on the
#               fidelity tests' fixture, which has what the corpus lacks: sockets, holes, ACLs,
#               non-UTF-8 names...); its results join the fidelity line
#
# Method. The peers run through peers.sh unchanged; cairn is measured here THE SAME WAY: every
# tree is bind-mounted at the same path ($C/mnt/root) before it is stored, the page cache is
# dropped before every timed command, each command is timed from its fork to its exit as
# /usr/bin/time -v does for the peers, but to the millisecond (bench/timed.py), and the
# repository is sized with du -sb after each step. Rows go to the same results.tsv (tool=cairn).
# cairn steps:
#   v1, v2 (-p img:1), v3 (-p img:2)  one repository, as the peers (the trees are separate
#                                     copies, so the stat cache cannot hit: every file is read)
#   restore-v3                        cairn checkout img:3 into a fresh directory, then treecmp
#   v3-full                           v3 into a fresh repository, no parent
#   w-v2, v3-incr, v3-incr-paranoid   the incremental case measured honestly (DESIGN.md): a
#                                     working copy W = cp -a v2 is checked in, changed in place
#                                     with rsync -aHAX --delete v3/ W/, and checked in again
#                                     with --parent (timed), then again with --paranoid
#   v3-full-warm, v3-incr-warm        the same full and incremental checkins again WITHOUT
#                                     dropping the page cache (each into a copy of the repository
#                                     and stat cache as they were before its cold run, made after
#                                     it, so that its drop_caches leaves the copy cached): the
#                                     ratio is reported both cold (every step above) and warm
#   v3-full-idle.N, v3-incr-idle.N    the warm steps again, each after IDLE_S seconds idle
#                                     (rounds 1..INCR_ROUNDS): on this VM a command run right
#                                     after another is faster than one run after a pause
#   w-v2-watched, v3-incr-watched.N, -warm.N, -idle.N   the same incremental with a tree
#                                     watcher (`cairn watch`) running since before w:1's checkin
#   v3-full.N, v3-incr.N, ...-warm.N  rounds 2..INCR_ROUNDS of those four, each from the same
#                                     starting state: the ratio is of the rounds' medians (the
#                                     incremental takes ~0.1-0.2 s, where this shared machine's
#                                     noise moves one sample by 10-30%)
# The stat cache is host state outside the repository (docs/format/catalog.md), kept in
# $P/cache/cairn (CAIRN_CACHE_DIR), as peers.sh keeps restic's and borg's caches in $P/cache;
# like theirs it is not in the repository size, and its size is reported.
# Needs root (bind mounts, drop_caches, device nodes). Takes a few minutes.
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
C=${C:-/tmp/corpus}
T=$C/trees
BENCH_DIR=${BENCH_DIR:-/tmp/cairn-bench/trees}
CAIRN_SRC=${CAIRN:-$here/build-peers/tools/cairn}
PEERS_SH=${PEERS_SH:-$here/../shared/corpus/peers.sh}
PEERS=${PEERS:-"ostree-archive casync-dir restic borg"}
P=$BENCH_DIR/peers
MNT=$C/mnt/root
RES=$P/results.tsv

die() { echo "trees_peers.sh: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "needs root (bind mounts, drop_caches, device nodes)"
[ -x "$CAIRN_SRC" ] || die "no cairn binary at $CAIRN_SRC (build it, or set CAIRN)"
[ -r "$PEERS_SH" ] || die "no peers.sh at $PEERS_SH (set PEERS_SH)"
TREECMP=$(dirname "$PEERS_SH")/treecmp.py
[ -r "$TREECMP" ] || die "no treecmp.py beside $PEERS_SH"
for t in v1 v2 v3; do [ -d "$T/$t" ] || die "no tree $T/$t (run make-corpus.sh trees)"; done
[ -x /usr/bin/time ] || die "/usr/bin/time is not installed (apt-get install time)"
for p in $PEERS; do
  case $p in ostree-*) b=ostree ;; casync-*) b=casync ;; *) b=$p ;; esac
  command -v "$b" >/dev/null || die "$b is not installed (scripts/install-deps.sh)"
done

mkdir -p "$BENCH_DIR"
CAIRN=$BENCH_DIR/cairn
cp -f "$CAIRN_SRC" "$CAIRN"
[ -f "$CAIRN_SRC.debug" ] && cp -f "$CAIRN_SRC.debug" "$CAIRN.debug"  # for perf and gdb (gnu_debuglink)
export CAIRN_CACHE_DIR=$P/cache/cairn

log() { printf '[%(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
dropcaches() { sync; if echo 3 > /proc/sys/vm/drop_caches 2>/dev/null; then echo yes; else echo no; fi; }
bindto() { mountpoint -q "$MNT" && umount "$MNT"; mount --bind "$1" "$MNT"; }
unbind() { mountpoint -q "$MNT" && umount "$MNT"; true; }
trap unbind EXIT

# --- header ---------------------------------------------------------------------------------
bdir=$(dirname "$(dirname "$CAIRN_SRC")")
btype=$(sed -n 's/^CMAKE_BUILD_TYPE:STRING=//p' "$bdir/CMakeCache.txt" 2>/dev/null)
flags=$(sed -n 's/^CMAKE_CXX_FLAGS:STRING=//p' "$bdir/CMakeCache.txt" 2>/dev/null)
{
  echo "trees_peers.sh  $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "cairn:  $(git -C "$here" describe --always --dirty 2>/dev/null) ($CAIRN_SRC), build type: ${btype:-unknown}"
  echo "CPU:    $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //') x $(nproc), load: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "corpus: $T (v1 v2 v3: $(for t in v1 v2 v3; do du -sb "$T/$t" | cut -f1; done | paste -sd/) bytes)"
  echo "peers:  $PEERS ($PEERS_SH)"
  case "$btype" in Release|RelWithDebInfo|MinSizeRel) ;; *) echo "WARNING: cairn build type '${btype:-unknown}': optimisation off or assertions on" ;; esac
  case "$flags" in *-O0*|*-fsanitize*) echo "WARNING: CMAKE_CXX_FLAGS='$flags'" ;; esac
  [ "$(dropcaches)" = yes ] || echo "WARNING: cannot drop the page cache: timings are warm"
} | tee "$BENCH_DIR/header.txt"

# --- peers ----------------------------------------------------------------------------------
if [ "${SKIP_PEERS:-0}" != 1 ]; then
  rm -rf "$P"; mkdir -p "$P"
  log "peers: C=$C P=$P bash $PEERS_SH $PEERS"
  C=$C P=$P bash "$PEERS_SH" $PEERS 2> "$BENCH_DIR/peers.stderr" || die "peers.sh failed (see $BENCH_DIR/peers.stderr)"
else
  [ -r "$RES" ] || die "SKIP_PEERS=1 but no $RES"
  grep -v $'^cairn\t' "$RES" > "$RES.tmp" && mv "$RES.tmp" "$RES"
fi
mkdir -p "$P"/{log,time,check,restore}

# --- cairn, measured as peers.sh measures ---------------------------------------------------
# measure TOOL STEP REPO CMD...   (same columns as peers.sh)
# WARM=1 measure ...: without dropping the page cache first (cache_dropped column: "warm").
measure() {
  local tool=$1 step=$2 repo=$3; shift 3
  local tf=$P/time/$tool.$step.time dc rc wall usr sys rss rb=- ra=-
  # Warm runs sync first too, as dropcaches (and peers.sh, before every step) does: each warm
  # run follows a `cp -a` of its starting repository, and without the sync the command's first
  # fsync wrote that copy back (ext4 commits it in the same journal transaction): +10 ms and
  # +16 ms of CPU on a warm incremental of v3, which copies a 70 MB repository (session 18).
  # IDLE=S: S seconds idle after that sync (the "idle" rounds below).
  if [ "${WARM:-0}" = 1 ]; then sync; dc=warm; else dc=$(dropcaches); fi
  if [ -n "${IDLE:-}" ]; then sleep "$IDLE"; dc=idle$IDLE; fi
  log "$tool $step: $*"
  # Timed as GNU time times the peers in peers.sh (its "Elapsed": from the fork of the command
  # to its exit), but to the millisecond: bench/timed.py. (Until session 18 the span was taken
  # around /usr/bin/time with $EPOCHREALTIME, which added time's own start, 4-10 ms here, to
  # cairn's steps only: ~8% of an incremental checkin.)
  /usr/bin/python3 "$here/bench/timed.py" "$tf" "$@" > "$P/log/$tool.$step.log" 2>&1; rc=$?
  wall=$(awk -F': ' '/^Wall seconds/{printf "%.3f", $2}' "$tf")
  usr=$(awk -F': ' '/User time/{print $2}' "$tf"); sys=$(awk -F': ' '/System time/{print $2}' "$tf")
  rss=$(awk -F': ' '/Maximum resident set size/{print $2}' "$tf")
  if [ "$repo" != - ]; then rb=$(du -sb "$repo" | cut -f1); ra=$(du -s --block-size=1 "$repo" | cut -f1); fi
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$tool" "$step" "$rc" "$wall" "$usr" "$sys" "$rss" "$rb" "$ra" "$dc" "$*" >> "$RES"
  [ "$rc" = 0 ] || log "  -> rc=$rc (see $P/log/$tool.$step.log)"
  return 0
}

check_tree() {  # check_tree TOOL DIR: as peers.sh does
  local tool=$1 d=$2 out=$P/check/$1.txt
  {
    echo "== $tool: restored $d vs $T/v3"
    echo "-- rsync -aHAXc -n -i --delete $T/v3/ $d/   (itemized differences; empty = identical)"
    rsync -aHAXc -n -i --delete "$T/v3/" "$d/" > "$P/check/$tool.rsync" 2>&1
    echo "lines: $(wc -l < "$P/check/$tool.rsync")"
    head -15 "$P/check/$tool.rsync"
    echo "-- attribute check (python, per path)"
    /usr/bin/python3 "$TREECMP" "$T/v3" "$d"
  } > "$out" 2>&1
}

tool=cairn R=$P/cairn
rm -rf "$R" "$R-full" "$R-incr" "$R-full-warm" "$R-incr-warm" "$R-incr-base" "$R-full-base" "$P/restore/cairn" "$BENCH_DIR/W" "$CAIRN_CACHE_DIR"
measure $tool init "$R" "$CAIRN" init --repo "$R"
parent=""
for t in v1 v2 v3; do
  bindto "$T/$t"
  measure $tool $t "$R" "$CAIRN" checkin "$MNT" --repo "$R" --image img $parent --json
  parent="-p img:${t#v}"
done
unbind
measure $tool restore-v3 - "$CAIRN" checkout img:3 "$P/restore/cairn" --repo "$R"
"$CAIRN" stats --json --repo "$R" > "$P/cairn-stats.json" 2>&1
echo "cairn stat cache: $(du -sb "$CAIRN_CACHE_DIR" | cut -f1) bytes" > "$P/check/cairn-cache.txt"
check_tree $tool "$P/restore/cairn"

# The steps the incremental ratio is made of, each from the same starting state, copied right
# before it (a warm run's copy made before a cold run would be left on disk only by the cold
# run's drop_caches). WARM and IDLE pass through to measure.
full_v3() {  # full_v3 STEP REPO: a full checkin of v3 into a fresh copy of the empty repository
  rm -rf "$2"; cp -a "$R-full-base" "$2"
  bindto "$T/v3"
  measure $tool "$1" "$2" "$CAIRN" checkin "$MNT" --repo "$2" --image img --json
}
incr_v3() {  # incr_v3 STEP REPO: W (v3 over w:1) checked in again from the state before the first
  rm -rf "$2"; cp -a "$R-incr-base" "$2"
  rm -rf "$CAIRN_CACHE_DIR"; cp -a "$P/cache/cairn-before-incr" "$CAIRN_CACHE_DIR"
  bindto "$BENCH_DIR/W"
  measure $tool "$1" "$2" "$CAIRN" checkin "$MNT" --repo "$2" --image w -p w:1 --json
}

# a full checkin of v3: fresh repository, no parent
"$CAIRN" init --repo "$R-full-base" > /dev/null
full_v3 v3-full "$R-full"
WARM=1 full_v3 v3-full-warm "$R-full-warm"
unbind

# incremental, on a tree changed in place: W = cp -a v2; check in; rsync v3 over it; check in
"$CAIRN" init --repo "$R-incr" > /dev/null
cp -a "$T/v2" "$BENCH_DIR/W"
bindto "$BENCH_DIR/W"
measure $tool w-v2 "$R-incr" "$CAIRN" checkin "$MNT" --repo "$R-incr" --image w --json
unbind
rsync -aHAX --delete --itemize-changes "$T/v3/" "$BENCH_DIR/W/" > "$P/log/cairn.rsync-v3-into-W.log" 2>&1
cp -a "$R-incr" "$R-incr-base"
cp -a "$CAIRN_CACHE_DIR" "$P/cache/cairn-before-incr"
bindto "$BENCH_DIR/W"
measure $tool v3-incr "$R-incr" "$CAIRN" checkin "$MNT" --repo "$R-incr" --image w -p w:1 --json
# warm: the same checkin (same repository state, same stat cache) right after the cold one
WARM=1 incr_v3 v3-incr-warm "$R-incr-warm"
measure $tool v3-incr-paranoid "$R-incr" "$CAIRN" checkin "$MNT" --repo "$R-incr" --image w -p w:2 --paranoid --json
unbind
# More rounds of the four steps the incremental ratio is made of.
for ((r = 2; r <= ${INCR_ROUNDS:-5}; r++)); do
  full_v3 v3-full.$r "$R-full"
  WARM=1 full_v3 v3-full-warm.$r "$R-full-warm"
  incr_v3 v3-incr.$r "$R-incr"
  WARM=1 incr_v3 v3-incr-warm.$r "$R-incr-warm"
  unbind
done
# The warm steps again, each after IDLE_S seconds idle: on this VM a short command run after a
# pause is slower than one run right after another (cold caches, halted vCPUs, and memory the
# host has taken back: docs/benchmarks.md, sessions 18 and 19).
for ((r = 1; r <= ${INCR_ROUNDS:-5}; r++)); do
  WARM=1 IDLE=${IDLE_S:-5} full_v3 v3-full-idle.$r "$R-full-warm"
  WARM=1 IDLE=${IDLE_S:-5} incr_v3 v3-incr-idle.$r "$R-incr-warm"
  unbind
done
rm -rf "$P/cache/cairn-before-incr" "$R-incr-base" "$R-full-base"
rm -rf "$BENCH_DIR/W"

# Watched: the same incremental checkin with a tree watcher (`cairn watch`, indexer/watch.h)
# following W from before w:1's checkin, so that the checkin stats only the directories that
# changed. W stays bound at $MNT throughout (the watcher runs on that path; rsync writes through
# $BENCH_DIR/W, the same inodes). Each round restores the stat cache file only: the watcher's
# socket lives in the cache directory too. The watcher's inotify watches keep the directories'
# inodes in memory through drop_caches (not their blocks, nor the files' inodes): that is part
# of what a running watcher buys. The full checkins of v3 above are the denominator.
watched_v3() {  # watched_v3 STEP: W (v3 over w:1) checked in again, watched
  rm -rf "$R-watch"; cp -a "$R-watch-base" "$R-watch"
  cp -a "$P/cache/cairn-before-watched/." "$CAIRN_CACHE_DIR/"
  measure $tool "$1" "$R-watch" "$CAIRN" checkin "$MNT" --repo "$R-watch" --image w -p w:1 --json
}
if [ "${SKIP_WATCHED:-0}" != 1 ]; then
  rm -rf "$R-watch" "$R-watch-base" "$P/cache/cairn-before-watched" "$CAIRN_CACHE_DIR"
  cp -a "$T/v2" "$BENCH_DIR/W"
  bindto "$BENCH_DIR/W"
  "$CAIRN" watch "$MNT" 2> "$P/log/cairn.watch.log" &
  wpid=$!
  for _ in $(seq 300); do grep -q '^watching' "$P/log/cairn.watch.log" && break; sleep 0.1; done
  grep -q '^watching' "$P/log/cairn.watch.log" || log "cairn watch did not start: $(cat "$P/log/cairn.watch.log")"
  "$CAIRN" init --repo "$R-watch" > /dev/null
  measure $tool w-v2-watched "$R-watch" "$CAIRN" checkin "$MNT" --repo "$R-watch" --image w --json
  rsync -aHAX --delete "$T/v3/" "$BENCH_DIR/W/" > /dev/null 2>&1
  cp -a "$R-watch" "$R-watch-base"
  mkdir -p "$P/cache/cairn-before-watched"
  cp -a "$CAIRN_CACHE_DIR"/stat-* "$P/cache/cairn-before-watched/"
  for ((r = 1; r <= ${INCR_ROUNDS:-5}; r++)); do
    watched_v3 v3-incr-watched.$r
    WARM=1 watched_v3 v3-incr-watched-warm.$r
    WARM=1 IDLE=${IDLE_S:-5} watched_v3 v3-incr-watched-idle.$r
  done
  kill "$wpid"; wait "$wpid" 2>/dev/null
  unbind
  rm -rf "$R-watch" "$R-watch-base" "$P/cache/cairn-before-watched" "$BENCH_DIR/W"
fi

# treecmp.py compares mtimes to the second and skips the root and symlink times: check those too
for t in cairn $PEERS; do
  d=$P/restore/$t; case $t in restic|borg) d=$d$MNT ;; esac
  [ -d "$d" ] || continue
  /usr/bin/python3 - "$T/v3" "$d" >> "$P/check/$t.txt" 2>&1 <<'EOF'
import os, stat, sys
a, b = sys.argv[1], sys.argv[2]
c = {'mtime_ns(file)': 0, 'mtime_ns(dir)': 0, 'mtime(symlink)': 0, 'sparse lost': 0}
ra, rb = os.lstat(a), os.lstat(b)
root = (ra.st_mode, ra.st_uid, ra.st_gid, ra.st_mtime_ns) != (rb.st_mode, rb.st_uid, rb.st_gid, rb.st_mtime_ns)
sparse = 0
for dp, dns, fns in os.walk(a):
    for n in dns + fns:
        pa = os.path.join(dp, n); pb = os.path.join(b, os.path.relpath(pa, a))
        try: sa, sb = os.lstat(pa), os.lstat(pb)
        except OSError: continue
        if stat.S_IFMT(sa.st_mode) != stat.S_IFMT(sb.st_mode): continue
        if stat.S_ISREG(sa.st_mode):
            if sa.st_mtime_ns != sb.st_mtime_ns: c['mtime_ns(file)'] += 1
            if sa.st_blocks * 512 < sa.st_size:
                sparse += 1
                if sb.st_blocks * 512 >= sb.st_size: c['sparse lost'] += 1
        elif stat.S_ISDIR(sa.st_mode) and sa.st_mtime_ns != sb.st_mtime_ns: c['mtime_ns(dir)'] += 1
        elif stat.S_ISLNK(sa.st_mode) and sa.st_mtime_ns != sb.st_mtime_ns: c['mtime(symlink)'] += 1
print('-- nanosecond times, symlink times, sparse files (%d in orig), root directory' % sparse)
for k, v in c.items(): print(f'{k}: {v} differ')
print(f'root dir (mode, owner, mtime_ns): {1 if root else 0} differ')
EOF
done

# --- the same tools on the fidelity fixture ---------------------------------------------------
rm -f "$BENCH_DIR/fidelity/fidelity.json"
if [ "${SKIP_FIDELITY:-0}" != 1 ]; then
  log "fidelity fixture: bench/fidelity_peers.sh"
  BENCH_DIR=$BENCH_DIR/fidelity CAIRN=$CAIRN_SRC PEERS_SH=$PEERS_SH PEERS=$PEERS \
    bash "$here/bench/fidelity_peers.sh" > "$BENCH_DIR/fidelity.log" 2>&1 ||
    log "  -> fidelity_peers.sh failed (see $BENCH_DIR/fidelity.log)"
fi

# --- report ---------------------------------------------------------------------------------
IDLE_S=${IDLE_S:-5} /usr/bin/python3 - "$P" "$BENCH_DIR" "$PEERS" <<'EOF' | tee "$BENCH_DIR/report.md"
import json, os, re, sys
P, B, peers = sys.argv[1], sys.argv[2], sys.argv[3].split()
rows = {}
for line in open(os.path.join(P, 'results.tsv')).read().splitlines()[1:]:
    f = line.split('\t')
    rows[(f[0], f[1])] = dict(rc=f[2], wall=float(f[3] or 'nan'), user=f[4], sys=f[5], rss=f[6],
                              rb=None if f[7] == '-' else int(f[7]), cmd=f[10])

def get(tool, step):
    return rows.get((tool, step))

def cairn_json(step):
    try:
        txt = open(os.path.join(P, 'log', f'cairn.{step}.log')).read()
        return json.loads(txt[txt.index('{'):])
    except Exception:
        return {}

def mb(n): return '-' if n is None else f'{n / 1e6:.1f}'
steps = ['v1', 'v2', 'v3', 'restore-v3']
print('### Per step (wall seconds, repository MB after the step; ratio = cairn / peer)\n')
print('| tool | step | seconds | user+sys s | max RSS MB | repo MB | cairn/peer time | cairn/peer size |')
print('| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |')
for tool in ['cairn'] + peers:
    for s in steps:
        r = get(tool, s)
        if not r: print(f'| {tool} | {s} | (missing) | | | | | |'); continue
        c = get('cairn', s)
        rt = '' if tool == 'cairn' or not c else f'{c["wall"] / r["wall"]:.2f}'
        rs = '' if tool == 'cairn' or not c or not c['rb'] or not r['rb'] else f'{c["rb"] / r["rb"]:.2f}'
        cpu = float(r['user']) + float(r['sys'])
        bad = '' if r['rc'] == '0' else f' (rc={r["rc"]})'
        print(f'| {tool} | {s} | {r["wall"]:.2f}{bad} | {cpu:.2f} | {int(r["rss"]) / 1024:.0f} | {mb(r["rb"])} | {rt} | {rs} |')
print()
print('cairn-only steps:\n')
print('| step | seconds | user+sys s | repo MB | files | files read again (not from stat cache) | root tree |')
print('| --- | ---: | ---: | ---: | ---: | ---: | --- |')
for s in ['v1', 'v2', 'v3', 'v3-full', 'v3-full-warm', 'w-v2', 'v3-incr', 'v3-incr-warm', 'v3-incr-paranoid', 'w-v2-watched', 'v3-incr-watched.1']:
    r, j = get('cairn', s), cairn_json(s)
    if not r: continue
    cpu = float(r['user']) + float(r['sys'])
    files = j.get('files', '?'); cached = j.get('files_cached', 0)
    reread = files - cached if isinstance(files, int) else '?'
    print(f'| {s} | {r["wall"]:.2f} | {cpu:.2f} | {mb(r["rb"])} | {files} | {reread} | {j.get("root", "?")[:12]} |')
print()

# targets
res = []
def verdict(ok): return 'PASS' if ok else 'MISS'
for s in ['v1', 'v2', 'v3']:
    c = get('cairn', s); ps = [(p, get(p, s)) for p in peers if get(p, s) and get(p, s)['rc'] == '0']
    if not c or not ps: res.append((f'checkin {s}', 'n/a', 'missing rows')); continue
    bp, br = min(ps, key=lambda x: x[1]['wall'])
    ratio = c['wall'] / br['wall']
    res.append((f'checkin {s} faster than fastest peer (aim 2x)', verdict(ratio < 1),
                f'cairn {c["wall"]:.2f} s vs {bp} {br["wall"]:.2f} s: ratio {ratio:.2f}' + (' (2x aim met)' if ratio <= 0.5 else ' (2x aim not met)')))
c = get('cairn', 'v3'); ps = [(p, get(p, 'v3')) for p in peers if get(p, 'v3') and get(p, 'v3')['rb']]
if c and ps:
    bp, br = min(ps, key=lambda x: x[1]['rb'])
    res.append(('repository after v3 no larger than smallest peer', verdict(c['rb'] <= br['rb']),
                f'cairn {mb(c["rb"])} MB vs {bp} {mb(br["rb"])} MB: ratio {c["rb"] / br["rb"]:.2f}'))
def rounds(step):  # {round: wall s} of the step's successful runs (rounds 2.. are named STEP.N)
    out = {}
    for (tool, name), r in rows.items():
        if tool != 'cairn' or r['rc'] != '0': continue
        if name == step: out[1] = r['wall']
        elif re.fullmatch(re.escape(step) + r'\.\d+', name): out[int(name.rsplit('.', 1)[1])] = r['wall']
    return out
def median(v):
    v = sorted(v); n = len(v)
    return v[n // 2] if n % 2 else (v[n // 2 - 1] + v[n // 2]) / 2
pa = get('cairn', 'v3-incr-paranoid')
for label, incr, full in [('cold (page cache dropped before each)', 'v3-incr', 'v3-full'),
                          ('warm (page cache kept)', 'v3-incr-warm', 'v3-full-warm'),
                          (f'warm, after {os.environ["IDLE_S"]} s idle', 'v3-incr-idle', 'v3-full-idle'),
                          ('watched (cairn watch running), cold', 'v3-incr-watched', 'v3-full'),
                          ('watched, warm', 'v3-incr-watched-warm', 'v3-full-warm'),
                          (f'watched, warm, after {os.environ["IDLE_S"]} s idle', 'v3-incr-watched-idle', 'v3-full-idle')]:
    i, f = rounds(incr), rounds(full)
    if not i or not f: continue
    mi, mf = median(list(i.values())), median(list(f.values()))
    note = f'; vs --paranoid re-read of the same tree in the same repository {pa["wall"]:.2f} s: {100 * mi / pa["wall"]:.0f}%' if pa and incr == 'v3-incr' else ''
    each = ', '.join(f'{i[r]:.3f}/{f[r]:.3f}' if r in i and r in f else f'{i.get(r, "failed")}/{f.get(r, "failed")}'
                     for r in sorted(set(i) | set(f)))
    res.append((f'incremental v3 (--parent) under 10% of a full checkin of v3, {label}', verdict(mi < 0.1 * mf),
                f'medians of {len(i)} and {len(f)} rounds: {mi:.3f} s vs full {mf:.3f} s: {100 * mi / mf:.1f}% '
                f'(each round, incremental/full s: {each}){note}'))
c = get('cairn', 'restore-v3'); ps = [(p, get(p, 'restore-v3')) for p in peers if get(p, 'restore-v3') and get(p, 'restore-v3')['rc'] == '0']
if c and ps:
    bp, br = min(ps, key=lambda x: x[1]['wall'])
    res.append(('checkout of v3 faster than fastest peer restore', verdict(c['wall'] < br['wall']),
                f'cairn {c["wall"]:.2f} s vs {bp} {br["wall"]:.2f} s: ratio {c["wall"] / br["wall"]:.2f}'))

# fidelity, from check/TOOL.txt (treecmp.py output)
def losses(tool):
    try: txt = open(os.path.join(P, 'check', f'{tool}.txt')).read()
    except OSError: return None, 'no check file'
    out = []
    m = re.search(r'paths: orig=(\d+) restored=(\d+) missing=(\d+) extra=(\d+)', txt)
    if not m: return None, 'no treecmp output'
    if int(m[3]): out.append(f'{m[3]} paths missing')
    if int(m[4]): out.append(f'{m[4]} extra paths')
    for what in ['device nodes', 'setuid files', 'paths with xattrs']:
        m = re.search(rf'{what}: orig=(\d+) restored=(\d+)', txt)
        if m and m[1] != m[2]: out.append(f'{what} {m[2]}/{m[1]}')
    m = re.search(r'hardlink groups: orig=(\d+) kept=(\d+); restored files hardlinked that were not in orig=(\d+)', txt)
    if m and m[1] != m[2]: out.append(f'hardlink groups kept {m[2]}/{m[1]}')
    if m and int(m[3]): out.append(f'{m[3]} files hardlinked that were not')
    for k, n in re.findall(r'^([a-z_/() ,]+): (\d+) differ', txt, re.M):
        if int(n): out.append(f'{k} differs on {n}')
    m = re.search(r'^lines: (\d+)', txt, re.M)
    rs = f'rsync -aHAXc itemizes {m[1]} differences' if m else ''
    return out, rs
for t in ['cairn', 'restic', 'borg']:
    try: print(open(os.path.join(P, 'check', f'{t}-cache.txt')).read().strip() + ' (outside the repository, not in its size)')
    except OSError: pass
print()
print('### Fidelity of the restored v3 (treecmp.py against the original tree)\n')
print('| tool | lost or changed | rsync -aHAXc -n -i |')
print('| --- | --- | --- |')
lost = {}
for tool in ['cairn'] + peers:
    out, rs = losses(tool)
    lost[tool] = out
    print(f'| {tool} | {"nothing" if out == [] else ("; ".join(out) if out else rs)} | {rs} |')
# the fidelity fixture (bench/fidelity_peers.sh): every kind of entry the corpus lacks
try:
    fx = json.load(open(os.path.join(B, 'fidelity', 'fidelity.json')))
    print()
    print(open(os.path.join(B, 'fidelity', 'report.md')).read().strip())
except (OSError, ValueError):
    fx = None
    print('\n(no fidelity fixture run: SKIP_FIDELITY=1, or see fidelity.log)')
def fixture_loss(tool):  # what TOOL lost of the fixture: [] nothing, None not run
    if fx is None: return None
    if tool in fx['failed']: return ['fixture: ' + fx['failed'][tool][0]]
    l = fx['lost'].get(tool)
    return None if l is None else [f'fixture: {k} ({len(v)})' for k, v in sorted(l.items())]
cl = lost.get('cairn')
cf = fixture_loss('cairn')
both = {p: (lost.get(p) or []) + (fixture_loss(p) or []) for p in peers}
allpeers = all(both.values())
res.append(('fidelity: cairn loses nothing where every peer loses something (corpus v3 and the fidelity fixture)',
            verdict(cl == [] and cf == [] and allpeers),
            'cairn: ' + ('nothing lost' if cl == [] else '; '.join(cl or ['no check'])) + ' on the corpus, ' +
            ('nothing' if cf == [] else 'not run' if cf is None else '; '.join(cf)) + ' on the fixture; ' +
            '; '.join(f'{p}: {len(v)} losses' if v else f'{p}: nothing lost' for p, v in both.items())))
print()
print('### Targets\n')
print('| target | result | figures |')
print('| --- | --- | --- |')
for t, v, d in res: print(f'| {t} | {v} | {d} |')
EOF
log "results: $RES, report: $BENCH_DIR/report.md"
