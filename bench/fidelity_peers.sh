#!/usr/bin/env bash
# fidelity_peers.sh: what each tool loses of a tree with every kind of entry and metadata.
#
# The real corpus (trees_peers.sh) has no sockets, sparse files, ACLs, non-UTF-8 names or
# nanosecond mtimes to lose, so on it restic and borg lose nothing and the issue's fidelity line
# ("nothing lost, where each peer loses something: say what") cannot be judged. This runs the
# peers and cairn on the fidelity tests' own fixture (tests/indexer/tree_fixture.h, FullSpec,
# built by cairn_make_fixture: 41 paths, every kind DESIGN.md's Fidelity section names), three
# versions of it (seeds 1, 2, 3) stored as v1, v2, v3 by ../shared/corpus/peers.sh unchanged,
# v3 restored, and the restore compared with bench/fidelity_check.py (not cairn's own oracle).
# cairn is run the way the peers are (bind-mounted at the same path), and also round-tripped
# through a tarball (checkout --format tar, checkin of the tarball, checkout to a directory).
#
#   bench/fidelity_peers.sh
#   BENCH_DIR=/tmp/cairn-bench/fid CAIRN=build/tools/cairn bench/fidelity_peers.sh
#
# Environment: BENCH_DIR (default /tmp/cairn-bench/fidelity), CAIRN (default
# build/tools/cairn), MAKE_FIXTURE (default: tests/indexer/cairn_make_fixture in CAIRN's build
# tree), PEERS_SH, PEERS (default "ostree-archive casync-dir restic borg").
# Writes $BENCH_DIR/report.md and $BENCH_DIR/fidelity.json ({"lost": {tool: {kind: [paths]} or null
# when nothing was restored}, "failed": {tool: [step failures]}}).
# Needs root (device nodes, owners, trusted.* xattrs, bind mounts). Takes under a minute.
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BENCH_DIR=${BENCH_DIR:-/tmp/cairn-bench/fidelity}
CAIRN=${CAIRN:-$here/build/tools/cairn}
MAKE_FIXTURE=${MAKE_FIXTURE:-$(dirname "$(dirname "$CAIRN")")/tests/indexer/cairn_make_fixture}
PEERS_SH=${PEERS_SH:-$here/../shared/corpus/peers.sh}
PEERS=${PEERS:-"ostree-archive casync-dir restic borg"}
C=$BENCH_DIR/corpus
T=$C/trees
P=$BENCH_DIR/peers
MNT=$C/mnt/root

die() { echo "fidelity_peers.sh: $*" >&2; exit 1; }
log() { printf '[%(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
[ "$(id -u)" = 0 ] || die "needs root (device nodes, owners, trusted.* xattrs, bind mounts)"
[ -x "$CAIRN" ] || die "no cairn binary at $CAIRN (build it, or set CAIRN)"
[ -x "$MAKE_FIXTURE" ] || die "no cairn_make_fixture at $MAKE_FIXTURE (ninja -C build cairn_make_fixture, or set MAKE_FIXTURE)"
[ -r "$PEERS_SH" ] || die "no peers.sh at $PEERS_SH (set PEERS_SH)"
CHECK=$here/bench/fidelity_check.py

unbind() { mountpoint -q "$MNT" && umount "$MNT"; true; }
trap unbind EXIT
unbind
rm -rf "$BENCH_DIR"; mkdir -p "$T" "$MNT" "$P/restore" "$P/check"
for s in 1 2 3; do "$MAKE_FIXTURE" "$T/v$s" "$s" || die "building the fixture v$s failed"; done
log "fixture: $T/v1 v2 v3 ($(find "$T/v3" | wc -l) paths each)"

# --- peers, through peers.sh unchanged --------------------------------------------------------
log "peers: C=$C P=$P bash $PEERS_SH $PEERS"
C=$C P=$P bash "$PEERS_SH" $PEERS 2> "$BENCH_DIR/peers.stderr" || die "peers.sh failed (see $BENCH_DIR/peers.stderr)"

# --- cairn, as the peers: bind-mounted at $MNT ------------------------------------------------
export CAIRN_CACHE_DIR=$P/cache/cairn
R=$P/cairn
run() { "$@" >> "$P/cairn.log" 2>&1 || die "failed: $* (see $P/cairn.log)"; }
run "$CAIRN" init --repo "$R"
parent=""
for t in v1 v2 v3; do
  mountpoint -q "$MNT" && umount "$MNT"
  mount --bind "$T/$t" "$MNT"
  run "$CAIRN" checkin "$MNT" --repo "$R" --image img $parent
  parent="-p img:${t#v}"
done
unbind
run "$CAIRN" checkout img:3 "$P/restore/cairn" --repo "$R"
# the tar path: v3 out as a tarball, checked in from it, out to a directory
run "$CAIRN" checkout img:3 "$P/cairn-v3.tar" --format tar --repo "$R"
run "$CAIRN" checkin "$P/cairn-v3.tar" --repo "$R" --image fromtar
run "$CAIRN" checkout fromtar "$P/restore/cairn-tar" --repo "$R"

# --- compare each restore with v3 -------------------------------------------------------------
tools="cairn cairn-tar $PEERS"
for t in $tools; do
  d=$P/restore/$t; case $t in restic|borg) d=$d$MNT ;; esac
  if [ -d "$d" ]; then
    python3 "$CHECK" "$T/v3" "$d" --json > "$P/check/$t.json" 2> "$P/check/$t.err" || echo null > "$P/check/$t.json"
  else
    echo null > "$P/check/$t.json"
  fi
done

python3 - "$P" "$tools" "$(find "$T/v3" | wc -l)" <<'EOF' | tee "$BENCH_DIR/report.md"
import json, os, sys
P, tools, npaths = sys.argv[1], sys.argv[2].split(), sys.argv[3]
failed = {}  # tool -> ["step: last line of its log"] for the store and restore steps that failed
for line in open(os.path.join(P, 'results.tsv')).read().splitlines()[1:]:
    f = line.split('\t')
    if f[1] in ('v1', 'v2', 'v3', 'restore-v3') and f[2] != '0':
        try: last = open(os.path.join(P, 'log', f'{f[0]}.{f[1]}.log'), errors='replace').read().strip().splitlines()[-1]
        except (OSError, IndexError): last = '?'
        failed.setdefault(f[0], []).append(f'{f[1]} failed (exit {f[2]}): {last}')
def short(p): return repr(p) if len(p) <= 40 else repr(p[:12] + '...') + f' ({len(p)} bytes)'
res = {}
for t in tools:
    j = json.load(open(os.path.join(P, 'check', t + '.json')))
    res[t] = None if j is None else j['lost']
kinds = sorted({k for v in res.values() if v for k in v})
print(f'### Fidelity on the test fixture (tests/indexer/tree_fixture.h FullSpec, {npaths} paths; v3 restored vs v3)\n')
print('| lost or changed | ' + ' | '.join(tools) + ' |')
print('| --- |' + ' ---: |' * len(tools))
for k in kinds:
    print(f'| {k} | ' + ' | '.join('no restore' if res[t] is None else str(len(res[t].get(k, []))) for t in tools) + ' |')
print('| **kinds lost** | ' + ' | '.join('no restore' if res[t] is None else f'**{len(res[t])}**' for t in tools) + ' |')
print('| **store or restore failed** | ' + ' | '.join('yes' if t in failed else 'no' for t in tools) + ' |')
print()
for t in tools:
    if res[t]:
        print(f'- {t}: ' + '; '.join(f'{k} ({", ".join(short(p) for p in v[:3])}{", ..." if len(v) > 3 else ""})' for k, v in sorted(res[t].items())))
print()
for t, why in failed.items():
    print(f'- {t}: ' + '; '.join(why))
json.dump({'lost': res, 'failed': failed}, open(os.path.join(os.path.dirname(P), 'fidelity.json'), 'w'), indent=1, sort_keys=True)
EOF
log "report: $BENCH_DIR/report.md"
