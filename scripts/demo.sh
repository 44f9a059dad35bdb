#!/usr/bin/env bash
# The main job, on a fresh Debian 12 machine (as root): installs what cairn needs, builds it,
# builds the real Debian corpus (../shared/corpus: v1 minbase, v2 = v1 + sshd/nginx/python3,
# v3 = v2 + a security update and /etc hardening) and runs cairn on it with the default
# repository ($CAIRN_REPO, else ~/.local/share/cairn): checkin of three related images with
# provenance, description, diff and search across them, a clone and a tag, checkout to a
# directory (checked for exactness) and to a tarball that checks in to the same root; an offline
# patch through a writable FUSE mount (vmount) committed as a new version; the same
# Debian as disk images: raw ext4 images checked in without an appliance, a qcow2 through
# libguestfs (the same Disk), diff and search across trees and disks, checkout to a bootable
# qcow2 layout; put/get of a raw disk image, verify and stats.
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD
shared=${SHARED:-$top/../shared}
export C=${C:-/tmp/corpus}

bash scripts/install-deps.sh
. scripts/kvm-env.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
ninja -C build cairn
cairn=$top/build/tools/cairn
bash "$shared/corpus/make-corpus.sh" trees
[ -e "$C/images/v1.raw" ] || bash "$shared/corpus/make-corpus.sh" images

step() { printf '\n== %s\n' "$*"; }
step "checkin v1, v2, v3 as versions of image 'debian' (v2 and v3 derived from the previous)"
"$cairn" checkin "$C/trees/v1" --image debian -m "bookworm minbase"
"$cairn" checkin "$C/trees/v2" --image debian -p debian -m "+ sshd nginx python3"
"$cairn" checkin "$C/trees/v3" --image debian -p debian -m "security update + hardening"
step "images and versions"
"$cairn" images
"$cairn" versions debian
step "describe, diff and search: no image is booted or extracted"
"$cairn" show debian:3 | sed -n 1,13p
"$cairn" diff debian:2 debian:3 --stat
"$cairn" diff debian:2 debian:3 etc
"$cairn" tag debian:3 prod
"$cairn" clone debian@prod web -m "web server from the patched base"
"$cairn" provenance debian:2
echo "-- which versions still ship a libssl3 older than the one in debian:3?"
"$cairn" search --package "libssl3<$("$cairn" show debian:3 --json | python3 -c 'import json,sys; print([p["version"] for p in json.load(sys.stdin)["packages"] if p["name"]=="libssl3"][0])')"
"$cairn" search --path 'libssl.so*'
step "ls and cat"
"$cairn" ls debian:3 etc/ssh -l
"$cairn" cat debian:3 etc/sysctl.d/99-hardening.conf
step "checkout debian:3 and compare with the original tree"
out=$(mktemp -d /tmp/cairn-demo.XXXXXX)
"$cairn" checkout debian:3 "$out/v3"
python3 "$shared/corpus/treecmp.py" "$C/trees/v3" "$out/v3"
step "checkout as a tarball; checking the tarball in gives the same root"
"$cairn" checkout web "$out/web.tar.zst"
"$cairn" checkin "$out/web.tar.zst" --image web-from-tar --json | grep '"root"'
"$cairn" show web --json | python3 -c 'import json,sys; print("  \"root\": \"%s\"," % json.load(sys.stdin)["root"])'
step "vmount: mount debian:3 writable, patch it offline, commit the edit as debian:4"
mnt="$out/mnt"
mkdir -p "$mnt"
"$cairn" vmount debian:3 "$mnt" --rw
trap '"$cairn" umount "$mnt" 2>/dev/null || true' EXIT
echo "patched offline through cairn vmount" >> "$mnt/etc/motd"
sed -i 's/^#\?MaxAuthTries.*/MaxAuthTries 3/' "$mnt/etc/ssh/sshd_config"
"$cairn" mounts
"$cairn" commit "$mnt" -m "offline patch: motd, sshd MaxAuthTries"
"$cairn" umount "$mnt"
trap - EXIT
"$cairn" diff debian:3 debian:4
step "disk images: raw ext4 images read through a read-only loop mount (no appliance)"
"$cairn" checkin "$C/images/v1.raw" --image vm -m "v1 as a disk"
"$cairn" checkin "$C/images/v3.raw" --image vm -p vm -m "v3 as a disk"
"$cairn" show vm:2 | sed -n 1,22p
"$cairn" diff vm:1 vm:2 --stat
echo "-- the v3 tree and the v3 disk: the same files; the disk adds lost+found, and mkfs.ext4 -d"
echo "   (which built the corpus image) kept no sub-second mtimes:"
"$cairn" diff debian:3 vm:2 --stat
"$cairn" search --path libssl.so.3
step "the same v1 as qcow2, through libguestfs (one appliance under TCG): the same Disk"
LIBGUESTFS_BACKEND=direct "$cairn" checkin "$C/images/v1.qcow2" --image vm-qcow2 -m "via libguestfs"
echo "vm:1       $("$cairn" show vm:1 --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["root"])')"
echo "vm-qcow2:1 $("$cairn" show vm-qcow2:1 --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["root"])')"
step "checkout vm:2 as a qcow2 disk, the last partition grown to 512 MiB"
"$cairn" checkout vm:2 "$out/vm2.qcow2" --format qcow2 --size 512M
qemu-img info "$out/vm2.qcow2" | sed -n 1,4p
step "put and get a raw disk image (content-defined chunks, found by its sha256sum)"
id=$("$cairn" put "$C/images/v1.raw")
"$cairn" get "$(sha256sum "$C/images/v1.raw" | cut -c1-64)" -o "$out/v1.raw"
cmp "$C/images/v1.raw" "$out/v1.raw" && echo "v1.raw round-trips byte-exact (id $id)"
step "verify and stats"
"$cairn" verify
"$cairn" stats
rm -rf "$out"
