#!/usr/bin/env bash
# The main job, on a fresh Debian 12 machine (as root): installs what cairn needs, builds it,
# builds the real Debian corpus (../shared/corpus: v1 minbase, v2 = v1 + sshd/nginx/python3,
# v3 = v2 + a security update and /etc hardening) and runs cairn on it with the default
# repository ($CAIRN_REPO, else ~/.local/share/cairn): checkin of three related images with
# provenance, listing, reading a file, checkout, an exactness check, put/get of a raw disk image,
# verify and stats.
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD
shared=${SHARED:-$top/../shared}
export C=${C:-/tmp/corpus}

bash scripts/install-deps.sh
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
step "ls and cat"
"$cairn" ls debian:3 etc/ssh -l
"$cairn" cat debian:3 etc/sysctl.d/99-hardening.conf
step "checkout debian:3 and compare with the original tree"
out=$(mktemp -d /tmp/cairn-demo.XXXXXX)
"$cairn" checkout debian:3 "$out/v3"
python3 "$shared/corpus/treecmp.py" "$C/trees/v3" "$out/v3"
step "put and get a raw disk image (content-defined chunks, found by its sha256sum)"
id=$("$cairn" put "$C/images/v1.raw")
"$cairn" get "$(sha256sum "$C/images/v1.raw" | cut -c1-64)" -o "$out/v1.raw"
cmp "$C/images/v1.raw" "$out/v1.raw" && echo "v1.raw round-trips byte-exact (id $id)"
step "verify and stats"
"$cairn" verify
"$cairn" stats
rm -rf "$out"
