#!/usr/bin/env bash
# Builds the small disk images of the disk tests. Needs root (loop mounts).
#   make_disk.sh gpt OUT      GPT: 1 BIOS boot (bytes), 2 /boot ext2, 3 swap, 4 / ext4; MBR code
#   make_disk.sh dos OUT      MBR: 1 / ext4 (bootable), boot code in sector 0 and in the gap
#   make_disk.sh whole OUT    one ext4 filesystem spanning the file, no partition table
#   make_disk.sh nofs OUT     MBR with one partition of zeros
#   make_disk.sh lvm OUT      GPT: 1 /boot ext2, 2 an LVM PV of group "cairnvg" holding "swap"
#                             (extents 0-1), "home" (ext4, 2-3, /dev/cairnvg/home in fstab) and
#                             "root" (ext4, 4-10, then 2 free extents), 4 MiB extents; written
#                             with the host's lvm2 (vgcfgrestore: no device-mapper needed)
#   make_disk.sh lvmseg OUT   the same, but "root" in two segments: extents 4-5 and 8-12, with
#                             "home" at 6-7
#   make_disk.sh lvmboot OUT MARKER   the same as lvm, but "root" is the boot kind's root
#   make_disk.sh lvm2pv OUT   the same group on two PVs: 2 (20 MiB: swap, home) and 3 (root at
#                             its extent 0)
#   make_disk.sh lvmsnap OUT  the same as lvm, plus a snapshot of "root" (cow "snap", extent 11)
#   make_disk.sh logical OUT  MBR: 1 /boot ext2, 2 extended holding 5 / ext4 and 6 swap (EBRs
#                             where sfdisk puts them)
#   make_disk.sh luks OUT     MBR with one LUKS partition
#   make_disk.sh vfat OUT     MBR with one vfat partition
#   make_disk.sh boot OUT MARKER   MBR, one ext4 root whose /sbin/init (busybox) prints
#                             "cairn-boot-marker MARKER" on ttyS0 and powers off
# Root filesystems hold every kind of entry with full metadata: nanosecond mtimes, xattrs
# (user.*, security.capability), a POSIX ACL, a hard link, devices, a fifo, a symlink, a
# sparse file (and files for the zero-block hole rule), non-UTF-8 names; /etc/fstab names /boot by UUID.
set -euo pipefail
kind=$1 out=$2
work=$(mktemp -d)
mnt=$work/mnt
cleanup() { mountpoint -q "$mnt" && umount "$mnt"; rm -rf "$work"; }
trap cleanup EXIT
mkdir -p "$mnt"
ROOT_UUID=5c1f0e3a-1d2b-4c3d-9e4f-0a1b2c3d4e5f
BOOT_UUID=0b0e1b2c-3d4e-4f50-8a1b-2c3d4e5f6a7b

fill_root() {  # $1: directory
  local r=$1
  mkdir -p "$r/etc" "$r/boot" "$r/usr/bin" "$r/var/lib/dpkg" "$r/dev" "$r/tmp"
  printf 'PRETTY_NAME="Cairn Test 1"\nID=cairntest\nVERSION_ID=1\n' > "$r/etc/os-release"
  echo disktest > "$r/etc/hostname"
  printf 'UUID=%s / ext4 defaults 0 1\nUUID=%s /boot ext2 defaults 0 2\n' $ROOT_UUID $BOOT_UUID > "$r/etc/fstab"
  printf 'Package: hello\nStatus: install ok installed\nVersion: 2.10-3\nArchitecture: amd64\n\n' > "$r/var/lib/dpkg/status"
  head -c 300000 /dev/urandom > "$r/usr/bin/tool"
  chmod 4755 "$r/usr/bin/tool"
  setfattr -n security.capability -v 0sAQAAAgAgAAAAAAAAAAAAAAAAAAA= "$r/usr/bin/tool"
  setfattr -n user.note -v hello "$r/etc/hostname"
  setfacl -m u:1000:rx "$r/usr"
  ln "$r/usr/bin/tool" "$r/usr/bin/tool-link"
  mknod "$r/dev/null" c 1 3; mknod "$r/dev/sda" b 8 0; mkfifo "$r/dev/fifo"
  ln -s ../etc/hostname "$r/tmp/link"
  truncate -s 2M "$r/tmp/sparse"; echo end >> "$r/tmp/sparse"
  # holes: a 1 MiB hole, 8 KiB of data, a 512 KiB hole; zeros: written zero blocks, fully
  # allocated (never sparse)
  truncate -s 1M "$r/tmp/holes"; head -c 8192 /dev/zero | tr '\0' d >> "$r/tmp/holes"
  truncate -s $((1024 * 1024 + 8192 + 512 * 1024)) "$r/tmp/holes"
  { head -c 65536 /dev/zero; head -c 4096 /dev/zero | tr '\0' x; head -c 65536 /dev/zero; } > "$r/tmp/zeros"
  printf 'x' > "$r/tmp/$(printf 'caf\xe9')"
  chown 1000:1000 "$r/tmp/link" -h; chmod 1777 "$r/tmp"
  touch -d '2021-02-03 04:05:06.123456789' "$r/etc/hostname" "$r/usr/bin/tool"
  touch -h -d '2021-02-03 04:05:06.5' "$r/tmp/link"
}

# The gpt root (1 KiB blocks: mke2fs's "small" type) also holds kib: 1 KiB of data, a 1 KiB hole,
# 1 KiB of data (a hole only where blocks are 1 KiB; a 4 KiB-block host keeps it dense, so the
# image checked out to a host directory would not check in the same: hence only here)
fill_root_kib() {
  fill_root "$1"
  head -c 1024 /dev/zero | tr '\0' a > "$1/tmp/kib"; truncate -s 2048 "$1/tmp/kib"
  head -c 1024 /dev/zero | tr '\0' b >> "$1/tmp/kib"
}

# mkfs on [offset, offset+size) of $out, then fill through a loop mount (keeps ns mtimes)
mkfs_at() {  # type offset size uuid label filler
  local type=$1 off=$2 size=$3 uuid=$4 label=$5 filler=$6
  mke2fs -q -F -t "$type" -U "$uuid" -L "$label" -E offset=$off "$out" $((size / 1024))k
  mount -o loop,offset=$off,sizelimit=$size "$out" "$mnt"
  $filler "$mnt"
  umount "$mnt"
}
fill_boot() {
  printf 'kernel\n' > "$1/vmlinuz-test"; mkdir -p "$1/grub"; echo cfg > "$1/grub/grub.cfg"
  ln "$1/grub/grub.cfg" "$1/grub/grub.cfg.bak"
}

fill_boot_root() {  # $1: directory, $3: marker
  local r=$1
  mkdir -p "$r/bin" "$r/sbin" "$r/proc" "$r/sys" "$r/dev" "$r/etc"
  cp /bin/busybox "$r/bin/busybox"
  ln -s busybox "$r/bin/sh"
  echo "$3" > "$r/etc/marker"
  printf '#!/bin/busybox sh\n/bin/busybox mount -t proc proc /proc\n' > "$r/sbin/init"
  printf 'echo "cairn-boot-marker $(/bin/busybox cat /etc/marker) root=$(/bin/busybox cat /proc/cmdline)" > /dev/ttyS0\n' >> "$r/sbin/init"
  printf '/bin/busybox sync\n/bin/busybox poweroff -f\n' >> "$r/sbin/init"
  chmod 755 "$r/sbin/init"
}

rm -f "$out"
case $kind in
  gpt)
    truncate -s 48M "$out"
    sfdisk -q --no-reread --no-tell-kernel "$out" <<S
label: gpt
label-id: 8E3C2A10-5B4D-4E6F-9A0B-1C2D3E4F5A6B
first-lba: 34
start=2048, size=2048, type=21686148-6449-6E6F-744E-656564454649, uuid=A1A1A1A1-0000-4000-8000-000000000001, name="bios", attrs="LegacyBIOSBootable"
start=4096, size=16384, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, uuid=A1A1A1A1-0000-4000-8000-000000000002, name="boot"
start=20480, size=8192, type=0657FD6D-A4AB-43C4-84E5-0933C84B4F4F, uuid=A1A1A1A1-0000-4000-8000-000000000003, name="swap"
start=28672, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, uuid=A1A1A1A1-0000-4000-8000-000000000004, name="root"
S
    head -c 1048576 /dev/urandom | dd of="$out" bs=512 seek=2048 conv=notrunc status=none
    head -c 440 /dev/urandom | dd of="$out" conv=notrunc status=none
    mkfs_at ext2 $((4096 * 512)) $((16384 * 512)) $BOOT_UUID boot fill_boot
    mkswap -q -U 7e7e7e7e-1111-4222-8333-944444444444 -L swp "$work/swap" 4M 2>/dev/null || {
      truncate -s 4M "$work/swap"; mkswap -q -U 7e7e7e7e-1111-4222-8333-944444444444 -L swp "$work/swap"; }
    dd if="$work/swap" of="$out" bs=512 seek=20480 conv=notrunc status=none
    size=$(( $(stat -c %s "$out") - 28672 * 512 - 34 * 512 ))
    size=$(( size / 1048576 * 1048576 ))
    mkfs_at ext4 $((28672 * 512)) $size $ROOT_UUID root fill_root_kib
    ;;
  dos)
    truncate -s 40M "$out"
    printf 'label: dos\nlabel-id: 0x2badcafe\nstart=2048, type=83, bootable\n' | sfdisk -q --no-reread --no-tell-kernel "$out"
    head -c 440 /dev/urandom | dd of="$out" conv=notrunc status=none
    head -c 20000 /dev/urandom | dd of="$out" bs=512 seek=1 conv=notrunc status=none
    mkfs_at ext4 $((2048 * 512)) $(( 40 * 1048576 - 2048 * 512 )) $ROOT_UUID root fill_root
    ;;
  whole)
    truncate -s 24M "$out"
    mke2fs -q -F -t ext4 -U $ROOT_UUID -L whole "$out"
    mount -o loop "$out" "$mnt"; fill_root "$mnt"; umount "$mnt"
    ;;
  nofs)
    truncate -s 8M "$out"
    printf 'label: dos\nstart=2048, type=83\n' | sfdisk -q --no-reread --no-tell-kernel "$out"
    ;;
  lvm|lvmseg|lvmsnap|lvmboot|lvm2pv)
    extra_lvs= pv1= root_stripe='"pv0", 4' lvm_part='start=18432'
    pv_off=$((18432 * 512)) pv_size=$(( (131038 - 18432 + 1) * 512 ))
    if [ $kind = lvm2pv ]; then
      pv_size=$((40960 * 512)) pv1_off=$((59392 * 512)) pv1_size=$(( (131038 - 59392 + 1) * 512 ))
      lvm_part="start=18432, size=40960"
      root_stripe='"pv1", 0'
      pv1="pv1 { id = \"Cairn0-PV01-0000-0000-0000-0000-000001\" device = \"LOOP1\" status = [\"ALLOCATABLE\"] flags = []
			dev_size = $((pv1_size / 512)) pe_start = 2048 pe_count = $(( (pv1_size / 512 - 2048) / 8192 )) }"
    fi
    if [ $kind = lvmsnap ]; then
      extra_lvs='snap { id = "Cairn0-LVsn-0000-0000-0000-0000-000001" status = ["READ", "WRITE", "VISIBLE"] flags = []
			segment_count = 1
			segment1 { start_extent = 0 extent_count = 1 type = "striped" stripe_count = 1 stripes = ["pv0", 11] } }
		snapshot0 { id = "Cairn0-LVs0-0000-0000-0000-0000-000001" status = ["READ"] flags = [] segment_count = 1
			segment1 { start_extent = 0 extent_count = 7 type = "snapshot" chunk_size = 8 origin = "root" cow_store = "snap" } }'
    fi
    if [ $kind != lvmseg ]; then
      home_pe=2 root_segs='segment_count = 1
			segment1 { start_extent = 0 extent_count = 7 type = "striped" stripe_count = 1 stripes = ['"$root_stripe"'] }'
    else
      home_pe=6 root_segs='segment_count = 2
			segment1 { start_extent = 0 extent_count = 2 type = "striped" stripe_count = 1 stripes = ["pv0", 4] }
			segment2 { start_extent = 2 extent_count = 5 type = "striped" stripe_count = 1 stripes = ["pv0", 8] }'
    fi
    truncate -s 64M "$out"
    sfdisk -q --no-reread --no-tell-kernel "$out" <<S
label: gpt
label-id: 3C2A108E-5B4D-4E6F-9A0B-1C2D3E4F5A6B
start=2048, size=16384, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, uuid=B2B2B2B2-0000-4000-8000-000000000001, name="boot"
$lvm_part, type=E6D6D379-F507-44C2-A23C-238F2A3DF928, uuid=B2B2B2B2-0000-4000-8000-000000000002, name="lvm"
S
    if [ $kind = lvm2pv ]; then
      echo "start=59392, type=E6D6D379-F507-44C2-A23C-238F2A3DF928, uuid=B2B2B2B2-0000-4000-8000-000000000003, name=\"lvm1\"" |
        sfdisk -q --no-reread --no-tell-kernel --append "$out"
    fi
    mkfs_at ext2 $((2048 * 512)) $((16384 * 512)) $BOOT_UUID boot fill_boot
    cat > "$work/vg" <<M
contents = "Text Format Volume Group"
version = 1
cairnvg {
	id = "Cairn0-VG00-0000-0000-0000-0000-000001"
	seqno = 1
	format = "lvm2"
	status = ["RESIZEABLE", "READ", "WRITE"]
	flags = []
	extent_size = 8192
	max_lv = 0
	max_pv = 0
	metadata_copies = 0
	physical_volumes {
		pv0 {
			id = "Cairn0-PV00-0000-0000-0000-0000-000001"
			device = "LOOP"
			status = ["ALLOCATABLE"]
			flags = []
			dev_size = $((pv_size / 512))
			pe_start = 2048
			pe_count = $(( (pv_size / 512 - 2048) / 8192 ))
		}
		$pv1
	}
	logical_volumes {
		swap {
			id = "Cairn0-LVsw-0000-0000-0000-0000-000001"
			status = ["READ", "WRITE", "VISIBLE"]
			flags = []
			segment_count = 1
			segment1 {
				start_extent = 0
				extent_count = 2
				type = "striped"
				stripe_count = 1
				stripes = ["pv0", 0]
			}
		}
		home {
			id = "Cairn0-LVhm-0000-0000-0000-0000-000001"
			status = ["READ", "WRITE", "VISIBLE"]
			flags = []
			segment_count = 1
			segment1 {
				start_extent = 0
				extent_count = 2
				type = "striped"
				stripe_count = 1
				stripes = ["pv0", $home_pe]
			}
		}
		root {
			id = "Cairn0-LVrt-0000-0000-0000-0000-000001"
			status = ["READ", "WRITE", "VISIBLE"]
			flags = []
			$root_segs
		}
		$extra_lvs
	}
}
M
    loop=$(losetup --find --show --offset $pv_off --sizelimit $pv_size "$out") loops=
    if [ $kind = lvm2pv ]; then
      loop1=$(losetup --find --show --offset $pv1_off --sizelimit $pv1_size "$out")
      sed -i "s|LOOP1|$loop1|" "$work/vg"
      loops=,$loop1
    fi
    sed -i "s|LOOP\"|$loop\"|" "$work/vg"
    conf='devices { use_devicesfile = 0 obtain_device_list_from_udev = 0 } backup { backup = 0 archive = 0 }'
    export LVM_SUPPRESS_FD_WARNINGS=1
    ok=1
    pvcreate -ff -y -q --config "$conf" --devices $loop$loops --uuid Cairn0-PV00-0000-0000-0000-0000-000001 \
      --restorefile "$work/vg" $loop >/dev/null 2>&1 || ok=0
    if [ $kind = lvm2pv ]; then
      pvcreate -ff -y -q --config "$conf" --devices $loop$loops --uuid Cairn0-PV01-0000-0000-0000-0000-000001 \
        --restorefile "$work/vg" $loop1 >/dev/null 2>&1 || ok=0
    fi
    # vgcfgrestore warns that it cannot ask device-mapper whether volumes are active: none are.
    [ $ok = 1 ] && { vgcfgrestore -q --config "$conf" --devices $loop$loops -f "$work/vg" cairnvg >"$work/log" 2>&1 || ok=0; }
    losetup --detach $loop
    [ $kind = lvm2pv ] && losetup --detach $loop1
    [ $ok = 1 ] || { echo "pvcreate or vgcfgrestore failed" >&2; cat "$work/log" >&2 2>/dev/null; exit 1; }
    ext=$((4 * 1048576)) data=$((pv_off + 2048 * 512))
    truncate -s $((2 * ext)) "$work/swap"
    mkswap -q -U 7e7e7e7e-1111-4222-8333-955555555555 -L lvswap "$work/swap"
    dd if="$work/swap" of="$out" bs=1M seek=$((data / 1048576)) conv=notrunc status=none
    fill_lvm_root() {
      fill_root "$1"
      mkdir "$1/home"
      printf 'UUID=%s / ext4 defaults 0 1\nUUID=%s /boot ext2 defaults 0 2\n' $ROOT_UUID $BOOT_UUID > "$1/etc/fstab"
      printf '/dev/cairnvg/home /home ext4 defaults 0 2\n/dev/mapper/cairnvg-swap none swap sw 0 0\n' >> "$1/etc/fstab"
    }
    fill_home() { mkdir -p "$1/user"; echo notes > "$1/user/notes"; chown -R 1000:1000 "$1/user"; }
    mkfs_at ext4 $((data + home_pe * ext)) $((2 * ext)) 4e4e4e4e-1111-4222-8333-966666666666 home fill_home
    if [ $kind = lvmboot ]; then
      MARKER=${3:?marker}
      boot_filler() { fill_boot_root "$1" "" "$MARKER"; }
      mkfs_at ext4 $((data + 4 * ext)) $((7 * ext)) $ROOT_UUID root boot_filler
    elif [ $kind = lvm2pv ]; then
      mkfs_at ext4 $((pv1_off + 2048 * 512)) $((7 * ext)) $ROOT_UUID root fill_lvm_root
    elif [ $kind != lvmseg ]; then
      mkfs_at ext4 $((data + 4 * ext)) $((7 * ext)) $ROOT_UUID root fill_lvm_root
    else  # made in a file of the volume's size, then copied into its two segments
      lv=$work/root.lv
      truncate -s $((7 * ext)) "$lv"
      mke2fs -q -F -t ext4 -U $ROOT_UUID -L root "$lv"
      mount -o loop "$lv" "$mnt"; fill_lvm_root "$mnt"; umount "$mnt"
      dd if="$lv" of="$out" bs=1M count=8 seek=$(( (data + 4 * ext) / 1048576 )) conv=notrunc status=none
      dd if="$lv" of="$out" bs=1M skip=8 count=20 seek=$(( (data + 8 * ext) / 1048576 )) conv=notrunc status=none
    fi
    ;;
  logical)
    truncate -s 64M "$out"
    sfdisk -q --no-reread --no-tell-kernel "$out" <<S
label: dos
label-id: 0x10c1ca15
${out}1 : start=2048, size=16384, type=83, bootable
${out}2 : start=18432, type=5
${out}5 : start=20480, size=8192, type=82
${out}6 : start=30720, type=83
S
    head -c 440 /dev/urandom | dd of="$out" conv=notrunc status=none
    mkfs_at ext2 $((2048 * 512)) $((16384 * 512)) $BOOT_UUID boot fill_boot
    mkswap -q -U 7e7e7e7e-1111-4222-8333-977777777777 -L lswap "$work/swap" 4M 2>/dev/null || {
      truncate -s 4M "$work/swap"; mkswap -q -U 7e7e7e7e-1111-4222-8333-977777777777 -L lswap "$work/swap"; }
    dd if="$work/swap" of="$out" bs=512 seek=20480 conv=notrunc status=none
    mkfs_at ext4 $((30720 * 512)) $(( 64 * 1048576 - 30720 * 512 )) $ROOT_UUID root fill_root
    ;;
  luks)
    truncate -s 24M "$out"
    printf 'label: dos\nstart=2048, type=83\n' | sfdisk -q --no-reread --no-tell-kernel "$out"
    truncate -s 20M "$work/p"
    echo -n secret | cryptsetup luksFormat -q --type luks2 --pbkdf pbkdf2 --pbkdf-force-iterations 1000 "$work/p" - >/dev/null
    dd if="$work/p" of="$out" bs=512 seek=2048 conv=notrunc status=none
    ;;
  vfat)
    truncate -s 24M "$out"
    printf 'label: dos\nstart=2048, type=c\n' | sfdisk -q --no-reread --no-tell-kernel "$out"
    truncate -s 20M "$work/p"; mkfs.vfat "$work/p" >/dev/null
    dd if="$work/p" of="$out" bs=512 seek=2048 conv=notrunc status=none
    ;;
  boot)
    truncate -s 32M "$out"
    printf 'label: dos\nlabel-id: 0x0badb007\nstart=2048, type=83, bootable\n' | sfdisk -q --no-reread --no-tell-kernel "$out"
    filler() { fill_boot_root "$1" "" "$MARKER"; }
    MARKER=${3:?marker}
    mkfs_at ext4 $((2048 * 512)) $(( 32 * 1048576 - 2048 * 512 )) $ROOT_UUID root filler
    ;;
  *) echo "usage: $0 gpt|dos|whole|nofs|lvm|lvmseg|logical|luks|vfat OUT" >&2; exit 2 ;;
esac
