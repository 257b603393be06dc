# guestbox - the disks virt-filesystems is compared on (sourced after
# functions.sh, images.sh and inspector-images.sh, with T set).
# Copyright (C) 2026 the guestbox authors
# SPDX-License-Identifier: GPL-2.0-or-later

# fs_images: $T/multi.img (MBR: ext4, vfat, an extended partition
# holding swap and NTFS, an empty partition), $T/lvm.img (/boot and a
# physical volume with vg0/root (ext4) and vg0/data (empty), made by
# tests/mklvm), $T/btrfs.img (GPT, btrfs with subvolumes root and
# home).  Returns 1 when the btrfs image cannot be made (it needs a
# loop mount).
fs_images () {
  make_linux_tree "$T/tree" fshost
  ext4_image "$T/p1.img" 16 "$T/tree" ROOT
  mkdir -p "$T/fat"; echo hello > "$T/fat/hello.txt"
  vfat_image "$T/p2.img" 16 "$T/fat"
  truncate -s 8M "$T/p5.img"
  mkswap -q -L SWAP -U 11111111-2222-3333-4444-555555555555 "$T/p5.img" >/dev/null
  truncate -s 16M "$T/p6.img"
  mkntfs -F -Q -q -L WINDATA "$T/p6.img" >/dev/null 2>&1
  truncate -s 80M "$T/multi.img"
  sfdisk -q -X dos "$T/multi.img" >/dev/null <<SF
start=2048, size=32768, type=83, bootable
start=34816, size=32768, type=c
start=67584, size=69632, type=5
start=137216, size=8192, type=83
start=69632, size=16384, type=82
start=88064, size=32768, type=7
SF
  dd if="$T/p1.img" of="$T/multi.img" bs=512 seek=2048 conv=notrunc status=none
  dd if="$T/p2.img" of="$T/multi.img" bs=512 seek=34816 conv=notrunc status=none
  dd if="$T/p5.img" of="$T/multi.img" bs=512 seek=69632 conv=notrunc status=none
  dd if="$T/p6.img" of="$T/multi.img" bs=512 seek=88064 conv=notrunc status=none
  rm -f "$T"/p[1256].img

  ext4_image "$T/boot.img" 16 "$T/fat" BOOT
  ext4_image "$T/root.img" 24 "$T/tree" LVROOT
  truncate -s 72M "$T/lvm.img"
  printf 'start=2048, size=32768, type=83\nstart=34816, type=8e\n' |
    sfdisk -q -X dos "$T/lvm.img" >/dev/null
  dd if="$T/boot.img" of="$T/lvm.img" bs=512 seek=2048 conv=notrunc status=none
  "$top_builddir/tests/mklvm" "$T/lvm.img" /dev/sda2 vg0 root:24 data:8
  dd if="$T/root.img" of="$T/lvm.img" bs=1M seek=$((34816 / 2048 + 1)) \
    conv=notrunc status=none
  rm -f "$T/boot.img" "$T/root.img"

  btrfs_fedora "$T/bt.img" 128 || return 1
  gpt_disk "$T/btrfs.img" 132 "$T/bt.img"
  rm -f "$T/bt.img"
}
