#!/bin/bash -
# guestbox - the libguestfs forms, compared with the libguestfs tools on
# the same command lines: the old-style syntax (virt-cat disk.img FILE,
# virt-ls disk.img DIR), virt-sparsify --machine-readable, and the
# libguestfs lines of virt-resize --machine-readable, and the name of a
# three-disk guest in virt-df ("disk.img++") (five libguestfs runs);
# a minix filesystem listed by virt-df and read by virt-ls -m.
# Copyright (C) 2026 the guestbox authors
# SPDX-License-Identifier: GPL-2.0-or-later

set -e
. "${top_srcdir:=$(dirname "$0")/..}/tests/functions.sh"
. "$top_srcdir/tests/images.sh"
requires_appliance
requires_libguestfs virt-cat virt-ls virt-sparsify virt-resize virt-df
requires mkfs.ext4 sfdisk mkfs.minix
make_workdir

make_linux_tree "$T/tree" compathost
printf '/dev/sda1 / ext4 defaults 0 1\n' > "$T/tree/etc/fstab"
ext4_image "$T/root.img" 24 "$T/tree" ROOT
mbr_disk "$T/disk.img" 32 "$T/root.img"
rm -f "$T/root.img"
cd "$T"

compare_lg "old-style virt-cat" virt-cat disk.img /etc/fstab
expect_eq "old-style virt-cat: the file" "/dev/sda1 / ext4 defaults 0 1" "$(cat "$T/gb.out")"
compare_lg "old-style virt-ls" virt-ls disk.img /etc
grep -qx hostname "$T/gb.out" || fail "old-style virt-ls: no hostname in /etc"
compare_lg "virt-sparsify --machine-readable" virt-sparsify --machine-readable

# virt-resize: the fixed lines are libguestfs's; the filesystem lines
# that follow depend on each appliance (libguestfs's Debian appliance
# has f2fs and no xfs), so ours must only be among those libguestfs
# knows.
/usr/bin/virt-resize --machine-readable > lg.out 2>lg.err </dev/null ||
  fail "libguestfs virt-resize --machine-readable: $(cat lg.err)"
"$top_builddir/resize/virt-resize" --machine-readable > gb.out
expect_eq "virt-resize --machine-readable: libguestfs's lines" \
  "$(head -n 7 lg.out)" "$(head -n 7 gb.out)"
tail -n +8 gb.out | grep -vqx 'ntfs\|btrfs\|xfs\|f2fs' &&
  fail "virt-resize --machine-readable: unknown line: $(tail -n +8 gb.out)"
ok "virt-resize --machine-readable: $(tail -n +8 gb.out | tr '\n' ' ')"

compare_lg "virt-df, a guest of three disks" virt-df --csv -a disk.img -a disk.img -a disk.img
grep -q '^disk.img++,/dev/sdc1,' "$T/gb.out" ||
  fail "virt-df: no 'disk.img++' row for /dev/sdc1: $(cat "$T/gb.out")"

# A filesystem the appliance mounts only through a module loaded on
# demand (minix): virt-df lists it, as libguestfs does, and virt-ls -m
# reads it.
truncate -s 8M "$T/mx.img"
mkfs.minix "$T/mx.img" >/dev/null
out=$("$top_builddir/df/virt-df" -a "$T/mx.img")
echo "$out" | grep -Eq '^mx\.img:/dev/sda +[1-9][0-9]* +[0-9]+ +[0-9]+ +[0-9]+%$' ||
  fail "virt-df, minix: no row: $out"
ok "virt-df, minix: listed ($(echo "$out" | tail -n1 | tr -s ' '))"
rc=0
"$top_builddir/ls/virt-ls" -a "$T/mx.img" -m /dev/sda / > "$T/mx.ls" 2> "$T/mx.err" || rc=$?
expect_eq "virt-ls -m on minix: exit status, errors" "0:" "$rc:$(cat "$T/mx.err")"
check_no_qemu
