#!/bin/bash -
# guestbox - byte-for-byte comparison with the libguestfs tools on the
# same images: virt-df (text, -h, -i --csv, two disks, LVM) and virt-ls
# -lR --checksum.  Skipped (77) when the libguestfs tools are absent (a
# failure in CI) or GBOX_COMPARE=0; each libguestfs run takes ~20 s.
# Copyright (C) 2026 the guestbox authors
# SPDX-License-Identifier: GPL-2.0-or-later

set -e
. "${top_srcdir:=$(dirname "$0")/..}/tests/functions.sh"
. "$top_srcdir/tests/images.sh"
requires_appliance
requires_libguestfs virt-df virt-ls
requires mkfs.ext4 sfdisk
make_workdir
VIRT_DF=$top_builddir/df/virt-df
MKLVM=$top_builddir/tests/mklvm

# /boot on sda1, a PV on sda2 with vg0/root (made by our appliance).
make_linux_tree "$T/tree" cmphost
printf '/dev/vg0/root / ext4 defaults 0 1\nLABEL=BOOT /boot ext4 defaults 0 2\n' > "$T/tree/etc/fstab"
mkdir -p "$T/boot"; echo kernel > "$T/boot/vmlinuz"
ext4_image "$T/root.img" 24 "$T/tree" ROOT
ext4_image "$T/boot.img" 16 "$T/boot" BOOT
truncate -s 64M "$T/disk.img"
printf 'start=2048, size=32768, type=83\nstart=34816, type=8e\n' |
  sfdisk -q -X dos "$T/disk.img" >/dev/null
dd if="$T/boot.img" of="$T/disk.img" bs=512 seek=2048 conv=notrunc status=none
"$MKLVM" "$T/disk.img" /dev/sda2 vg0 root:24
dd if="$T/root.img" of="$T/disk.img" bs=1M seek=$((34816 / 2048 + 1)) conv=notrunc status=none
cp "$T/disk.img" "$T/disk2.img"
cd "$T"

compare_lg "virt-df (LVM)" virt-df -a disk.img
compare_lg "virt-df -h" virt-df -h -a disk.img
compare_lg "virt-df -i --csv, two disks" virt-df -i --csv -a disk.img -a disk2.img
compare_lg "virt-ls -lR --checksum=sha256 --csv" virt-ls -a disk.img -lR --checksum=sha256 --csv /etc
