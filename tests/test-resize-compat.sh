#!/bin/bash -
# guestbox - virt-resize's libguestfs options on a real disk: the extra
# partition and --no-extra-partition (dry runs), --unknown-filesystems
# error on a vfat partition that would grow and on a minix one (a type
# only libblkid knows; nothing written), and the
# closing message with its "virt-resize:" prefix; --alignment 3000 (not
# a divisor of 1 MiB) on a real resize.
# Copyright (C) 2026 the guestbox authors
# SPDX-License-Identifier: GPL-2.0-or-later

set -e
. "${top_srcdir:=$(dirname "$0")/..}/tests/functions.sh"
. "$top_srcdir/tests/images.sh"
requires_appliance
requires mkfs.ext4 mkfs.vfat mkfs.minix sfdisk sha256sum
make_workdir
VIRT_RESIZE=$top_builddir/resize/virt-resize

mkdir "$T/tree" && echo data > "$T/tree/file"
ext4_image "$T/p1.img" 16 "$T/tree" R1
mkfs.vfat -C "$T/p2.img" 8192 >/dev/null
truncate -s 32M "$T/in.img"
printf 'start=2048, size=32768, type=83\nstart=34816, size=16384, type=83\n' |
  sfdisk -q -X dos "$T/in.img" >/dev/null
dd if="$T/p1.img" of="$T/in.img" bs=512 seek=2048 conv=notrunc status=none
dd if="$T/p2.img" of="$T/in.img" bs=512 seek=34816 conv=notrunc status=none
rm -f "$T/p1.img" "$T/p2.img"
truncate -s 128M "$T/out.img"

out=$("$VIRT_RESIZE" --dry-run "$T/in.img" "$T/out.img")
echo "$out" | grep -q "An extra partition will be created" ||
  fail "no extra partition by default: $out"
ok "the surplus becomes an extra partition by default"
out=$("$VIRT_RESIZE" --dryrun --no-extra-partition "$T/in.img" "$T/out.img")
echo "$out" | grep -q "The surplus space will be left unused" ||
  fail "--no-extra-partition: $out"
echo "$out" | grep -q "extra partition" && fail "--no-extra-partition: $out"
ok "--no-extra-partition: the surplus is left unused"

sum=$(sha256sum < "$T/out.img")
rc=0
"$VIRT_RESIZE" -q --unknown-filesystems error --expand /dev/sda2 \
  "$T/in.img" "$T/out.img" >/dev/null 2>"$T/err" || rc=$?
expect_eq "--unknown-filesystems error: exit status" 1 $rc
expect_eq "--unknown-filesystems error: the message" \
  "virt-resize: error: unknown/unavailable method for expanding the vfat filesystem on /dev/sda2" \
  "$(cat "$T/err")"
expect_eq "--unknown-filesystems error: the output is untouched" "$sum" "$(sha256sum < "$T/out.img")"
# A type that only libblkid knows (minix): the same refusal, naming it.
truncate -s 8M "$T/mx.img"
mkfs.minix "$T/mx.img" >/dev/null
truncate -s 16M "$T/inmx.img"
echo 'start=2048, size=16384, type=83' | sfdisk -q -X dos "$T/inmx.img" >/dev/null
dd if="$T/mx.img" of="$T/inmx.img" bs=512 seek=2048 conv=notrunc status=none
rc=0
"$VIRT_RESIZE" -q --unknown-filesystems error --expand /dev/sda1 \
  "$T/inmx.img" "$T/out.img" >/dev/null 2>"$T/err" || rc=$?
expect_eq "--unknown-filesystems error on minix: exit status" 1 $rc
expect_eq "--unknown-filesystems error on minix: the message" \
  "virt-resize: error: unknown/unavailable method for expanding the minix filesystem on /dev/sda1" \
  "$(cat "$T/err")"
expect_eq "--unknown-filesystems error on minix: the output is untouched" "$sum" "$(sha256sum < "$T/out.img")"

"$VIRT_RESIZE" --expand /dev/sda2 "$T/in.img" "$T/out.img" >"$T/out" 2>"$T/err" ||
  fail "--expand /dev/sda2: $(cat "$T/err")"
grep -q "^virt-resize: warning: unknown/unavailable method for expanding the vfat filesystem on /dev/sda2$" "$T/err" ||
  fail "no warning for vfat: $(cat "$T/err")"
expect_eq "closing message" \
  "virt-resize: Resize operation completed with no errors.  Before deleting the old disk, carefully check that the resized disk boots and works correctly." \
  "$(tail -n 1 "$T/out")"
# --alignment that does not divide 1 MiB: sda2 goes to the next multiple
# of 3000 sectors after the grown sda1 (libguestfs's rule), its bytes
# intact; sda1 moves to sector 3000 (--align-first auto: no boot code)
# and its file still reads.
truncate -s 128M "$T/out3.img"
"$VIRT_RESIZE" -q --alignment 3000 --expand /dev/sda1 "$T/in.img" "$T/out3.img" \
  2>"$T/err" || fail "--alignment 3000: $(cat "$T/err")"
expect_eq "--alignment 3000: the layout" \
  "start=3000 size=240000 start=243000 size=16384" \
  "$(sfdisk -d "$T/out3.img" | sed -n 's/^[^:]*: *\(start= *[0-9]*\), *\(size= *[0-9]*\).*/\1 \2/p' | tr -d ' ' | sed 's/size/ size/' | paste -sd' ')"
expect_eq "--alignment 3000: sda2's bytes" \
  "$(dd if="$T/in.img" bs=512 skip=34816 count=16384 status=none | sha256sum)" \
  "$(dd if="$T/out3.img" bs=512 skip=243000 count=16384 status=none | sha256sum)"
expect_eq "--alignment 3000: sda1's file" data \
  "$("$top_builddir/cat/virt-cat" -a "$T/out3.img" -m /dev/sda1 /file)"
check_no_qemu
