#!/bin/bash -
# guestbox - virt-df on images built here: an ext4 root + /boot GPT
# guest, an LVM guest made by the project's own appliance (tests/mklvm),
# a vfat disk, and several images audited at once with --each.
# Copyright (C) 2026 the guestbox authors
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The expected numbers come from the images themselves: the inode
# columns (-i) are the ext4 superblock's inode count and free inodes
# (what statvfs reports for ext4), read on the host with dumpe2fs.

set -e
. "${top_srcdir:=$(dirname "$0")/..}/tests/functions.sh"
. "$top_srcdir/tests/images.sh"
requires_appliance
requires mkfs.ext4 dumpe2fs sfdisk mkfs.vfat mcopy
make_workdir
VIRT_DF=$top_builddir/df/virt-df
MKLVM=$top_builddir/tests/mklvm

# ext4 root + /boot on GPT.
make_linux_tree "$T/tree" dfhost
mkdir -p "$T/boot"; echo kernel > "$T/boot/vmlinuz"
ext4_image "$T/root.img" 40 "$T/tree" ROOT
ext4_image "$T/boot.img" 16 "$T/boot" BOOT
gpt_disk "$T/disk.img" 64 "$T/root.img" "$T/boot.img"

# The inode line virt-df -i prints for an ext4 image.
inode_line () {                 # NAME DEVICE IMAGE
  local total free
  total=$(dumpe2fs -h "$3" 2>/dev/null | sed -n 's/^Inode count: *//p')
  free=$(dumpe2fs -h "$3" 2>/dev/null | sed -n 's/^Free inodes: *//p')
  awk -v n="$1:$2" -v t="$total" -v f="$free" 'BEGIN {
    p = 100 - 100 * f / t; c = int (p); if (c < p) c++;
    printf "%-36s%10d %10d %10d %4d%%\n", n, t, t - f, f, c }'
}
inode_csv () {                  # NAME DEVICE IMAGE
  local total free
  total=$(dumpe2fs -h "$3" 2>/dev/null | sed -n 's/^Inode count: *//p')
  free=$(dumpe2fs -h "$3" 2>/dev/null | sed -n 's/^Free inodes: *//p')
  awk -v n="$1" -v d="$2" -v t="$total" -v f="$free" 'BEGIN {
    printf "%s,%s,%d,%d,%d,%.1f\n", n, d, t, t - f, f, 100 - 100 * f / t }'
}
title_i=$(printf "%-36s%10s %10s %10s %5s" Filesystem Inodes IUsed IFree "IUse%")

out=$("$VIRT_DF" -i -a "$T/disk.img")
expect_eq "-i on root + /boot" "$title_i
$(inode_line disk.img /dev/sda1 "$T/root.img")
$(inode_line disk.img /dev/sda2 "$T/boot.img")" "$out"

out=$("$VIRT_DF" -i --csv "$T/disk.img")
expect_eq "-i --csv, image given without -a" "VirtualMachine,Filesystem,Inodes,IUsed,IFree,IUse%
$(inode_csv disk.img /dev/sda1 "$T/root.img")
$(inode_csv disk.img /dev/sda2 "$T/boot.img")" "$out"

# Blocks: the title, the devices, sizes that fit the filesystems.
out=$("$VIRT_DF" -a "$T/disk.img")
expect_eq "title" "Filesystem                           1K-blocks       Used  Available  Use%" \
  "$(echo "$out" | head -n1)"
echo "$out" | awk 'NR > 1 { print $1 }' > "$T/devs"
expect_eq "devices" "disk.img:/dev/sda1
disk.img:/dev/sda2" "$(cat "$T/devs")"
blocks=$(echo "$out" | awk '$1 == "disk.img:/dev/sda1" { print $2 }')
[ "$blocks" -gt 30000 ] && [ "$blocks" -le 40960 ] ||
  fail "1K-blocks of a 40 MiB ext4: $blocks"
ok "1K-blocks of a 40 MiB ext4: $blocks"
out=$("$VIRT_DF" -h -a "$T/disk.img")
echo "$out" | head -n1 | grep -q "^Filesystem  *Size  *Used  *Available  *Use%$" ||
  fail "-h title: $out"
echo "$out" | grep -Eq '^disk.img:/dev/sda1 +3[0-9]M +[0-9.]+K +[0-9]+M +1%$' ||
  fail "-h sizes: $out"
ok "-h"

# Two disks of one guest: "first+" and /dev/sdb.
out=$("$VIRT_DF" --csv -i -a "$T/disk.img" -a "$T/disk.img")
expect_eq "two disks, one guest" "VirtualMachine,Filesystem,Inodes,IUsed,IFree,IUse%
$(inode_csv disk.img+ /dev/sda1 "$T/root.img")
$(inode_csv disk.img+ /dev/sda2 "$T/boot.img")
$(inode_csv disk.img+ /dev/sdb1 "$T/root.img")
$(inode_csv disk.img+ /dev/sdb2 "$T/boot.img")" "$out"

# An LVM guest: /boot on sda1, a PV on sda2 holding vg0/root and
# vg0/data, made by our appliance; the filesystems are written into
# the LVs at their offsets (1 MiB into the PV, 4 MiB extents).
mkdir -p "$T/lvtree"; make_linux_tree "$T/lvtree" lvmhost
printf '/dev/mapper/vg0-root / ext4 defaults 0 1\n/dev/vg0/data /data ext4 defaults 0 2\nLABEL=BOOT /boot ext4 defaults 0 2\n' \
  > "$T/lvtree/etc/fstab"
mkdir -p "$T/datatree"; echo "on the data LV" > "$T/datatree/marker"
ext4_image "$T/lvroot.img" 20 "$T/lvtree" LVROOT
ext4_image "$T/lvdata.img" 8 "$T/datatree" LVDATA
truncate -s 80M "$T/lvm.img"
printf 'start=2048, size=32768, type=83\nstart=34816, type=8e\n' |
  sfdisk -q -X dos "$T/lvm.img" >/dev/null
dd if="$T/boot.img" of="$T/lvm.img" bs=512 seek=2048 conv=notrunc status=none
"$MKLVM" "$T/lvm.img" /dev/sda2 vg0 root:20 data:8
check_no_qemu
pv=$((34816 * 512 + 1048576))
dd if="$T/lvroot.img" of="$T/lvm.img" bs=1M seek=$((pv / 1048576)) conv=notrunc status=none
dd if="$T/lvdata.img" of="$T/lvm.img" bs=1M seek=$((pv / 1048576 + 20)) conv=notrunc status=none
ok "LVM image made with mklvm"

out=$("$VIRT_DF" -i -a "$T/lvm.img")
expect_eq "-i on the LVM guest (PV skipped, LVs listed)" "$title_i
$(inode_line lvm.img /dev/sda1 "$T/boot.img")
$(inode_line lvm.img /dev/vg0/data "$T/lvdata.img")
$(inode_line lvm.img /dev/vg0/root "$T/lvroot.img")" "$out"

# Inspection on the LVM guest: root on /dev/mapper/vg0-root, /data on
# /dev/vg0/data (fstab names of both kinds), /boot by label.
out=$("$VIRT_CAT" -a "$T/lvm.img" /etc/hostname /data/marker /boot/vmlinuz)
expect_eq "virt-cat through the fstab's LVM names" "lvmhost
on the data LV
kernel" "$out"
out=$("$VIRT_CAT" -a "$T/lvm.img" -m /dev/vg0/data /marker)
expect_eq "-m /dev/vg0/data" "on the data LV" "$out"
expect_error "-m naming a missing LV" "no such device" \
  "$VIRT_CAT" -a "$T/lvm.img" -m /dev/vg0/nosuch /marker

# A vfat disk (no partition table).
mkdir -p "$T/fat"; echo x > "$T/fat/file"
vfat_image "$T/fat.img" 8 "$T/fat"
out=$("$VIRT_DF" --csv -a "$T/fat.img")
echo "$out" | grep -Eq '^fat.img,/dev/sda,[0-9]+,[0-9]+,[0-9]+,[0-9]+\.[0-9]$' ||
  fail "vfat: $out"
ok "vfat whole disk: $(echo "$out" | tail -n1)"

# --each: every image its own guest, each disk shown as /dev/sda, in
# the order given, with -P 2 and without.
want="VirtualMachine,Filesystem,Inodes,IUsed,IFree,IUse%
$(inode_csv disk.img /dev/sda1 "$T/root.img")
$(inode_csv disk.img /dev/sda2 "$T/boot.img")
$(inode_csv lvm.img /dev/sda1 "$T/boot.img")
$(inode_csv lvm.img /dev/vg0/data "$T/lvdata.img")
$(inode_csv lvm.img /dev/vg0/root "$T/lvroot.img")
$(inode_csv root.img /dev/sda "$T/root.img")"
out=$("$VIRT_DF" --each -i --csv "$T/disk.img" "$T/lvm.img" "$T/root.img")
expect_eq "--each" "$want" "$out"
out=$("$VIRT_DF" --each -P 2 -i --csv -a "$T/disk.img" -a "$T/lvm.img" -a "$T/root.img")
expect_eq "--each -P 2" "$want" "$out"
out=$("$VIRT_DF" --each --one-per-guest -i --csv "$T/disk.img" "$T/lvm.img" "$T/root.img")
expect_eq "--each --one-per-guest" "$want" "$out"
check_no_qemu

# Bad input: a missing image, an image that is not a disk.
expect_error "missing image" "virt-df: error: .*no-such.img" \
  "$VIRT_DF" -a "$T/no-such.img"
: > "$T/empty.img"
expect_error "empty image" \
  "^virt-df: error: .*empty.img: the disk image is empty \(0 bytes\)$" \
  "$VIRT_DF" -a "$T/empty.img"
check_no_qemu
