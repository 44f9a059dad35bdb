#!/usr/bin/env bash
# disk_peers.sh: disk images (issue 5) on the corpus images ($C/images: v1.raw, v2.raw, v3.raw,
# v1.qcow2, v1-gpt.raw), cairn side by side with the tools a user would pick instead, in one run:
#   checkin     cairn checkin (fast path: raw ext, loop mount) and (libguestfs path: qcow2) vs
#               virt-tar-out of the same image and casync make of the raw image; MB/s of used
#               filesystem data; the appliance start reported separately (CAIRN_TIMING)
#   growth      store growth when v2.raw and v3.raw follow v1.raw: cairn's repository vs
#               casync's chunk store vs qemu-img convert -c of each image (their sum)
#   checkout    cairn checkout to qcow2 vs virt-make-fs --format=qcow2 of the same tree
# Every timed command runs after the page cache is dropped. Needs root. A few minutes.
#
# Environment: C (default /tmp/corpus), BENCH_DIR (default /tmp/cairn-bench/disk), CAIRN (the
# binary; default build/tools/cairn beside this script's repository).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
. "$here/scripts/kvm-env.sh"
C=${C:-/tmp/corpus}
I=$C/images
B=${BENCH_DIR:-/tmp/cairn-bench/disk}
CAIRN_SRC=${CAIRN:-$here/build/tools/cairn}
die() { echo "disk_peers.sh: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "needs root (loop mounts, drop_caches)"
[ -x "$CAIRN_SRC" ] || die "no cairn binary at $CAIRN_SRC"
for f in v1.raw v2.raw v3.raw v1.qcow2 v1-gpt.raw; do [ -e "$I/$f" ] || die "no $I/$f (make-corpus.sh images)"; done
for t in virt-tar-out virt-make-fs casync qemu-img; do command -v $t >/dev/null || die "$t missing"; done
export LIBGUESTFS_BACKEND=direct
rm -rf "$B"; mkdir -p "$B"
cp "$CAIRN_SRC" "$B/cairn"; cairn=$B/cairn
[ -f "$CAIRN_SRC.debug" ] && cp -f "$CAIRN_SRC.debug" "$B/cairn.debug"  # for perf and gdb (gnu_debuglink)
drop() { sync; echo 3 > /proc/sys/vm/drop_caches; }
now() { date +%s.%N; }
secs() { python3 -c "print(f'{$2-$1:.2f}')"; }
mb() { python3 -c "print(f'{$1/1e6:.1f}')"; }
ratio() { python3 -c "print(f'{$1/$2:.2f}')"; }
size() { du -sb "$1" | cut -f1; }

echo "# disk_peers.sh  $(date -u '+%F %TZ')  $($cairn --version)  $(nproc) cores: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2)"
echo "# load before: $(cut -d' ' -f1-3 /proc/loadavg)  build: $(grep -m1 CMAKE_BUILD_TYPE "$here/build/CMakeCache.txt" 2>/dev/null | cut -d= -f2)"

# ---- checkin ----
R=$B/repo; $cairn init --repo "$R" >/dev/null
drop; t0=$(now)
$cairn checkin "$I/v1.raw" --repo "$R" --image v --json > "$B/v1.json"
t1=$(now); fast=$(secs $t0 $t1)
used=$(python3 -c "import json; print(json.load(open('$B/v1.json'))['bytes'])")
R2=$B/repo-gfs; $cairn init --repo "$R2" >/dev/null
drop; t0=$(now)
CAIRN_TIMING=1 $cairn checkin "$I/v1.qcow2" --repo "$R2" --image v --via guestfs --json > "$B/v1q.json" 2> "$B/v1q.timing"
t1=$(now); gfs=$(secs $t0 $t1)
appliance=$(awk '/timing appliance/ {printf "%.2f", $3/1000}' "$B/v1q.timing")
same=$(python3 -c "import json; a=json.load(open('$B/v1.json')); b=json.load(open('$B/v1q.json')); print('same Disk' if a['disk']==b['disk'] else 'DIFFERENT Disk')")
drop; t0=$(now)
virt-tar-out --format=raw -a "$I/v1.raw" / - > "$B/v1.tar"
t1=$(now); vto=$(secs $t0 $t1)
drop; t0=$(now)
casync make --store="$B/castr" "$B/v1.caibx" "$I/v1.raw" >/dev/null 2>&1
t1=$(now); cas1=$(secs $t0 $t1)
echo
echo "checkin v1 (used filesystem data: $(mb $used) MB)"
printf '  %-34s %8s s %8s MB/s\n' "cairn (fast path, v1.raw)" $fast "$(python3 -c "print(f'{$used/1e6/$fast:.1f}')")"
printf '  %-34s %8s s %8s MB/s   appliance %s s; %s as the fast path\n' "cairn (libguestfs, v1.qcow2)" $gfs "$(python3 -c "print(f'{$used/1e6/$gfs:.1f}')")" "$appliance" "$same"
printf '  %-34s %8s s %8s MB/s\n' "virt-tar-out v1.raw" $vto "$(python3 -c "print(f'{$used/1e6/$vto:.1f}')")"
printf '  %-34s %8s s %8s MB/s (of used data; it reads the whole image)\n' "casync make v1.raw" $cas1 "$(python3 -c "print(f'{$used/1e6/$cas1:.1f}')")"
echo "  ratios: virt-tar-out/cairn-fast $(ratio $vto $fast)  casync/cairn-fast $(ratio $cas1 $fast)  virt-tar-out/cairn-guestfs $(ratio $vto $gfs)"

# ---- store growth ----
g1=$(size "$R"); c1=$(size "$B/castr")
drop; t0=$(now); $cairn checkin "$I/v2.raw" --repo "$R" --image v -p v:1 >/dev/null; t1=$(now); f2=$(secs $t0 $t1)
drop; t0=$(now); $cairn checkin "$I/v3.raw" --repo "$R" --image v -p v:2 >/dev/null; t1=$(now); f3=$(secs $t0 $t1)
casync make --store="$B/castr" "$B/v2.caibx" "$I/v2.raw" >/dev/null 2>&1
casync make --store="$B/castr" "$B/v3.caibx" "$I/v3.raw" >/dev/null 2>&1
g3=$(size "$R"); c3=$(size "$B/castr")
q=0
for v in v1 v2 v3; do qemu-img convert -c -O qcow2 "$I/$v.raw" "$B/$v.c.qcow2"; q=$((q + $(size "$B/$v.c.qcow2"))); done
q1=$(size "$B/v1.c.qcow2")
echo
echo "store after v1, v2, v3 (raw images $(mb $(( $(size $I/v1.raw) + $(size $I/v2.raw) + $(size $I/v3.raw) ))) MB apparent; cairn checkin v2 ${f2} s, v3 ${f3} s)"
printf '  %-34s %8s MB after v1 %8s MB after v3  growth %8s MB\n' cairn $(mb $g1) $(mb $g3) $(mb $((g3 - g1)))
printf '  %-34s %8s MB after v1 %8s MB after v3  growth %8s MB\n' "casync chunk store" $(mb $c1) $(mb $c3) $(mb $((c3 - c1)))
printf '  %-34s %8s MB after v1 %8s MB after v3  growth %8s MB\n' "qemu-img convert -c (sum)" $(mb $q1) $(mb $q) $(mb $((q - q1)))
echo "  ratios: casync/cairn total $(ratio $c3 $g3)  qcow2-c/cairn total $(ratio $q $g3)  growth casync/cairn $(ratio $((c3 - c1)) $((g3 - g1)))  qcow2-c/cairn $(ratio $((q - q1)) $((g3 - g1)))"

# ---- checkout ----
$cairn checkout v:1 "$B/tree" --repo "$R" >/dev/null 2>&1
drop; t0=$(now)
$cairn checkout v:1 "$B/out.qcow2" --repo "$R" >/dev/null 2>&1
t1=$(now); co=$(secs $t0 $t1)
drop; t0=$(now)
virt-make-fs --format=qcow2 --type=ext4 --size=+64M "$B/tree" "$B/vmf.qcow2" >/dev/null
t1=$(now); vmf=$(secs $t0 $t1)
echo
echo "checkout v1 to qcow2"
printf '  %-34s %8s s  %8s MB\n' "cairn checkout" $co $(mb $(size "$B/out.qcow2"))
printf '  %-34s %8s s  %8s MB\n' "virt-make-fs (same tree)" $vmf $(mb $(size "$B/vmf.qcow2"))
echo "  ratio virt-make-fs/cairn $(ratio $vmf $co)"
echo "# load after: $(cut -d' ' -f1-3 /proc/loadavg)"
