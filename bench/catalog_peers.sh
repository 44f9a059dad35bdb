#!/usr/bin/env bash
# catalog_peers.sh: the catalog workload of cairn (diff, search, gc) on the real corpus
# (Debian root trees v1, v2, v3; /work/shared/corpus) beside the tools a user would pick
# instead, in one run:
#   diff v2..v3   cairn diff (and --stat) vs ostree diff, restic diff, borg diff (the v1/v2/v3
#                 repositories of peers.sh) and virt-diff on the raw images v2.raw, v3.raw
#   search        cairn search by path, sha256 and package over a library of >= 200 versions
#   gc            a 50-version history in cairn, restic and borg (the same 50 trees), the oldest
#                 25 forgotten, then cairn gc vs restic prune vs borg compact
#
#   bench/catalog_peers.sh
#   BENCH_DIR=/tmp/cairn-bench/catalog2 CAIRN=build-cbench/tools/cairn bench/catalog_peers.sh
#
# Environment:
#   C           the corpus (default /tmp/corpus; trees and images: make-corpus.sh all)
#   BENCH_DIR   work directory (default /tmp/cairn-bench/catalog); report in $BENCH_DIR/report.md
#   CAIRN       the cairn binary (default build-cbench/tools/cairn beside this script's repo),
#               copied into $BENCH_DIR first, so a rebuild during the run changes nothing
#   PEERS_FROM  a peers directory of an earlier trees_peers.sh / peers.sh run holding
#               ostree-archive, restic and borg repositories of v1 v2 v3 (copied, not touched);
#               default /tmp/cairn-bench/trees2/peers; if absent, peers.sh makes them
#   PEERS_SH    the corpus peer script (default ../shared/corpus/peers.sh beside the repo)
#   LIB_VERSIONS  versions in the search library (default 200 variations + v1 v2 v3)
#   GC_VERSIONS   versions in the gc history (default 50; the oldest half is forgotten)
#   VD_TIMEOUT  cap of the single virt-diff run, seconds (default 600; 0 skips it)
#
# Method.
# - Variations: three working copies W1, W2, W3 (cp -a of v1, v2, v3). Variation i changes
#   W_b (b = 1 + (i-1) mod 3) in place: /etc/cairn-bench-variation (the number), /etc/motd (the
#   base motd plus a line) and /var/lib/cairn-bench/blob (256 KiB of fresh random bytes, so
#   forgetting a version leaves something for gc to free). Each variation is a distinct version.
# - gc history: variations 1..GC_VERSIONS are checked into a cairn repository (image var<b>,
#   --parent the previous version of the same image), backed up with restic (its parent snapshot
#   found by path, as W_b keeps its path) and stored with borg create (zstd,3, files cache by
#   path): the same trees in the same order. The cairn repository is then copied to make the
#   library, which gets v1 v2 v3 as img:1..3 and the remaining variations.
# - diff and search: hyperfine (--warmup 3) for cairn, hyperfine (--warmup 1, 5 runs) for the
#   peer diffs, so both sides are warm; then one cold run each (page cache dropped) under
#   /usr/bin/time -v. Ratios are of the same run.
# - gc: rm + purge in cairn, restic forget, borg delete of the same 25 (untimed, recorded),
#   then the page cache is dropped and cairn gc, restic prune, borg compact run under
#   /usr/bin/time -v (wall, max RSS); repositories are sized with du -sb before and after.
# Needs root (drop_caches). Takes about 25 minutes, 10 of them the virt-diff run.
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
. "$here/scripts/kvm-env.sh"
C=${C:-/tmp/corpus}
T=$C/trees
I=$C/images
BENCH_DIR=${BENCH_DIR:-/tmp/cairn-bench/catalog}
CAIRN_SRC=${CAIRN:-$here/build-cbench/tools/cairn}
PEERS_FROM=${PEERS_FROM:-/tmp/cairn-bench/trees2/peers}
PEERS_SH=${PEERS_SH:-$here/../shared/corpus/peers.sh}
LIB_VERSIONS=${LIB_VERSIONS:-200}
GC_VERSIONS=${GC_VERSIONS:-50}
VD_TIMEOUT=${VD_TIMEOUT:-600}
P=$BENCH_DIR/peers

die() { echo "catalog_peers.sh: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "needs root (drop_caches, device nodes in the working copies)"
[ -x "$CAIRN_SRC" ] || die "no cairn binary at $CAIRN_SRC (build it, or set CAIRN)"
for t in v1 v2 v3; do [ -d "$T/$t" ] || die "no tree $T/$t (run make-corpus.sh trees)"; done
for b in hyperfine restic borg ostree /usr/bin/time; do command -v "$b" >/dev/null || die "$b is not installed"; done
[ "$GC_VERSIONS" -le "$LIB_VERSIONS" ] || die "GC_VERSIONS must not exceed LIB_VERSIONS"

export RESTIC_PASSWORD=corpus RESTIC_CACHE_DIR=$P/cache/restic
export BORG_CACHE_DIR=$P/cache/borg BORG_CONFIG_DIR=$P/cache/borg-config BORG_SECURITY_DIR=$P/cache/borg-security
export BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK=yes BORG_RELOCATED_REPO_ACCESS_IS_OK=yes
export LIBGUESTFS_BACKEND=direct LC_ALL=C.UTF-8

mkdir -p "$BENCH_DIR"
CAIRN=$BENCH_DIR/cairn
cp -f "$CAIRN_SRC" "$CAIRN"
[ -f "$CAIRN_SRC.debug" ] && cp -f "$CAIRN_SRC.debug" "$CAIRN.debug"  # for perf and gdb (gnu_debuglink)
H=$BENCH_DIR/hf; TM=$BENCH_DIR/time; L=$BENCH_DIR/log
rm -rf "$H" "$TM" "$L"; mkdir -p "$H" "$TM" "$L"
RES=$BENCH_DIR/results.tsv
printf 'tool\tstep\trc\twall_s\tuser_s\tsys_s\tmaxrss_kb\trepo_bytes\tload1\tcommand\n' > "$RES"

log() { printf '[%(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
dropcaches() { sync; if echo 3 > /proc/sys/vm/drop_caches 2>/dev/null; then echo yes; else echo no; fi; }
load1() { cut -d' ' -f1 /proc/loadavg; }
size() { du -sb "$1" | cut -f1; }

# timed TOOL STEP REPO CMD...: one cold run (page cache dropped) under /usr/bin/time -v
timed() {
  local tool=$1 step=$2 repo=$3; shift 3
  local tf=$TM/$tool.$step.time rc wall usr sys rss rb=- ld
  dropcaches > /dev/null; ld=$(load1)
  log "$tool $step: $*"
  /usr/bin/time -v -o "$tf" "$@" > "$L/$tool.$step.log" 2>&1; rc=$?
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/{n=split($2,a,":"); s=0; for(i=1;i<=n;i++) s=s*60+a[i]; print s}' "$tf")
  usr=$(awk -F': ' '/User time/{print $2}' "$tf"); sys=$(awk -F': ' '/System time/{print $2}' "$tf")
  rss=$(awk -F': ' '/Maximum resident set size/{print $2}' "$tf")
  [ "$repo" = - ] || rb=$(size "$repo")
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$tool" "$step" "$rc" "$wall" "$usr" "$sys" "$rss" "$rb" "$ld" "$*" >> "$RES"
  [ "$rc" = 0 ] || log "  -> rc=$rc (see $L/$tool.$step.log)"
  return 0
}

# hf NAME WARMUP RUNS CMD: warm timing with hyperfine (mean/min/max in $H/NAME.json)
hf() {
  local name=$1 warm=$2 runs=$3 cmd=$4
  log "hyperfine $name (load $(load1)): $cmd"
  echo "$(load1)" > "$H/$name.load"
  hyperfine -N --warmup "$warm" --runs "$runs" --export-json "$H/$name.json" "$cmd" > "$H/$name.txt" 2>&1 ||
    hyperfine --warmup "$warm" --runs "$runs" --export-json "$H/$name.json" "$cmd" > "$H/$name.txt" 2>&1 ||
    log "  -> hyperfine $name failed (see $H/$name.txt)"
}

# --- header ---------------------------------------------------------------------------------
bdir=$(dirname "$(dirname "$CAIRN_SRC")")
btype=$(sed -n 's/^CMAKE_BUILD_TYPE:STRING=//p' "$bdir/CMakeCache.txt" 2>/dev/null)
srcdir=$(sed -n 's/^CMAKE_HOME_DIRECTORY:INTERNAL=//p' "$bdir/CMakeCache.txt" 2>/dev/null)
{
  echo "catalog_peers.sh  $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "cairn:  $CAIRN_SRC (source ${srcdir:-?}, $(git -C "${srcdir:-$here}" describe --always --dirty 2>/dev/null || cat "${srcdir:-$here}/COMMIT" 2>/dev/null)), build type: ${btype:-unknown}"
  echo "CPU:    $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //') x $(nproc), load: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "corpus: $T; library $LIB_VERSIONS variations + v1 v2 v3; gc history $GC_VERSIONS"
  echo "peers:  ostree $(ostree --version | sed -n "s/^ *Version: //p"), $(restic version | cut -d' ' -f1-2), $(borg --version), $(virt-diff --version 2>&1), $(hyperfine --version)"
  case "$btype" in Release|RelWithDebInfo|MinSizeRel) ;; *) echo "WARNING: cairn build type '${btype:-unknown}': optimisation off or assertions on" ;; esac
  [ "$(dropcaches)" = yes ] || echo "WARNING: cannot drop the page cache: cold timings are warm"
  awk '$1 > 2 {print "WARNING: load average " $1 " above 2 at the start: the machine is shared"}' /proc/loadavg
} | tee "$BENCH_DIR/header.txt"

# --- peer repositories of v1 v2 v3 ----------------------------------------------------------
rm -rf "$P"; mkdir -p "$P/cache"
if [ -d "$PEERS_FROM/ostree-archive" ] && [ -d "$PEERS_FROM/restic" ] && [ -d "$PEERS_FROM/borg" ]; then
  log "peers: copying ostree-archive, restic, borg repositories from $PEERS_FROM"
  cp -a "$PEERS_FROM"/{ostree-archive,restic,borg} "$PEERS_FROM"/{ostree-archive,restic}.v*.* "$P/"
  [ -d "$PEERS_FROM/cache/restic" ] && cp -a "$PEERS_FROM/cache/restic" "$P/cache/"
else
  [ -r "$PEERS_SH" ] || die "no peer repositories in $PEERS_FROM and no peers.sh at $PEERS_SH"
  log "peers: C=$C P=$P bash $PEERS_SH ostree-archive restic borg"
  C=$C P=$P bash "$PEERS_SH" ostree-archive restic borg 2> "$L/peers.stderr" || die "peers.sh failed"
fi

# --- variations, gc history, library --------------------------------------------------------
W=$BENCH_DIR/w
rm -rf "$W" "$BENCH_DIR"/{gc-cairn,gc-restic,gc-borg,lib} "$P/cache/gc-borg"
mkdir -p "$W"
for b in 1 2 3; do cp -a --reflink=auto "$T/v$b" "$W/v$b"; mkdir -p "$W/v$b/var/lib/cairn-bench"; done
declare -A nver=([1]=0 [2]=0 [3]=0)
vary() {  # vary I: make variation I in its working copy; prints the copy's path
  local i=$1 b=$(( (($1 - 1) % 3) + 1 ))
  local w=$W/v$b
  echo "$i" > "$w/etc/cairn-bench-variation"
  { cat "$T/v$b/etc/motd"; echo "cairn-bench variation $i"; } > "$w/etc/motd"
  head -c 262144 /dev/urandom > "$w/var/lib/cairn-bench/blob"
  echo "$w"
}
cairn_var() {  # cairn_var REPO I DIR: check variation I in as the next version of var<b>
  local repo=$1 i=$2 d=$3 b=$(( (($2 - 1) % 3) + 1 )) p=""
  [ "${nver[$b]}" -gt 0 ] && p="-p var$b:${nver[$b]}"
  "$CAIRN" checkin "$d" --repo "$repo" --image "var$b" -m "variation $i" $p > "$L/checkin.$i.log" 2>&1 ||
    { cat "$L/checkin.$i.log" >&2; die "cairn checkin of variation $i failed"; }
  nver[$b]=$(( nver[$b] + 1 ))
  printf '%s\tvar%s:%s\n' "$i" "$b" "${nver[$b]}" >> "$BENCH_DIR/variations.tsv"
}

GC=$BENCH_DIR/gc-cairn GR=$BENCH_DIR/gc-restic GB=$BENCH_DIR/gc-borg
: > "$BENCH_DIR/variations.tsv"
"$CAIRN" init --repo "$GC" > /dev/null || die "cairn init failed"
restic -r "$GR" init > "$L/gc-restic.init.log" 2>&1 || die "restic init failed"
BORG_CACHE_DIR=$P/cache/gc-borg borg init -e none "$GB" > "$L/gc-borg.init.log" 2>&1 || die "borg init failed"
log "gc history: $GC_VERSIONS variations into cairn, restic and borg"
t0=$SECONDS; declare -A tsum=([cairn]=0 [restic]=0 [borg]=0)
for i in $(seq 1 "$GC_VERSIONS"); do
  d=$(vary "$i")
  s=$(date +%s%N); cairn_var "$GC" "$i" "$d"; e=$(date +%s%N); tsum[cairn]=$(( tsum[cairn] + (e - s) / 1000000 ))
  s=$e; restic -r "$GR" backup --host corpus --tag "var$i" "$d" > "$L/gc-restic.$i.log" 2>&1 || die "restic backup $i failed"
  e=$(date +%s%N); tsum[restic]=$(( tsum[restic] + (e - s) / 1000000 ))
  s=$e; BORG_CACHE_DIR=$P/cache/gc-borg borg create --compression zstd,3 "$GB::var$i" "$d" > "$L/gc-borg.$i.log" 2>&1 || die "borg create $i failed"
  e=$(date +%s%N); tsum[borg]=$(( tsum[borg] + (e - s) / 1000000 ))
done
printf 'history of %s versions, total wall ms: cairn checkin %s, restic backup %s, borg create %s\n' \
  "$GC_VERSIONS" "${tsum[cairn]}" "${tsum[restic]}" "${tsum[borg]}" | tee "$BENCH_DIR/history.txt"

LIB=$BENCH_DIR/lib
cp -a "$GC" "$LIB"
log "library: v1 v2 v3 as img:1..3, then variations $((GC_VERSIONS + 1))..$LIB_VERSIONS"
"$CAIRN" checkin "$T/v1" --repo "$LIB" --image img -m v1 > "$L/lib.v1.log" 2>&1 || die "checkin v1 failed"
"$CAIRN" checkin "$T/v2" --repo "$LIB" --image img -m v2 -p img:1 > "$L/lib.v2.log" 2>&1 || die "checkin v2 failed"
"$CAIRN" checkin "$T/v3" --repo "$LIB" --image img -m v3 -p img:2 > "$L/lib.v3.log" 2>&1 || die "checkin v3 failed"
s=$SECONDS
for i in $(seq $((GC_VERSIONS + 1)) "$LIB_VERSIONS"); do
  d=$(vary "$i"); cairn_var "$LIB" "$i" "$d"
  [ $((i % 25)) = 0 ] && log "  variation $i"
done
log "library done: $((SECONDS - s)) s for $((LIB_VERSIONS - GC_VERSIONS)) checkins"
nlib=$("$CAIRN" images --json --repo "$LIB" | /usr/bin/python3 -c '
import json,sys; j=json.load(sys.stdin); L=j if isinstance(j,list) else j.get("images",[])
print(sum(int(x["versions"]) for x in L))' 2>/dev/null)
echo "library: ${nlib:-?} versions, $(size "$LIB") bytes" | tee "$BENCH_DIR/library.txt"
"$CAIRN" images --repo "$LIB" >> "$BENCH_DIR/library.txt" 2>&1

# --- diff v2..v3 ----------------------------------------------------------------------------
OA=$P/ostree-archive RR=$P/restic RB=$P/borg
o2=$(cat "$P/ostree-archive.v2.rev") o3=$(cat "$P/ostree-archive.v3.rev")
r2=$(cat "$P/restic.v2.snap") r3=$(cat "$P/restic.v3.snap")
"$CAIRN" diff img:2 img:3 --repo "$LIB" > "$L/cairn.diff.out" 2>&1
"$CAIRN" diff img:2 img:3 --stat --repo "$LIB" > "$L/cairn.diff-stat.out" 2>&1
ostree --repo="$OA" diff "$o2" "$o3" > "$L/ostree.diff.out" 2>&1
restic -r "$RR" diff "$r2" "$r3" > "$L/restic.diff.out" 2>&1
borg diff "$RB::v2" v3 > "$L/borg.diff.out" 2>&1
borg diff --content-only "$RB::v2" v3 > "$L/borg.diff-content-only.out" 2>&1
hf cairn-diff 3 30 "$CAIRN diff img:2 img:3 --repo $LIB"
hf cairn-diff-stat 3 30 "$CAIRN diff img:2 img:3 --stat --repo $LIB"
hf cairn-help 3 30 "$CAIRN --help"
hf ostree-diff 1 5 "ostree --repo=$OA diff $o2 $o3"
hf restic-diff 1 5 "restic -r $RR diff $r2 $r3"
hf borg-diff 1 5 "borg diff $RB::v2 v3"
hf borg-diff-content-only 1 5 "borg diff --content-only $RB::v2 v3"
timed cairn diff-cold - "$CAIRN" diff img:2 img:3 --repo "$LIB"
timed cairn diff-stat-cold - "$CAIRN" diff img:2 img:3 --stat --repo "$LIB"
timed ostree diff-cold - ostree --repo="$OA" diff "$o2" "$o3"
timed restic diff-cold - restic -r "$RR" diff "$r2" "$r3"
timed borg diff-cold - borg diff "$RB::v2" v3

# --- search ---------------------------------------------------------------------------------
ls_sha=$(sha256sum "$T/v1/usr/bin/ls" | cut -d' ' -f1)
q_path_name=(--path 'libssl.so*'); q_path_glob=(--path 'usr/lib/*/libssl.so.3')
q_sha256=(--sha256 "$ls_sha"); q_package=(--package 'libssl3<3.0.22')
: > "$BENCH_DIR/search-answers.txt"
for n in path_name path_glob sha256 package; do
  declare -n q=q_$n
  name=search-${n//_/-}
  "$CAIRN" search "${q[@]}" --repo "$LIB" > "$L/cairn.$name.out" 2>&1
  echo "cairn search ${q[*]}: rc=$? lines=$(wc -l < "$L/cairn.$name.out")" >> "$BENCH_DIR/search-answers.txt"
  hf "cairn-$name" 3 30 "$CAIRN search ${q[0]} '${q[1]}' --repo $LIB"
  timed cairn "$name-cold" - "$CAIRN" search "${q[@]}" --repo "$LIB"
  unset -n q
done

# --- gc -------------------------------------------------------------------------------------
half=$((GC_VERSIONS / 2))
log "gc: forgetting variations 1..$half in each tool"
for s in cairn restic borg; do eval "sz_$s=\$(size \$BENCH_DIR/gc-$s)"; done
for i in $(seq 1 "$half"); do
  v=$(awk -F'\t' -v i="$i" '$1 == i {print $2}' "$BENCH_DIR/variations.tsv")
  "$CAIRN" rm "$v" --repo "$GC" >> "$L/gc-cairn.rm.log" 2>&1 || die "cairn rm $v failed"
done
"$CAIRN" purge --repo "$GC" >> "$L/gc-cairn.rm.log" 2>&1 || die "cairn purge failed"
ids=$(restic -r "$GR" snapshots --json | /usr/bin/python3 -c '
import json,sys; n=int(sys.argv[1])
print(" ".join(s["id"] for s in json.load(sys.stdin) if int(s["tags"][0][3:]) <= n))' "$half")
# shellcheck disable=SC2086
restic -r "$GR" forget $ids > "$L/gc-restic.forget.log" 2>&1 || die "restic forget failed"
# shellcheck disable=SC2046
BORG_CACHE_DIR=$P/cache/gc-borg borg delete "$GB" $(seq -f 'var%g' 1 "$half") > "$L/gc-borg.delete.log" 2>&1 || die "borg delete failed"
{
  echo "versions left: cairn $("$CAIRN" images --repo "$GC" 2>&1 | tr '\n' ' '), restic $(restic -r "$GR" snapshots --json | /usr/bin/python3 -c 'import json,sys; print(len(json.load(sys.stdin)))'), borg $(BORG_CACHE_DIR=$P/cache/gc-borg borg list --short "$GB" | wc -l)"
  echo "size before forgetting: cairn $sz_cairn, restic $sz_restic, borg $sz_borg"
  echo "size after forgetting, before gc: cairn $(size "$GC"), restic $(size "$GR"), borg $(size "$GB")"
} | tee "$BENCH_DIR/gc-sizes.txt"
"$CAIRN" gc --dry-run --json --repo "$GC" > "$L/gc-cairn.dry-run.json" 2>&1
timed cairn gc "$GC" "$CAIRN" gc --json --repo "$GC"
timed restic prune "$GR" restic -r "$GR" prune
BORG_CACHE_DIR=$P/cache/gc-borg timed borg compact "$GB" borg compact "$GB"
"$CAIRN" verify --repo "$GC" > "$L/gc-cairn.verify.log" 2>&1; echo "cairn verify after gc: rc=$?" >> "$BENCH_DIR/gc-sizes.txt"
"$CAIRN" stats --json --repo "$GC" > "$L/gc-cairn.stats.json" 2>&1

# --- virt-diff (last: two TCG appliances, minutes) ------------------------------------------
if [ "$VD_TIMEOUT" != 0 ] && command -v virt-diff > /dev/null; then
  timed virt-diff diff-cold - timeout "$VD_TIMEOUT" virt-diff -a "$I/v2.raw" -A "$I/v3.raw"
fi

# --- report ---------------------------------------------------------------------------------
/usr/bin/python3 - "$BENCH_DIR" <<'EOF' | tee "$BENCH_DIR/report.md"
import json, os, sys
B = sys.argv[1]
def hf(n):
    try:
        r = json.load(open(f'{B}/hf/{n}.json'))['results'][0]
        return r['mean'], r['min'], r.get('stddev') or 0.0
    except Exception: return None
rows = {}
for line in open(f'{B}/results.tsv').read().splitlines()[1:]:
    f = line.split('\t')
    rows[(f[0], f[1])] = dict(rc=f[2], wall=float(f[3] or 'nan'), user=float(f[4] or 0), sys=float(f[5] or 0),
                              rss=int(f[6] or 0), rb=None if f[7] == '-' else int(f[7]), load=f[8])
def ms(x): return f'{x * 1000:.1f}' if x < 10 else f'{x * 1000:.0f}'
print('### diff v2..v3 and search (warm: hyperfine mean / min ms; cold: page cache dropped, one run)\n')
print('| command | warm mean ms | warm min ms | cold ms | cold max RSS MB |')
print('| --- | ---: | ---: | ---: | ---: |')
for name, cold in [('cairn-diff', ('cairn', 'diff-cold')), ('cairn-diff-stat', ('cairn', 'diff-stat-cold')),
                   ('ostree-diff', ('ostree', 'diff-cold')), ('restic-diff', ('restic', 'diff-cold')),
                   ('borg-diff', ('borg', 'diff-cold')), ('borg-diff-content-only', None),
                   ('virt-diff', ('virt-diff', 'diff-cold')), ('cairn-help', None),
                   ('cairn-search-path-name', ('cairn', 'search-path-name-cold')),
                   ('cairn-search-path-glob', ('cairn', 'search-path-glob-cold')),
                   ('cairn-search-sha256', ('cairn', 'search-sha256-cold')),
                   ('cairn-search-package', ('cairn', 'search-package-cold'))]:
    h = hf(name); c = rows.get(cold) if cold else None
    cs = '' if not c else (ms(c['wall']) + ('' if c['rc'] == '0' else f' (rc={c["rc"]})'))
    print(f'| {name} | {ms(h[0]) if h else "-"} | {ms(h[1]) if h else "-"} | {cs} | {c["rss"] / 1024:.0f} |' if c else
          f'| {name} | {ms(h[0]) if h else "-"} | {ms(h[1]) if h else "-"} | | |')
print()
res = []
cd = hf('cairn-diff')
peers = [(p, hf(f'{p}-diff')) for p in ['ostree', 'restic', 'borg']]
peers = [(p, h) for p, h in peers if h]
if cd and peers:
    bp, bh = min(peers, key=lambda x: x[1][0])
    r = bh[0] / cd[0]
    res.append(('diff v2..v3: >= 10x faster than the fastest peer (warm means)', 'PASS' if r >= 10 else 'MISS',
                f'cairn {ms(cd[0])} ms vs {bp} {ms(bh[0])} ms: {r:.1f}x'))
    res.append(('diff v2..v3: under 50 ms (warm mean)', 'PASS' if cd[0] < 0.05 else 'MISS', f'{ms(cd[0])} ms (min {ms(cd[1])})'))
    cc = rows.get(('cairn', 'diff-cold'))
    pc = [(p, rows.get((p, 'diff-cold'))) for p in ['ostree', 'restic', 'borg'] if rows.get((p, 'diff-cold'))]
    if cc and pc:
        bp, br = min(pc, key=lambda x: x[1]['wall'])
        res.append(('(cold) diff v2..v3 vs the fastest peer, page cache dropped', 'PASS' if br['wall'] / cc['wall'] >= 10 else 'MISS',
                    f'cairn {ms(cc["wall"])} ms vs {bp} {ms(br["wall"])} ms: {br["wall"] / cc["wall"]:.1f}x'))
for n in ['search-path-name', 'search-path-glob', 'search-sha256', 'search-package']:
    h = hf(f'cairn-{n}')
    if h: res.append((f'{n}: under 50 ms (warm mean)', 'PASS' if h[0] < 0.05 else 'MISS', f'{ms(h[0])} ms (min {ms(h[1])})'))
print('### gc after forgetting the oldest half of a 50-version history\n')
print('| tool | command | rc | wall s | user+sys s | max RSS MB | repo MB after |')
print('| --- | --- | ---: | ---: | ---: | ---: | ---: |')
g = {}
for tool, step in [('cairn', 'gc'), ('restic', 'prune'), ('borg', 'compact')]:
    r = rows.get((tool, step))
    if not r: continue
    g[tool] = r
    print(f'| {tool} | {step} | {r["rc"]} | {r["wall"]:.2f} | {r["user"] + r["sys"]:.2f} | {r["rss"] / 1024:.1f} | {r["rb"] / 1e6:.1f} |')
print()
if 'cairn' in g and len(g) == 3:
    c = g['cairn']['wall']; o = {t: g[t]['wall'] for t in ('restic', 'borg')}
    res.append(('gc faster than restic prune and borg compact', 'PASS' if c < min(o.values()) else 'MISS',
                f'cairn {c:.2f} s, restic {o["restic"]:.2f} s ({o["restic"] / c:.1f}x), borg {o["borg"]:.2f} s ({o["borg"] / c:.1f}x)'))
print('### Targets\n')
print('| target | result | figures |')
print('| --- | --- | --- |')
for t, v, d in res: print(f'| {t} | {v} | {d} |')
EOF
log "results: $RES, report: $BENCH_DIR/report.md"
