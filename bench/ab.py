#!/usr/bin/env python3
"""A/B of two cairn binaries on the warm checkins of corpus v3, by wall and CPU time.

  bench/ab.py OLD_CAIRN NEW_CAIRN [ROUNDS] [--full]

Runs the warm incremental checkin of v3 over a working copy of v2 (the state
bench/incremental.sh leaves in BENCH_DIR, default /tmp/cairn-bench/incremental: run it once
first), or with --full a checkin of the same tree into a fresh repository, alternating the two
binaries ROUNDS times (default 15). Prints medians and interquartile ranges of the wall time,
the CPU time (user + system, from getrusage of the child) and the minor page faults. On this
shared two-core VM the CPU time varies less than the wall time, and says whether a change
saved work or only moved it.
"""
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time

args = [a for a in sys.argv[1:] if a != '--full']
full = '--full' in sys.argv[1:]
if len(args) < 2:
    sys.exit(__doc__)
bins = {'a': args[0], 'b': args[1]}
rounds = int(args[2]) if len(args) > 2 else 15
B = os.environ.get('BENCH_DIR', '/tmp/cairn-bench/incremental')
for need in ('R0', 'C0', 'W'):
    if not os.path.exists(f'{B}/{need}'):
        sys.exit(f'ab.py: no {B}/{need}: run bench/incremental.sh first')


def run(binary):
    for d in ('R', 'C'):
        shutil.rmtree(f'{B}/{d}', ignore_errors=True)
    if full:
        subprocess.run([binary, 'init', '--repo', f'{B}/R'], check=True, stdout=subprocess.DEVNULL)
        cmd = [binary, 'checkin', f'{B}/W', '--repo', f'{B}/R', '--image', 'w']
    else:
        subprocess.run(['cp', '-a', f'{B}/R0', f'{B}/R'], check=True)
        subprocess.run(['cp', '-a', f'{B}/C0', f'{B}/C'], check=True)
        cmd = [binary, 'checkin', f'{B}/W', '--repo', f'{B}/R', '--image', 'w', '-p', 'w:1']
    os.sync()  # the copy written back now, not by the command's first fsync (trees_peers.sh)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, env=dict(os.environ, CAIRN_CACHE_DIR=f'{B}/C'))
    wall = (time.perf_counter() - start) * 1000
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime) * 1000
    return wall, cpu, after.ru_minflt - before.ru_minflt


results = {'a': [], 'b': []}
for _ in range(rounds):
    for v in 'ab':
        results[v].append(run(bins[v]))
for v in 'ab':
    cols = list(zip(*results[v]))
    q = [statistics.quantiles(c, n=4) if len(c) > 1 else [c[0]] * 3 for c in cols]
    print(f"{v} ({bins[v]}): wall {statistics.median(cols[0]):.1f} ms (iqr {q[0][0]:.0f}-{q[0][2]:.0f}), "
          f"cpu {statistics.median(cols[1]):.1f} ms (iqr {q[1][0]:.0f}-{q[1][2]:.0f}), "
          f"minflt {statistics.median(cols[2]):.0f}, {'full' if full else 'incremental'}, n={rounds}")
