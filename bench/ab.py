#!/usr/bin/env python3
"""A/B of cairn binaries (or of one binary under different environments) on the warm checkins
of corpus v3, by wall and CPU time.

  bench/ab.py VARIANT VARIANT... [--rounds N] [--full | --floor] [--idle S | --cold]
  bench/ab.py OLD_CAIRN NEW_CAIRN [ROUNDS] [--full]          (the older form)

A VARIANT is a cairn binary, optionally followed by environment settings for it, as one
argument: 'build/tools/cairn MALLOC_CONF=hpa:true'.

Runs the warm incremental checkin of v3 over a working copy of v2 (the state
bench/incremental.sh leaves in BENCH_DIR, default /tmp/cairn-bench/incremental: run it once
first); with --full a checkin of the same tree into a fresh repository; with --floor the
incremental where nothing changed (v3 over v3: what every incremental pays whatever changed).
The variants alternate, ROUNDS times (default 15). --idle S sleeps S seconds before each run
(the host takes back freed memory after ~2 s idle on this VM, and fresh pages cost more then).
--cold drops the page cache before each run, as bench/trees_peers.sh does for every timed
command (needs root).

Prints, per variant, medians of the wall time, the CPU time (user + system, from wait4), the
minor page faults, the transparent huge pages the system faulted in meanwhile, and the
command's own phases (CAIRN_TIMING: open, walk+store, index, flush, close), with the
interquartile range of the wall and CPU times. On this shared two-core VM the CPU time varies
less than the wall time, and says whether a change saved work or only moved it; differences
under ~3 ms of wall need several alternated sets to tell from noise.
"""
import os
import shutil
import statistics
import subprocess
import sys
import time

PHASES = ('open', 'walk+store', 'index', 'flush', 'close')


def parse_args(argv):
    opts = {'rounds': 15, 'mode': 'incremental', 'idle': 0.0, 'cold': False}
    variants = []
    it = iter(argv)
    for a in it:
        if a == '--full':
            opts['mode'] = 'full'
        elif a == '--floor':
            opts['mode'] = 'floor'
        elif a == '--rounds':
            opts['rounds'] = int(next(it))
        elif a == '--cold':
            opts['cold'] = True
        elif a == '--idle':
            opts['idle'] = float(next(it))
        elif a.isdigit() and len(variants) == 2:
            opts['rounds'] = int(a)  # the older form: OLD NEW ROUNDS
        else:
            variants.append(a)
    if not variants:
        sys.exit(__doc__)
    return variants, opts


def thp_faults():
    with open('/proc/vmstat') as f:
        for line in f:
            if line.startswith('thp_fault_alloc '):
                return int(line.split()[1])
    return 0


def main():
    variants, opts = parse_args(sys.argv[1:])
    B = os.environ.get('BENCH_DIR', '/tmp/cairn-bench/incremental')
    for need in ('R0', 'C0', 'W'):
        if not os.path.exists(f'{B}/{need}'):
            sys.exit(f'ab.py: no {B}/{need}: run bench/incremental.sh first')

    def binary_env(variant):
        words = variant.split()
        env = dict(os.environ)
        for kv in words[1:]:
            k, sep, v = kv.partition('=')
            if not sep:
                sys.exit(f'ab.py: variant "{variant}": expected BINARY [KEY=VALUE...]')
            env[k] = v
        return words[0], env

    def fresh(src, csrc):
        for d in ('R', 'C'):
            shutil.rmtree(f'{B}/{d}', ignore_errors=True)
        subprocess.run(['cp', '-a', f'{B}/{src}', f'{B}/R'], check=True)
        subprocess.run(['cp', '-a', f'{B}/{csrc}', f'{B}/C'], check=True)

    if opts['mode'] == 'floor' and not os.path.exists(f'{B}/R3'):
        # The repository and stat cache after v3 went in over v2 (w:2), kept as R3 and C3.
        fresh('R0', 'C0')
        binary, env = binary_env(variants[0])
        subprocess.run([binary, 'checkin', f'{B}/W', '--repo', f'{B}/R', '--image', 'w', '-p', 'w:1'],
                       check=True, stdout=subprocess.DEVNULL, env=dict(env, CAIRN_CACHE_DIR=f'{B}/C'))
        os.rename(f'{B}/R', f'{B}/R3')
        os.rename(f'{B}/C', f'{B}/C3')

    def run(variant):
        binary, env = binary_env(variant)
        if opts['mode'] == 'full':
            for d in ('R', 'C'):
                shutil.rmtree(f'{B}/{d}', ignore_errors=True)
            subprocess.run([binary, 'init', '--repo', f'{B}/R'], check=True, stdout=subprocess.DEVNULL)
            cmd = [binary, 'checkin', f'{B}/W', '--repo', f'{B}/R', '--image', 'w']
        elif opts['mode'] == 'floor':
            fresh('R3', 'C3')
            cmd = [binary, 'checkin', f'{B}/W', '--repo', f'{B}/R', '--image', 'w', '-p', 'w:2']
        else:
            fresh('R0', 'C0')
            cmd = [binary, 'checkin', f'{B}/W', '--repo', f'{B}/R', '--image', 'w', '-p', 'w:1']
        os.sync()  # the copy written back now, not by the command's first fsync (trees_peers.sh)
        if opts['idle']:
            time.sleep(opts['idle'])
        if opts['cold']:
            with open('/proc/sys/vm/drop_caches', 'w') as f:
                f.write('3\n')
        env = dict(env, CAIRN_CACHE_DIR=f'{B}/C', CAIRN_TIMING='1')
        thp0 = thp_faults()
        start = time.perf_counter()
        p = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        err = p.stderr.read()
        _, status, ru = os.wait4(p.pid, 0)
        wall = (time.perf_counter() - start) * 1000
        if status != 0:
            sys.exit(f'ab.py: {variant}: {" ".join(cmd)} failed:\n{err}')
        phases = {}
        for line in err.splitlines():
            f = line.split()
            if len(f) >= 3 and f[0] == 'timing':
                phases[f[1]] = float(f[2])
        cpu = (ru.ru_utime + ru.ru_stime) * 1000
        return wall, cpu, ru.ru_minflt, thp_faults() - thp0, phases

    results = {v: [] for v in variants}
    for _ in range(opts['rounds']):
        for v in variants:
            results[v].append(run(v))
    for v in variants:
        rows = results[v]
        cols = [[r[i] for r in rows] for i in range(4)]
        q = [statistics.quantiles(c, n=4) if len(c) > 1 else [c[0]] * 3 for c in cols[:2]]
        phase = '  '.join(f'{p} {statistics.median(r[4].get(p, 0) for r in rows):.1f}' for p in PHASES)
        print(f'{v}: wall {statistics.median(cols[0]):.1f} ms (iqr {q[0][0]:.0f}-{q[0][2]:.0f}), '
              f'cpu {statistics.median(cols[1]):.1f} ms (iqr {q[1][0]:.0f}-{q[1][2]:.0f}), '
              f'minflt {statistics.median(cols[2]):.0f}, thp {statistics.median(cols[3]):.0f}; {phase} '
              f'[{opts["mode"]}{", idle %gs" % opts["idle"] if opts["idle"] else ""}'
              f'{", cold" if opts["cold"] else ""}, n={opts["rounds"]}]')


if __name__ == '__main__':
    main()
