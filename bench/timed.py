#!/usr/bin/env python3
"""timed.py OUT CMD [ARGS...]: runs CMD and writes what `/usr/bin/time -v -o OUT` would, to the
millisecond.

GNU time's "Elapsed (wall clock)" runs from its fork of the command to the command's exit, and
peers.sh reads the peers' times from it; but it prints centiseconds, a tenth of an incremental
checkin. Timing `/usr/bin/time` from outside (bash's $EPOCHREALTIME around it) adds time's own
start, 4-10 ms on this VM. This measures the span GNU time measures, with perf_counter: from just
before the command is spawned (posix_spawn) to its exit, and takes the command's CPU time and
peak RSS from wait4 (the RSS is at least this Python's ~13 MB, which the spawned child shares
until it execs; every cairn step measured uses more). OUT gets the lines trees_peers.sh reads ("User time (seconds): ...",
"System time (seconds): ...", "Maximum resident set size (kbytes): ...",
"Elapsed (wall clock) time (h:mm:ss or m:ss): ...") and "Wall seconds: S.SSSSSS".
Exits with the command's exit status (128 + N if killed by signal N; 127 if it cannot start).
"""
import os
import sys
import time


def main():
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    out, cmd = sys.argv[1], sys.argv[2:]
    start = time.perf_counter()
    try:
        pid = os.posix_spawnp(cmd[0], cmd, os.environ)
    except OSError as e:
        print(f'timed.py: cannot run {cmd[0]}: {e.strerror}', file=sys.stderr)
        return 127
    _, status, ru = os.wait4(pid, 0)
    wall = time.perf_counter() - start
    rc = os.waitstatus_to_exitcode(status)
    if rc < 0:
        rc = 128 - rc
    minutes, seconds = divmod(wall, 60)
    with open(out, 'w') as f:
        f.write(f'\tCommand being timed: "{" ".join(cmd)}"\n'
                f'\tUser time (seconds): {ru.ru_utime:.3f}\n'
                f'\tSystem time (seconds): {ru.ru_stime:.3f}\n'
                f'\tElapsed (wall clock) time (h:mm:ss or m:ss): {int(minutes)}:{seconds:06.3f}\n'
                f'\tMaximum resident set size (kbytes): {ru.ru_maxrss}\n'
                f'\tMinor (reclaiming a frame) page faults: {ru.ru_minflt}\n'
                f'\tExit status: {rc}\n'
                f'Wall seconds: {wall:.6f}\n')
    return rc


if __name__ == '__main__':
    sys.exit(main())
