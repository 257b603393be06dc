#!/bin/bash -
# guestbox - virt-sparsify on an LVM guest made by our own appliance
# (tests/mklvm): an ext4 LV and a vfat LV holding deleted data, and
# random data left in the volume group's free extents.  Copying mode:
# the input is unchanged (checksum), the output's allocated size drops
# by the deleted data and the free extents, no deleted data is left,
# e2fsck -fn and fsck.vfat -n pass on the LVs extracted on the host,
# the LVs are still there and the temporary LV is gone (virt-df).
# --in-place on a raw copy: the same.  --ignore VG leaves the free
# extents alone.
# Copyright (C) 2026 the guestbox authors
# SPDX-License-Identifier: GPL-2.0-or-later

set -e
. "${top_srcdir:=$(dirname "$0")/..}/tests/functions.sh"
. "$top_srcdir/tests/images.sh"
requires_appliance
requires mkfs.ext4 debugfs e2fsck mkfs.vfat mcopy mdel mtype fsck.vfat \
  sfdisk sha256sum
make_workdir
VIRT_SPARSIFY=$top_builddir/sparsify/virt-sparsify
VIRT_DF=$top_builddir/df/virt-df
MKLVM=$top_builddir/tests/mklvm

marked_file () {
  { head -c $(( $2 / 2 )) /dev/urandom; yes GBOXDELETEDDATA | head -c $(( $2 / 2 )); } > "$1"
}
has_marker () { grep -aq GBOXDELETEDDATA "$1"; }

# Layout (MiB of the disk): the PV is sda1 from 1; its extents (4 MiB)
# start 1 MiB into it, so LV data (ext4, 24 MiB) is at 2-26, LV fat
# (vfat, 8 MiB) at 26-34, and the free extents from 34 to 78.
mkdir "$T/ext" "$T/fat"
for i in 1 2 3; do marked_file "$T/ext/del$i" 4194304; done
echo "ext keeps this" > "$T/ext/keep.txt"
ext4_image "$T/data.img" 24 "$T/ext" LVDATA
for i in 1 2 3; do debugfs -w -R "rm /del$i" "$T/data.img" >/dev/null 2>&1; done
marked_file "$T/fat/gone.bin" 3145728
echo "fat keeps this" > "$T/fat/keep.txt"
vfat_image "$T/fat.img" 8 "$T/fat"
mdel -i "$T/fat.img" ::/gone.bin
truncate -s 80M "$T/disk.img"
echo 'start=2048, type=8e' | sfdisk -q -X dos "$T/disk.img" >/dev/null
"$MKLVM" "$T/disk.img" /dev/sda1 vg0 data:24 fat:8
check_no_qemu
dd if="$T/data.img" of="$T/disk.img" bs=1M seek=2 conv=notrunc status=none
dd if="$T/fat.img" of="$T/disk.img" bs=1M seek=26 conv=notrunc status=none
# Data left in the free extents (what a removed LV leaves behind).
marked_file "$T/junk" $((40 * 1048576))
dd if="$T/junk" of="$T/disk.img" bs=1M seek=36 conv=notrunc status=none
rm -f "$T/data.img" "$T/fat.img" "$T/junk"
has_marker "$T/disk.img" || fail "fixture: no deleted data"
ok "LVM guest made with mklvm (ext4 and vfat LVs, 40 MiB of data in free extents)"

# check_sparse RAW WHAT [free]: the checks of a sparsified LVM disk;
# with "free", only the free extents keep their data (--ignore vg0).
check_sparse () {
  local img=$1 what=$2
  dd if="$img" of="$T/x1" bs=1M skip=2 count=24 status=none
  dd if="$img" of="$T/x2" bs=1M skip=26 count=8 status=none
  dd if="$img" of="$T/x3" bs=1M skip=34 count=44 status=none
  ! has_marker "$T/x1" || fail "$what: deleted data left in the ext4 LV"
  ! has_marker "$T/x2" || fail "$what: deleted data left in the vfat LV"
  if [ "${3:-}" = free ]; then
    has_marker "$T/x3" || fail "$what: the ignored VG's free extents changed"
  else
    ! has_marker "$T/x3" || fail "$what: data left in the free extents"
  fi
  e2fsck -fn "$T/x1" >"$T/fsck.out" 2>&1 || { cat "$T/fsck.out"; fail "$what: e2fsck -fn"; }
  fsck.vfat -n "$T/x2" >"$T/fsck.out" 2>&1 || { cat "$T/fsck.out"; fail "$what: fsck.vfat -n"; }
  [ "$(debugfs -R "cat /keep.txt" "$T/x1" 2>/dev/null)" = "ext keeps this" ] ||
    fail "$what: ext4 file changed"
  [ "$(mtype -i "$T/x2" ::/keep.txt)" = "fat keeps this" ] || fail "$what: vfat file changed"
  rm -f "$T/x1" "$T/x2" "$T/x3"
  # The volume group still has its two LVs and no temporary one.
  out=$("$VIRT_DF" --csv -a "$img" | cut -d, -f2 | tail -n +2 | sort | tr '\n' ' ')
  expect_eq "$what: the LVs (virt-df)" "/dev/vg0/data /dev/vg0/fat " "$out"
  ok "$what: no deleted data, e2fsck and fsck.vfat clean, files kept"
}

sum=$(sha256sum < "$T/disk.img")
kb_in=$(du -k "$T/disk.img" | cut -f1)

# Copying mode.
out=$("$VIRT_SPARSIFY" "$T/disk.img" "$T/out.img" 2>&1)
echo "$out" | grep -q "^vg0: Zeroing free space in the volume group" ||
  fail "copying mode: no VG step: $out"
echo "$out" | grep -q "^/dev/vg0/data: Zeroing free space (ext4)" ||
  fail "copying mode: the ext4 LV was not zerofree'd: $out"
echo "$out" | grep -q "^/dev/vg0/fat: Filling free space with zeros (vfat)" ||
  fail "copying mode: the vfat LV was not filled: $out"
echo "$out" | grep -qi "warning" && fail "copying mode: a warning: $out"
expect_eq "copying mode: the input is unchanged" "$sum" "$(sha256sum < "$T/disk.img")"
check_no_qemu
check_sparse "$T/out.img" "copying mode"
kb_out=$(du -k "$T/out.img" | cut -f1)
# 12 MiB deleted in ext4, 3 MiB in vfat, 40 MiB in the free extents.
[ $((kb_in - kb_out)) -ge $((50 * 1024)) ] ||
  fail "copying mode: ${kb_in}K -> ${kb_out}K (expected 50 MiB less)"
ok "copying mode: allocated ${kb_in}K -> ${kb_out}K"
rm -f "$T/out.img"

# --ignore vg0: the filesystems are zeroed, the free extents are not.
"$VIRT_SPARSIFY" -q --ignore vg0 "$T/disk.img" "$T/out.img"
check_sparse "$T/out.img" "--ignore vg0" free
rm -f "$T/out.img"

# --in-place on a raw copy.
cp --sparse=never "$T/disk.img" "$T/ip.img"
kb_ip0=$(du -k "$T/ip.img" | cut -f1)
"$VIRT_SPARSIFY" -q --in-place "$T/ip.img"
check_no_qemu
check_sparse "$T/ip.img" "--in-place raw"
kb_ip=$(du -k "$T/ip.img" | cut -f1)
[ $((kb_ip0 - kb_ip)) -ge $((50 * 1024)) ] ||
  fail "--in-place raw: ${kb_ip0}K -> ${kb_ip}K (expected 50 MiB less)"
ok "--in-place raw: allocated ${kb_ip0}K -> ${kb_ip}K"

# A second run finds nothing left to do and still works (no temporary
# LV was left behind to get in the way).
"$VIRT_SPARSIFY" -q --in-place "$T/ip.img"
check_sparse "$T/ip.img" "--in-place, second run"
rm -f "$T/ip.img"
expect_eq "the input is still unchanged" "$sum" "$(sha256sum < "$T/disk.img")"
