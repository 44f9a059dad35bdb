#!/usr/bin/env bash
# Installs every Debian 12 package that cairn's build, tests and benchmarks need.
# Idempotent; run as root (CI does). Usage: scripts/install-deps.sh [--no-peers]
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

build=(build-essential cmake ninja-build pkg-config git
       librocksdb-dev libzstd-dev libssl-dev libarchive-dev libfmt-dev
       libboost-program-options-dev nlohmann-json3-dev libgtest-dev libgmock-dev libbenchmark-dev
       libjemalloc-dev libfuse3-dev fuse3 libguestfs-dev libext2fs-dev libvirt-dev liburing-dev
       # the archives CAIRN_STATIC_DEPS links (most arrive with the packages above anyway)
       libsnappy-dev liblz4-dev libbz2-dev liblzma-dev zlib1g-dev nettle-dev libxml2-dev libicu-dev
       # the fuzz targets (fuzz/): clang with libFuzzer
       clang-14 libclang-rt-14-dev)
runtime=(zstd e2fsprogs attr acl rsync python3 time xz-utils lz4 bzip2 libarchive-tools
         libguestfs-tools qemu-utils qemu-system-x86 linux-image-amd64
         libvirt-daemon-system libvirt-clients lvm2 debootstrap gdisk fdisk parted
         busybox-static initramfs-tools cryptsetup-bin dosfstools)
peers=(ostree restic borgbackup casync hyperfine)

pkgs=("${build[@]}" "${runtime[@]}")
[ "${1:-}" = --no-peers ] || pkgs+=("${peers[@]}")

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# The boot test starts the host's Debian kernel with its initramfs. linux-image-amd64 makes one
# only when initramfs-tools was configured first, which one apt transaction does not promise.
kernel=$(ls /boot/vmlinuz-* 2>/dev/null | sort -V | tail -1)
if [ -n "$kernel" ] && [ ! -e "/boot/initrd.img-${kernel#/boot/vmlinuz-}" ]; then
  update-initramfs -c -k "${kernel#/boot/vmlinuz-}"
fi
