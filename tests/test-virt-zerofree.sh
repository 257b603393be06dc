#!/bin/bash -
# guestbox - virt-zerofree end to end: a GPT disk with ext4 and vfat
# holding deleted files; --dry-run writes nothing; --ext-only; the
# deleted data is gone, kept files are intact, e2fsck -fn and fsck.vfat
# are clean, a second run zeroes nothing, a sparse copy shrinks;
# unclean, truncated and unknown filesystems give one clear error.
# Copyright (C) 2026 the guestbox authors
# SPDX-License-Identifier: GPL-2.0-or-later

set -e
. "${top_srcdir:=$(dirname "$0")/..}/tests/functions.sh"
. "$top_srcdir/tests/images.sh"
requires_appliance
requires mkfs.ext4 debugfs e2fsck mkfs.vfat mcopy mdel fsck.vfat sfdisk \
  sha256sum qemu-img
make_workdir
VIRT_ZEROFREE=$top_builddir/zerofree/virt-zerofree

# A file that is easy to find in a raw image once deleted.
marked_file () {
  { head -c $(( $2 / 2 )) /dev/urandom; yes GBOXDELETEDDATA | head -c $(( $2 / 2 )); } > "$1"
}

# ext4 (1 KiB blocks) with three 1 MiB files deleted behind mkfs's back.
mkdir "$T/ext"
for i in 1 2 3; do marked_file "$T/ext/del$i" 1048576; done
echo "this file stays" > "$T/ext/keep.txt"
ext4_image "$T/p1.img" 24 "$T/ext" ZFEXT
for i in 1 2 3; do debugfs -w -R "rm /del$i" "$T/p1.img" >/dev/null 2>&1; done
e2fsck -fn "$T/p1.img" >/dev/null 2>&1 || fail "fixture: ext4 not clean"
expected_blocks=3072

# vfat with two deleted files.
mkdir "$T/fat"
marked_file "$T/fat/gone1.bin" 1048576
marked_file "$T/fat/gone2.bin" 524288
echo "fat keeps this" > "$T/fat/keep.txt"
vfat_image "$T/p2.img" 16 "$T/fat"
mdel -i "$T/p2.img" ::/gone1.bin ::/gone2.bin
s1=$(( $(stat -c %s "$T/p1.img") / 512 ))
s2=$(( $(stat -c %s "$T/p2.img") / 512 ))
gpt_disk "$T/disk.img" 48 "$T/p1.img" "$T/p2.img"
rm "$T/p1.img" "$T/p2.img"

part () {   # part N OUT: extract partition N of the disk
  if [ "$1" = 1 ]; then
    dd if="$T/disk.img" of="$2" bs=512 skip=2048 count=$s1 status=none
  else
    dd if="$T/disk.img" of="$2" bs=512 skip=$((2048 + s1)) count=$s2 status=none
  fi
}
has_marker () { grep -aq GBOXDELETEDDATA "$1"; }

part 1 "$T/x1"; has_marker "$T/x1" || fail "fixture: no deleted data in ext4"
part 2 "$T/x2"; has_marker "$T/x2" || fail "fixture: no deleted data in vfat"
cp --sparse=always "$T/disk.img" "$T/disk.orig"
sum_before=$(sha256sum < "$T/disk.img")

# --dry-run: counts, writes nothing.
out=$("$VIRT_ZEROFREE" --dry-run -a "$T/disk.img")
echo "$out"
echo "$out" | grep -q "^/dev/sda1: ext4: .* scanned .*, $expected_blocks would be zeroed" ||
  fail "--dry-run: no '$expected_blocks would be zeroed' for /dev/sda1"
echo "$out" | grep -q "^/dev/sda2: vfat: .* of free space would be filled with zeros" ||
  fail "--dry-run: no line for the vfat filesystem"
expect_eq "--dry-run leaves the disk byte-identical" "$sum_before" \
  "$(sha256sum < "$T/disk.img")"
check_no_qemu

# --ext-only: the ext4 filesystem only.
out=$("$VIRT_ZEROFREE" --ext-only -q -a "$T/disk.img")
expect_eq "--ext-only output" \
  "/dev/sda1: ext4: $(echo "$out" | sed -n 's/^\/dev\/sda1: ext4: \(.* scanned (.*)\), .*/\1/p'), $expected_blocks zeroed (3.0M)" \
  "$out"
part 1 "$T/x1"; part 2 "$T/x2"
has_marker "$T/x1" && fail "--ext-only: deleted data left in ext4"
has_marker "$T/x2" || fail "--ext-only: vfat was changed"
ok "--ext-only: ext4 zeroed, vfat untouched"
e2fsck -fn "$T/x1" >"$T/fsck.out" 2>&1 || { cat "$T/fsck.out"; fail "e2fsck -fn after zerofree"; }
ok "e2fsck -fn is clean after zerofree"
[ "$(debugfs -R "cat /keep.txt" "$T/x1" 2>/dev/null)" = "this file stays" ] ||
  fail "ext4 kept file changed"
ok "ext4: the kept file is intact"

# Everything: the vfat free space is filled and released.
out=$("$VIRT_ZEROFREE" -a "$T/disk.img")
echo "$out"
echo "$out" | grep -q "^/dev/sda1: ext4: .*, 0 zeroed (0)$" ||
  fail "second run zeroed ext4 blocks again"
ok "second run: nothing left to zero in ext4"
echo "$out" | grep -q "^/dev/sda2: vfat: free space filled with zeros" ||
  fail "no vfat line"
part 2 "$T/x2"
has_marker "$T/x2" && fail "deleted data left in vfat"
ok "vfat: the deleted data is gone"
fsck.vfat -n "$T/x2" >"$T/fsck.out" 2>&1 || { cat "$T/fsck.out"; fail "fsck.vfat -n after filling"; }
ok "fsck.vfat -n is clean after filling"
[ "$(mtype -i "$T/x2" ::/keep.txt)" = "fat keeps this" ] || fail "vfat kept file changed"
[ "$(mdir -i "$T/x2" -b ::/ | wc -l)" = 1 ] || fail "vfat: a fill file was left: $(mdir -i "$T/x2" -b ::/)"
ok "vfat: the kept file is intact, no fill file left"

# A sparse copy is smaller by (at least) the deleted data.
qemu-img convert -O qcow2 "$T/disk.orig" "$T/before.qcow2"
qemu-img convert -O qcow2 "$T/disk.img" "$T/after.qcow2"
kb_before=$(du -k "$T/before.qcow2" | cut -f1)
kb_after=$(du -k "$T/after.qcow2" | cut -f1)
[ $((kb_before - kb_after)) -ge 4000 ] ||
  fail "sparse copy: ${kb_before}K before, ${kb_after}K after (expected 4.5M less)"
ok "sparse copy: ${kb_before}K before, ${kb_after}K after"
rm -f "$T/before.qcow2" "$T/after.qcow2" "$T/disk.orig" "$T/x1" "$T/x2"

# --filesystem naming nothing.
expect_error "--filesystem of an unknown device" \
  "^virt-zerofree: error: /dev/sda9: no such filesystem" \
  "$VIRT_ZEROFREE" -a "$T/disk.img" --filesystem /dev/sda9

# An unclean ext4 filesystem is refused; --fsck repairs it first.
mkdir "$T/e2"; marked_file "$T/e2/f" 65536
ext4_image "$T/dirty.img" 8 "$T/e2"
debugfs -w -R "rm /f" "$T/dirty.img" >/dev/null 2>&1
debugfs -w -R "ssv state 0" "$T/dirty.img" >/dev/null 2>&1
sum=$(sha256sum < "$T/dirty.img")
expect_error "unclean ext4 refused" \
  "^virt-zerofree: error: zerofree: /dev/sda: the filesystem is not clean .*--fsck" \
  "$VIRT_ZEROFREE" -a "$T/dirty.img"
expect_eq "unclean ext4 left untouched" "$sum" "$(sha256sum < "$T/dirty.img")"
out=$("$VIRT_ZEROFREE" --fsck --filesystem /dev/sda -a "$T/dirty.img")
echo "$out" | grep -q "^/dev/sda: ext4: .*, 64 zeroed" || fail "--fsck: $out"
e2fsck -fn "$T/dirty.img" >/dev/null 2>&1 || fail "--fsck: not clean afterwards"
ok "--fsck repairs, then zeroes: $(echo "$out" | tail -n1)"

# A truncated image: the filesystem is larger than its disk.
ext4_image "$T/trunc.img" 32 "$T/e2"
truncate -s 16M "$T/trunc.img"
sum=$(sha256sum < "$T/trunc.img")
expect_error "truncated ext4" \
  "^virt-zerofree: error: zerofree: /dev/sda: the filesystem .* is larger than its device" \
  "$VIRT_ZEROFREE" -a "$T/trunc.img"
expect_eq "truncated image left untouched" "$sum" "$(sha256sum < "$T/trunc.img")"
check_no_qemu
