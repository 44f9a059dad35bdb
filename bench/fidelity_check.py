#!/usr/bin/env python3
"""fidelity_check.py ORIG RESTORED [--json]: what a restore lost, by kind of metadata.

Compares every path of ORIG (a tree with every kind of entry, e.g. the fidelity fixture of
tests/indexer/tree_fixture.h, built by cairn_make_fixture) with the same path under RESTORED, and
counts each loss under a named kind: a socket, fifo or device missing, a non-UTF-8 name missing,
setuid bits dropped, nanosecond mtimes rounded, symlink mtimes not set, holes filled, hard links
split, each xattr namespace (user.*, trusted.*, security.capability, POSIX ACLs) dropped or
changed, and so on. Independent of cairn's own oracle (tests/indexer/tree_fixture.cc, Listing):
a benchmark should not let the tool under test judge itself.

Prints one line per kind that lost something ("KIND: N e.g. PATH, ..."), or "nothing lost";
with --json, {"lost": {KIND: [paths...]}, "paths": N}. Exit 0 either way; 2 on bad usage.
"""
import json
import os
import stat
import sys
from collections import defaultdict

TYPES = [(stat.S_ISREG, 'file'), (stat.S_ISDIR, 'directory'), (stat.S_ISLNK, 'symlink'),
         (stat.S_ISCHR, 'char device'), (stat.S_ISBLK, 'block device'), (stat.S_ISFIFO, 'fifo'),
         (stat.S_ISSOCK, 'socket')]


def kind(mode):
    return next(name for test, name in TYPES if test(mode))


def walk(root):  # relative bytes path -> absolute bytes path; b'' is the root itself
    out = {b'': root}
    for dp, dns, fns in os.walk(root):
        for n in dns + fns:
            p = os.path.join(dp, n)
            out[os.path.relpath(p, root)] = p
    return out


def xattrs(p):
    try:
        return {k: os.getxattr(p, k, follow_symlinks=False) for k in os.listxattr(p, follow_symlinks=False)}
    except OSError:
        return {}


def xattr_kind(name):
    if name == 'security.capability': return 'xattr security.capability'
    if name == 'system.posix_acl_access': return 'POSIX ACL (access)'
    if name == 'system.posix_acl_default': return 'POSIX ACL (default)'
    return 'xattr ' + name.split('.', 1)[0] + '.*'


def data_extents(p, size):  # [(offset, length)] of data, by SEEK_DATA/SEEK_HOLE
    out, off = [], 0
    fd = os.open(p, os.O_RDONLY | os.O_NOFOLLOW)
    try:
        while off < size:
            try:
                d = os.lseek(fd, off, os.SEEK_DATA)
            except OSError:
                break  # ENXIO: only a hole is left
            h = os.lseek(fd, d, os.SEEK_HOLE)
            out.append((d, h - d))
            off = h
    finally:
        os.close(fd)
    return out


def content(p):
    with open(p, 'rb') as f:
        return f.read()


def compare(a, b):
    A, B = walk(a), walk(b)
    lost = defaultdict(list)
    for rel in sorted(A):
        name = rel.decode('utf-8', 'backslashreplace') or '.'
        sa = os.lstat(A[rel])
        k = kind(sa.st_mode)
        if rel not in B:
            lost[f'{k} missing'].append(name)
            try:
                rel.decode('utf-8')
            except UnicodeDecodeError:
                lost['non-UTF-8 name missing'].append(name)
            if b'\n' in rel:
                lost['name with a newline missing'].append(name)
            continue
        sb = os.lstat(B[rel])
        if kind(sb.st_mode) != k:
            lost[f'{k} restored as {kind(sb.st_mode)}'].append(name)
            continue
        if not stat.S_ISLNK(sa.st_mode):
            ma, mb = stat.S_IMODE(sa.st_mode), stat.S_IMODE(sb.st_mode)
            for bit, what in [(stat.S_ISUID, 'setuid'), (stat.S_ISGID, 'setgid'), (stat.S_ISVTX, 'sticky')]:
                if ma & bit and not mb & bit: lost[f'{what} bit dropped'].append(name)
            if ma & 0o777 != mb & 0o777: lost['permission bits'].append(name)
        if (sa.st_uid, sa.st_gid) != (sb.st_uid, sb.st_gid): lost['owner (uid/gid)'].append(name)
        if sa.st_mtime_ns != sb.st_mtime_ns:
            if sa.st_mtime_ns // 10**9 == sb.st_mtime_ns // 10**9:
                lost[f'mtime nanoseconds ({k})'].append(name)
            else:
                lost[f'mtime ({k})'].append(name)
        if stat.S_ISREG(sa.st_mode):
            if sa.st_size != sb.st_size or content(A[rel]) != content(B[rel]):
                lost['file content'].append(name)
            else:
                ea, eb = data_extents(A[rel], sa.st_size), data_extents(B[rel], sb.st_size)
                hole_a = sa.st_size - sum(n for _, n in ea)
                hole_b = sb.st_size - sum(n for _, n in eb)
                if hole_a > 0 and hole_b < hole_a: lost['holes filled (sparse file written dense)'].append(name)
        elif stat.S_ISLNK(sa.st_mode):
            if os.readlink(A[rel]) != os.readlink(B[rel]): lost['symlink target'].append(name)
        elif stat.S_ISCHR(sa.st_mode) or stat.S_ISBLK(sa.st_mode):
            if sa.st_rdev != sb.st_rdev: lost['device numbers'].append(name)
        xa, xb = xattrs(A[rel]), xattrs(B[rel])
        for x in sorted(set(xa) | set(xb)):
            if x not in xb: lost[xattr_kind(x) + ' dropped'].append(name)
            elif x not in xa: lost[xattr_kind(x) + ' added'].append(name)
            elif xa[x] != xb[x]: lost[xattr_kind(x) + ' changed'].append(name)
    # hard links: groups of orig paths sharing an inode must share one in the restore, and no
    # others may
    groups = defaultdict(list)
    for rel, p in A.items():
        s = os.lstat(p)
        if not stat.S_ISDIR(s.st_mode) and s.st_nlink > 1: groups[(s.st_dev, s.st_ino)].append(rel)
    linked = set()
    for g in groups.values():
        linked |= set(g)
        inodes = {os.lstat(B[r]).st_ino for r in g if r in B}
        if len(inodes) > 1: lost['hard links split'].append(g[0].decode('utf-8', 'backslashreplace'))
    for rel, p in B.items():
        s = os.lstat(p)
        if rel in A and rel not in linked and not stat.S_ISDIR(s.st_mode) and s.st_nlink > 1:
            lost['hard links made that were not'].append(rel.decode('utf-8', 'backslashreplace'))
    extra = sorted(set(B) - set(A))
    if extra: lost['extra paths'] = [r.decode('utf-8', 'backslashreplace') for r in extra]
    return len(A), dict(lost)


def main(argv):
    args = [a for a in argv if a != '--json']
    if len(args) != 2:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    n, lost = compare(os.fsencode(args[0]), os.fsencode(args[1]))
    if '--json' in argv:
        print(json.dumps({'paths': n, 'lost': lost}, sort_keys=True))
        return
    if not lost: print(f'nothing lost ({n} paths)')
    for k in sorted(lost):
        v = lost[k]
        print(f'{k}: {len(v)} e.g. ' + ', '.join(repr(x) for x in v[:4]))


if __name__ == '__main__':
    main(sys.argv[1:])
