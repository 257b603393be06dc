#!/bin/bash -
# guestbox - an md RAID1 guest: two partitions of one MBR disk mirrored
# with metadata 1.0 (superblock at the end, data from the start), made
# by the project's own appliance (tests/mkstorage runs mdadm --create)
# over the same ext4 root written to both halves on the host.  The
# array is /dev/md127 (a foreign array, as libguestfs names it),
# assembled read-only by read-only commands.  virt-cat, virt-ls -lR,
# virt-df (text, --csv) and virt-inspector, compared with libguestfs.
# Copyright (C) 2026 the guestbox authors
# SPDX-License-Identifier: GPL-2.0-or-later

set -e
. "${top_srcdir:=$(dirname "$0")/..}/tests/functions.sh"
. "$top_srcdir/tests/images.sh"
requires_appliance
requires mkfs.ext4 sfdisk blkid sha256sum
make_workdir
VIRT_CAT=$top_builddir/cat/virt-cat
VIRT_DF=$top_builddir/df/virt-df
VIRT_INSPECTOR=$top_builddir/inspect/virt-inspector
MKSTORAGE=$top_builddir/tests/mkstorage

make_linux_tree "$T/root" raidguest
# The filesystem's UUID is known before it is made.
fsuuid=12345678-9abc-4def-8123-456789abcdef
printf 'UUID=%s / ext4 defaults 0 1\n' $fsuuid > "$T/root/etc/fstab"
mkfs.ext4 -q -F -U $fsuuid -L RAIDROOT -d "$T/root" "$T/root.img" 36M
truncate -s 100M "$T/disk.img"
printf 'start=2048, size=81920, type=fd\nstart=83968, size=81920, type=fd\n' |
  sfdisk -q -X dos "$T/disk.img"
dd if="$T/root.img" of="$T/disk.img" bs=512 seek=2048 conv=notrunc status=none
dd if="$T/root.img" of="$T/disk.img" bs=512 seek=83968 conv=notrunc status=none
"$MKSTORAGE" "$T/disk.img" -- md:0:raid1:1.0:/dev/sda1,/dev/sda2
rm -f "$T/root.img"
check_no_qemu
cd "$T"
[ "$(blkid -p -o value -s TYPE -O $((2048 * 512)) -S $((81920 * 512)) disk.img)" = linux_raid_member ] ||
  fail "fixture: no md superblock on sda1"
sum=$(sha256sum disk.img)
ok "md RAID1 guest made with mkstorage"

out=$("$VIRT_CAT" -v -a disk.img /etc/hostname 2>err)
expect_eq "virt-cat on md RAID1" "raidguest" "$out"
grep -q 'mdadm --assemble (read-only): status 0' err ||
  { grep mdadm err; fail "the array was not assembled read-only"; }
ok "the array is assembled read-only"

out=$("$VIRT_DF" -a disk.img --csv | cut -d, -f1,2)
expect_eq "virt-df --csv (the array, not its members)" "VirtualMachine,Filesystem
disk.img,/dev/md127" "$out"
out=$("$VIRT_DF" -a disk.img | awk '{print $1}')
expect_eq "virt-df" "Filesystem
disk.img:/dev/md127" "$out"
out=$("$VIRT_INSPECTOR" -a disk.img | grep -E '<root>|<hostname>|mountpoint dev')
expect_eq "virt-inspector: root on /dev/md127" "    <root>/dev/md127</root>
    <hostname>raidguest</hostname>
      <mountpoint dev=\"/dev/md127\">/</mountpoint>" "$out"

[ "$(sha256sum disk.img)" = "$sum" ] || fail "the image changed"
ok "the image is unchanged"

check_no_qemu
requires_libguestfs virt-ls virt-df
compare_lg "virt-ls -lR on md RAID1" virt-ls -a disk.img -lR /
compare_lg "virt-df --csv on md RAID1" virt-df --csv -a disk.img
