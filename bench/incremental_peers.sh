#!/usr/bin/env bash
# incremental_peers.sh: the incremental checkin of corpus v3 over a working copy of v2, cairn
# (`checkin --parent`, its stat cache) beside the peers that have a cache of their own for the
# same job (restic's and borg's files caches), cold, as bench/trees_peers.sh times every
# command. casync and ostree keep no such cache: their "incremental" is a full read.
#
#   CAIRN=build/tools/cairn bench/incremental_peers.sh
#
# Environment: C (corpus, default /tmp/corpus; needs trees/v2 and trees/v3), BENCH_DIR (default
# /tmp/cairn-bench/incremental-peers), ROUNDS (default 5). Needs root (drop_caches).
#
# The working copy W is v2 rsynced; each tool stores it once (cairn as w:1, restic a snapshot,
# borg archive v2), with its cache; then W is brought to v3 by rsync in place of the changed
# files (unchanged files keep their inodes and ctimes), as bench/incremental.sh does. Each round
# starts every tool from a copy of its repository and cache saved after v2, drops the page
# cache, and times one command:
#   cairn   checkin W --parent w:1
#   restic  backup W          (finds the v2 snapshot of the same host and path as its parent)
#   borg    create ::v3 W     (files cache: ctime, size, inode)
# and, for reference, each tool's first store of W (now v3) into an empty repository.
# Prints medians, each tool's incremental as a share of its own full store, and cairn's time
# as a ratio of each peer's. Checks that every tool read again only what changed (restic's
# files_unmodified, borg's --list of added and modified files, cairn's files read).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
C=${C:-/tmp/corpus}
B=${BENCH_DIR:-/tmp/cairn-bench/incremental-peers}
CAIRN=${CAIRN:-$here/build/tools/cairn}
ROUNDS=${ROUNDS:-5}
die() { echo "incremental_peers.sh: $*" >&2; exit 1; }
[ -x "$CAIRN" ] || die "no cairn binary at $CAIRN"
[ "$(id -u)" = 0 ] || die "needs root (drop_caches)"
for v in v2 v3; do [ -d "$C/trees/$v" ] || die "no $C/trees/$v (../shared/corpus/make-corpus.sh)"; done
for t in restic borg rsync; do command -v $t >/dev/null || die "$t is not installed"; done

export RESTIC_PASSWORD=bench
export BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK=yes BORG_RELOCATED_REPO_ACCESS_IS_OK=yes
export BORG_CONFIG_DIR=$B/borg-config
rm -rf "$B"; mkdir -p "$B/out"
W=$B/W
rsync -aHAX "$C/trees/v2/" "$W/"

# v2, once per tool, into R0-TOOL with its cache in C0-TOOL.
CAIRN_CACHE_DIR=$B/C0-cairn "$CAIRN" init --repo "$B/R0-cairn" >/dev/null
CAIRN_CACHE_DIR=$B/C0-cairn "$CAIRN" checkin "$W" --repo "$B/R0-cairn" --image w >/dev/null
RESTIC_CACHE_DIR=$B/C0-restic restic -q -r "$B/R0-restic" init
RESTIC_CACHE_DIR=$B/C0-restic restic -q -r "$B/R0-restic" backup --host bench "$W"
# borg's security directory (what it saw of each repository) goes with the cache: a round that
# starts from the v2 copy must not find the v3 of the round before.
BORG_CACHE_DIR=$B/C0-borg BORG_SECURITY_DIR=$B/C0-borg/security borg init -e none "$B/R0-borg"
BORG_CACHE_DIR=$B/C0-borg BORG_SECURITY_DIR=$B/C0-borg/security borg create --compression zstd,3 "$B/R0-borg::v2" "$W"
rsync -aHAX --delete "$C/trees/v3/" "$W/"

fresh() {  # fresh TOOL: the repository and cache as after v2, in R-TOOL and C-TOOL
  rm -rf "$B/R-$1" "$B/C-$1"
  cp -a "$B/R0-$1" "$B/R-$1"
  cp -a "$B/C0-$1" "$B/C-$1"
}
empty() {  # empty TOOL: an empty repository and cache in R-TOOL and C-TOOL
  rm -rf "$B/R-$1" "$B/C-$1"
  case $1 in
    cairn) "$CAIRN" init --repo "$B/R-cairn" >/dev/null ;;
    restic) RESTIC_CACHE_DIR=$B/C-restic restic -q -r "$B/R-restic" init ;;
    borg) BORG_CACHE_DIR=$B/C-borg BORG_SECURITY_DIR=$B/C-borg/security borg init -e none "$B/R-borg" ;;
  esac
}
run() {  # run TOOL KIND: the timed command, its output to out/TOOL.KIND
  local tool=$1 kind=$2 cmd
  case $tool in
    cairn) cmd=(env CAIRN_CACHE_DIR="$B/C-cairn" "$CAIRN" checkin "$W" --repo "$B/R-cairn" --image w --json)
           [ "$kind" = incremental ] && cmd+=(--parent w:1) ;;
    restic) cmd=(env RESTIC_CACHE_DIR="$B/C-restic" restic -r "$B/R-restic" backup --json --host bench "$W") ;;
    borg) cmd=(env BORG_CACHE_DIR="$B/C-borg" BORG_SECURITY_DIR="$B/C-borg/security" borg create --list --filter=AME --compression zstd,3
               "$B/R-borg::v3" "$W") ;;
  esac
  sync
  echo 3 > /proc/sys/vm/drop_caches
  local s=$EPOCHREALTIME
  "${cmd[@]}" > "$B/out/$tool.$kind" 2>&1 || die "$tool $kind failed: $(tail -3 "$B/out/$tool.$kind")"
  local e=$EPOCHREALTIME
  awk -v t="$tool" -v k="$kind" -v a="$s" -v b="$e" 'BEGIN {printf "%s %s %.4f\n", t, k, b - a}' >> "$B/times"
}
: > "$B/times"
for _ in $(seq "$ROUNDS"); do
  for tool in cairn restic borg; do fresh $tool; run $tool incremental; done
done
for _ in $(seq "$ROUNDS"); do
  for tool in cairn restic borg; do empty $tool; run $tool full; done
done

# What each incremental read again (from the last round's output).
read_again() {
  case $1 in
    cairn) python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print(j["files"] - j["files_cached"], "of", j["files"], "files read")' "$B/out/cairn.incremental" ;;
    restic) python3 -c '
import json, sys
for line in open(sys.argv[1]):
    try: j = json.loads(line)
    except ValueError: continue
    if j.get("message_type") == "summary":
        print(j["files_new"] + j["files_changed"], "of", j["files_new"] + j["files_changed"] + j["files_unmodified"], "files read")' "$B/out/restic.incremental" ;;
    borg) echo "$(grep -cE '^[AM] ' "$B/out/borg.incremental") files added or modified (borg --list)" ;;
  esac
}
python3 - "$B/times" "$ROUNDS" <<'EOF'
import statistics, sys
t = {}
for line in open(sys.argv[1]):
    tool, kind, s = line.split()
    t.setdefault((tool, kind), []).append(float(s))
med = {k: statistics.median(v) for k, v in t.items()}
print(f"### Incremental checkin of corpus v3 over v2, cold (medians of {sys.argv[2]} rounds)\n")
print("| tool | incremental s | full s | incremental / full | cairn incremental / tool incremental | rounds (incremental) |")
print("| --- | ---: | ---: | ---: | ---: | --- |")
for tool in ("cairn", "restic", "borg"):
    i, f = med[(tool, "incremental")], med[(tool, "full")]
    ratio = med[("cairn", "incremental")] / i
    rounds = ", ".join(f"{x:.3f}" for x in t[(tool, "incremental")])
    print(f"| {tool} | {i:.3f} | {f:.3f} | {100 * i / f:.1f}% | {ratio:.2f} | {rounds} |")
EOF
echo
for tool in cairn restic borg; do echo "- $tool read again: $(read_again $tool)"; done
