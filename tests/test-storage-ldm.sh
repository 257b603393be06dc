#!/bin/bash -
# guestbox - Windows guests on dynamic disks (LDM).  tests/mkldm.py
# writes the LDM database around NTFS images made on the host: a
# one-disk guest whose system NTFS is the simple volume Volume1, and a
# two-disk guest with the same system volume plus a data volume spanned
# over both disks.  The host's ldmtool must accept the databases; then
# virt-inspector finds the Windows root on
# /dev/mapper/ldm_vol_GROUP_Volume1, virt-cat and virt-ls open it by
# inspection, virt-df and virt-filesystems list the volumes (not the
# dynamic disk's partitions), a file read from the spanned volume is
# whole, and virt-ls -lR of the volume by -m is compared with
# libguestfs.  The images are never written.
# Copyright (C) 2026 the guestbox authors
# SPDX-License-Identifier: GPL-2.0-or-later

set -e
. "${top_srcdir:=$(dirname "$0")/..}/tests/functions.sh"
. "$top_srcdir/tests/images.sh"
. "$top_srcdir/tests/inspector-images.sh"
requires_appliance
requires python3 mkntfs ntfs-3g hivexregedit ldmtool sha256sum
make_workdir
VIRT_CAT=$top_builddir/cat/virt-cat
VIRT_LS=$top_builddir/ls/virt-ls
VIRT_DF=$top_builddir/df/virt-df
VIRT_FS=$top_builddir/filesystems/virt-filesystems
VIRT_INSPECTOR=$top_builddir/inspect/virt-inspector
MKLDM="python3 $top_srcdir/tests/mkldm.py"
DG=WIN-GBOXTEST-Dg0
VOL1=/dev/mapper/ldm_vol_${DG}_Volume1
VOL2=/dev/mapper/ldm_vol_${DG}_Volume2

# The system volume: the Windows NTFS of the other Windows tests, with
# a hosts file and a user's documents.
windows_ntfs "$T/sys.img" 24 0x1badcafe 1048576 ||
  skip_or_fail "cannot build an NTFS image here (ntfs-3g through FUSE)"
mkdir -p "$T/mnt"
ntfs-3g "$T/sys.img" "$T/mnt"
mkdir -p "$T/mnt/Windows/System32/drivers/etc" "$T/mnt/Users/Alice/Documents"
printf '127.0.0.1       localhost\r\n' > "$T/mnt/Windows/System32/drivers/etc/hosts"
printf 'Read me.\r\n' > "$T/mnt/Users/Alice/Documents/readme.txt"
umount "$T/mnt"
# The data volume: 8 MiB, cut in two halves by mkldm.py, holding a
# 5 MiB file that crosses from the first disk to the second.
truncate -s 8M "$T/data.img"
mkntfs -F -Q -q -L DATA "$T/data.img" >/dev/null 2>&1
head -c 5M /dev/urandom > "$T/big.bin"
ntfs-3g "$T/data.img" "$T/mnt"
cp "$T/big.bin" "$T/mnt/big.bin"
umount "$T/mnt"
for _ in $(seq 50); do
  fuser -s "$T/sys.img" "$T/data.img" 2>/dev/null || break; sleep 0.1
done

cd "$T"
$MKLDM $DG one.img Volume1=sys.img
$MKLDM $DG two-a.img,two-b.img Volume1=sys.img Volume2=data.img@2
rm -f sys.img data.img

# The host's libldm reads the databases as Windows wrote them.
g=$(ldmtool scan one.img 2>/dev/null | tr -d ' "[],\n')
[ -n "$g" ] || fail "fixture: ldmtool finds no disk group on one.img"
out=$(ldmtool -d one.img show volume "$g" Volume1 2>/dev/null |
      grep -E '"(type|size)"' | tr -d ' ,')
expect_eq "ldmtool: Volume1 is a simple volume of 24 MiB" '"type":"simple"
"size":49152' "$out"
g=$(ldmtool scan two-a.img two-b.img 2>/dev/null | tr -d ' "[],\n')
out=$(ldmtool -d two-a.img -d two-b.img show volume "$g" Volume2 2>/dev/null |
      tr -d ' ,\n')
case $out in
  *'"type":"spanned"'*'"size":16384'*'"partitions":["Disk1-02""Disk2-02"]'*) ;;
  *) fail "fixture: ldmtool on the spanned volume: $out" ;;
esac
ok "ldmtool accepts the LDM databases"
sum=$(sha256sum one.img two-a.img two-b.img)

# One disk: inspection, virt-cat and virt-ls by inspection.
out=$("$VIRT_INSPECTOR" -a one.img | grep -E '<root>|<hostname>|mountpoint dev')
expect_eq "virt-inspector: the root on the LDM volume" "    <root>$VOL1</root>
    <hostname>WIN-GBOXTEST</hostname>
      <mountpoint dev=\"$VOL1\">/</mountpoint>" "$out"
out=$("$VIRT_CAT" -a one.img /windows/system32/DRIVERS/etc/hosts | tr -d '\r')
expect_eq "virt-cat on the LDM volume" "127.0.0.1       localhost" "$out"
out=$("$VIRT_LS" -a one.img -l /Users/Alice/Documents | awk 'NR > 1 {print $5, $9}')
expect_eq "virt-ls -l on the LDM volume" "0 .
0 ..
10 readme.txt" "$out"
out=$("$VIRT_DF" -a one.img --csv | cut -d, -f1,2)
expect_eq "virt-df --csv: the volume" "VirtualMachine,Filesystem
one.img,$VOL1" "$out"
out=$("$VIRT_FS" -a one.img --all --long | awk '{print $1, $2, $3, $5, $6}')
expect_eq "virt-filesystems --all: the volume, not the partition" "Name Type VFS MBR Size
$VOL1 filesystem ntfs - 25161728
/dev/sda1 partition - 42 25165824
/dev/sda device - - 27262976" "$out"

# Two disks: the spanned data volume too.
out=$("$VIRT_DF" -a two-a.img -a two-b.img --csv | cut -d, -f1,2)
expect_eq "virt-df --csv: both volumes" "VirtualMachine,Filesystem
two-a.img+,$VOL1
two-a.img+,$VOL2" "$out"
"$VIRT_CAT" -a two-a.img -a two-b.img -m "$VOL2" /big.bin > got.bin
cmp -s big.bin got.bin || fail "the file on the spanned volume differs"
ok "a file across both disks of the spanned volume reads whole"

# Hostile databases: one that libldm refuses (it counts 2 volumes,
# holds 1), and a disk group whose name has characters no device name
# may have.  No volume is shown, the partitions are still not
# filesystems, and the command succeeds.
cp one.img bad-count.img
python3 - bad-count.img <<'EOF2'
import os, sys
f = open(sys.argv[1], "r+b")
vmdb = (os.path.getsize(sys.argv[1]) // 512 - 2048 + 17) * 512
f.seek(vmdb + 0x85)
f.write((2).to_bytes(4, "big"))
EOF2
truncate -s 2M small.img
mkntfs -F -Q -q small.img >/dev/null 2>&1
$MKLDM 'Evil Dg0/../x' bad-name.img Volume1=small.img
out=$("$VIRT_DF" -a bad-count.img -a bad-name.img --csv)
expect_eq "virt-df --csv: hostile LDM databases give no volume" \
  "VirtualMachine,Filesystem,1K-blocks,Used,Available,Use%" "$out"

[ "$(sha256sum one.img two-a.img two-b.img)" = "$sum" ] ||
  fail "an image changed"
ok "the images are unchanged"

check_no_qemu
requires_libguestfs virt-ls
compare_lg "virt-ls -lR of the LDM volume" virt-ls -a one.img -m "$VOL1" -lR /
