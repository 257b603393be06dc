#!/bin/bash -
# guestbox - virt-cat end to end: MBR + GPT disks, ext4 + vfat, two
# images, symlinks resolved inside the guest, a 200 MB file, missing
# files, -m, and the images left byte-identical.
# Copyright (C) 2026 the guestbox authors
# SPDX-License-Identifier: GPL-2.0-or-later

set -e
. "${top_srcdir:=$(dirname "$0")/..}/tests/functions.sh"
. "$top_srcdir/tests/images.sh"
requires_appliance
requires mkfs.ext4 mkfs.vfat mcopy sfdisk sha256sum
make_workdir

# Disk 1: MBR, one ext4 partition holding a Linux root and a 200 MB file.
make_linux_tree "$T/root" catguest
head -c 200M /dev/urandom > "$T/root/big"
echo 'LABEL=GBVFAT /data vfat ro 0 0' > "$T/root/etc/fstab"
echo '/dev/sda1 / ext4 defaults 0 1' >> "$T/root/etc/fstab"
ext4_image "$T/p1.img" 300 "$T/root" rootfs
mbr_disk "$T/disk1.img" 302 "$T/p1.img"
rm "$T/p1.img"
bigsum=$(sha256sum < "$T/root/big")

# Disk 2: GPT, one vfat partition mounted at /data by the guest's fstab.
mkdir -p "$T/data/sub"
echo "from the second disk" > "$T/data/file.txt"
echo "nested" > "$T/data/sub/n.txt"
vfat_image "$T/p2.img" 16 "$T/data"
gpt_disk "$T/disk2.img" 20 "$T/p2.img"
rm "$T/p2.img"

sums_before=$(sha256sum "$T/disk1.img" "$T/disk2.img")

# Several files in order, through relative and absolute symlinks, a name
# with spaces, an empty file, and a file on the second disk.
out=$("$VIRT_CAT" -a "$T/disk1.img" -a "$T/disk2.img" \
        /etc/hostname "/etc/name with spaces" /etc/os-release \
        /etc/os-release-abs /etc/empty /data/file.txt /data/sub/n.txt \
        /home/user/notes.txt)
expected='catguest
spaced out
PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
NAME="Debian GNU/Linux"
VERSION_ID="12"
ID=debian
PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
NAME="Debian GNU/Linux"
VERSION_ID="12"
ID=debian
from the second disk
nested
line1
line2'
expect_eq "several files, symlinks, spaces, two disks" "$expected" "$out"
check_no_qemu

# 200 MB, any size streams through FileOut.
sum=$("$VIRT_CAT" -a "$T/disk1.img" /big | sha256sum)
expect_eq "200 MB file checksum" "$bigsum" "$sum"
check_no_qemu

# A missing file in the middle: the others still print, exit 1, one
# error line naming the file.
rc=0
"$VIRT_CAT" -a "$T/disk1.img" /etc/hostname /nonexistent /etc/motd \
  >"$T/out" 2>"$T/err" || rc=$?
expect_eq "missing file: exit status" 1 "$rc"
expect_eq "missing file: the other files print" "catguest
hello world" "$(cat "$T/out")"
[ "$(wc -l < "$T/err")" = 1 ] && grep -q '^virt-cat: error: .*/nonexistent.*No such file' "$T/err" \
  || { cat "$T/err"; fail "missing file: error message"; }
ok "missing file: $(cat "$T/err")"
check_no_qemu

# Explicit -m instead of inspection.
out=$("$VIRT_CAT" -a "$T/disk1.img" -a "$T/disk2.img" -m /dev/sdb1 /file.txt)
expect_eq "-m /dev/sdb1 (vfat on GPT)" "from the second disk" "$out"
check_no_qemu

# The read-only images were never written.
sums_after=$(sha256sum "$T/disk1.img" "$T/disk2.img")
expect_eq "images unchanged" "$sums_before" "$sums_after"
