#!/bin/bash -
# guestbox - virt-resize appliance test.
# Copyright (C) 2026 the guestbox authors
# SPDX-License-Identifier: GPL-2.0-or-later

# Disks built here with sfdisk, mkfs.ext4 -d and mkswap; the results are
# checked on the host with sfdisk -d, e2fsck -fn, dumpe2fs -h and blkid
# on partitions extracted with dd:
#  1. MBR with an extended partition: expand logical /dev/sda5, grow the
#     swap /dev/sda6 (UUID and label kept), /dev/sda1 byte-identical,
#     bootable flag and disk id kept;
#  2. GPT with 2 partitions: expand the second; type GUIDs, partition
#     GUIDs, names, attributes and the disk GUID kept; qcow2 output
#     (the copy in the appliance) and raw output (the copy on the host);
#  3. --dry-run writes nothing (also with -q, --machine-readable); the
#     input is never changed;
#  4. refusals with the output untouched: a shrink whose content does
#     not fit (bytes missing), a deficit, a partition beyond the end of
#     a truncated disk, a corrupt superblock; a run failing after it
#     started writing leaves no partition table;
#  5. xfs (xfs_growfs), btrfs (btrfs filesystem resize) and NTFS
#     (ntfsresize) grown and clean (xfs_repair -n, btrfs check, ntfsfix
#     -n), each when its host tools are installed;
#  6. LVM (volume group made by our appliance, tests/mklvm): --expand the
#     PV partition and --lv-expand its LV, whose ext4 grows and is clean;
#     an unknown LV is refused before anything is written;
#  7. --expand/--shrink of the first of two partitions (GPT 100M -> 200M,
#     MBR onto an output that is not a whole MiB, GPT shrink): the next
#     partition moves to the next 1 MiB boundary, byte-identical.

set -e
. "${top_srcdir:=$(dirname "$0")/..}/tests/functions.sh"
. "$top_srcdir/tests/images.sh"
requires_appliance
requires sfdisk mkfs.ext4 e2fsck dumpe2fs mkswap blkid qemu-img md5sum
make_workdir

VIRT_RESIZE=$top_builddir/resize/virt-resize
export LIBGUESTFS_BACKEND=direct

# part_field IMG N FIELD: start or size (sectors) of partition N.
part_field () {
  sfdisk -d "$1" | sed -n "s/^[^ ]*$2 : .*$3= *\([0-9]*\).*/\1/p"
}
# extract IMG N OUT: partition N's bytes into OUT.
extract () {
  local s n
  s=$(part_field "$1" "$2" start)
  n=$(part_field "$1" "$2" size)
  dd if="$1" of="$3" bs=512 skip="$s" count="$n" status=none
}
sum () { md5sum < "$1" | cut -d' ' -f1; }
blocks () { dumpe2fs -h "$1" 2>/dev/null | sed -n 's/^Block count: *//p'; }
blkval () { blkid -p -o value -s "$2" "$1"; }

make_linux_tree "$T/tree" resizehost
head -c 3000000 /dev/urandom > "$T/tree/data/random.bin"

# --- 1. MBR with logical partitions ---------------------------------------
ext4_image "$T/p1.img" 20 "$T/tree" BOOTFS
ext4_image "$T/p5.img" 30 "$T/tree" ROOTFS
truncate -s 20M "$T/p6.img"
mkswap -q -L SWAPLBL -U 01234567-89ab-cdef-0123-456789abcdef "$T/p6.img"
truncate -s 100M "$T/mbr.img"
printf 'label-id: 0x1234abcd\nstart=2048,size=40960,type=83,bootable\nstart=43008,size=159744,type=5\nstart=45056,size=61440,type=83\nstart=108544,size=40960,type=82\n' |
  sfdisk -q -X dos "$T/mbr.img" >/dev/null
dd if="$T/p1.img" of="$T/mbr.img" bs=512 seek=2048 conv=notrunc,sparse status=none
dd if="$T/p5.img" of="$T/mbr.img" bs=512 seek=45056 conv=notrunc,sparse status=none
dd if="$T/p6.img" of="$T/mbr.img" bs=512 seek=108544 conv=notrunc,sparse status=none
in_sum=$(sum "$T/mbr.img")

truncate -s 300M "$T/out1.img"
"$VIRT_RESIZE" --expand /dev/sda5 --resize /dev/sda6=+10M \
  "$T/mbr.img" "$T/out1.img" > "$T/resize1.out"
grep -q "/dev/sda5: This partition will be resized from 30.0M to" "$T/resize1.out" ||
  { cat "$T/resize1.out"; fail "summary does not mention /dev/sda5"; }
ok "MBR: expand logical /dev/sda5 and grow swap /dev/sda6"
expect_eq "input unchanged" "$in_sum" "$(sum "$T/mbr.img")"
expect_eq "MBR types, bootable flag, disk id" \
  "label-id: 0x1234abcd
1 83 bootable
2 5
5 83
6 82" \
  "$(sfdisk -d "$T/out1.img" | sed -n 's/^label-id/&/p; s/^[^ ]*img\([0-9]\) : .*type=\([0-9a-f]*\)\(, bootable\)\{0,1\}.*/\1 \2\3/p' | sed 's/, / /')"
extract "$T/out1.img" 1 "$T/o1.img"
expect_eq "/dev/sda1 byte-identical" "$(sum "$T/p1.img")" "$(sum "$T/o1.img")"
extract "$T/out1.img" 5 "$T/o5.img"
e2fsck -fn "$T/o5.img" >/dev/null 2>&1 || fail "e2fsck -fn of expanded /dev/sda5"
ok "expanded /dev/sda5 passes e2fsck -fn"
b_in=$(blocks "$T/p5.img"); b_out=$(blocks "$T/o5.img")
[ "$b_out" -gt "$b_in" ] || fail "/dev/sda5 did not grow: $b_in -> $b_out blocks"
ok "/dev/sda5 grew from $b_in to $b_out blocks"
expect_eq "/dev/sda5 fills its partition" \
  $(( $(part_field "$T/out1.img" 5 size) * 512 / 1024 )) "$b_out"
expect_eq "/dev/sda5 size of the extended partition covers the logicals" \
  "$(( $(part_field "$T/out1.img" 6 start) + $(part_field "$T/out1.img" 6 size) ))" \
  "$(( $(part_field "$T/out1.img" 2 start) + $(part_field "$T/out1.img" 2 size) ))"
extract "$T/out1.img" 6 "$T/o6.img"
expect_eq "swap grew by 10M" $((30 * 2048)) "$(part_field "$T/out1.img" 6 size)"
expect_eq "swap UUID and label kept" \
  "01234567-89ab-cdef-0123-456789abcdef SWAPLBL" \
  "$(blkval "$T/o6.img" UUID) $(blkval "$T/o6.img" LABEL)"
check_no_qemu

# --- 2. GPT, qcow2 and raw outputs -----------------------------------------
ext4_image "$T/g1.img" 16 "$T/tree" EFIISH
ext4_image "$T/g2.img" 40 "$T/tree" GROOT
truncate -s 80M "$T/gpt.img"
printf 'label: gpt\nlabel-id: 11111111-2222-3333-4444-555555555555\nstart=2048,size=32768,type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B,uuid=AAAAAAAA-0000-4000-8000-000000000001,name="EFI system",attrs="RequiredPartition"\nstart=34816,size=81920,type=4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709,uuid=AAAAAAAA-0000-4000-8000-000000000002,name="root fs"\n' |
  sfdisk -q "$T/gpt.img" >/dev/null
dd if="$T/g1.img" of="$T/gpt.img" bs=512 seek=2048 conv=notrunc,sparse status=none
dd if="$T/g2.img" of="$T/gpt.img" bs=512 seek=34816 conv=notrunc,sparse status=none
in_sum=$(sum "$T/gpt.img")
gpt_fields () {
  sfdisk -d "$1" | sed -n 's/^label-id: /&/p; s/^[^ ]*\([0-9]\) : start=.*, \(type=.*\)$/\1 \2/p'
}
for fmt in raw qcow2; do
  rm -f "$T/out2.$fmt"
  qemu-img create -q -f $fmt "$T/out2.$fmt" 160M
  "$VIRT_RESIZE" -q --output-format $fmt --expand /dev/sda2 \
    "$T/gpt.img" "$T/out2.$fmt" > /dev/null
  if [ $fmt = qcow2 ]; then
    qemu-img convert -f qcow2 -O raw "$T/out2.qcow2" "$T/out2q.img"
    out=$T/out2q.img
  else
    out=$T/out2.raw
  fi
  ok "GPT ($fmt output): expand /dev/sda2"
  expect_eq "$fmt: GPT type GUIDs, GUIDs, names, attributes, disk GUID kept" \
    "$(gpt_fields "$T/gpt.img")" "$(gpt_fields "$out")"
  sfdisk -V "$out" >/dev/null 2>&1 || fail "$fmt: sfdisk -V finds errors in the GPT"
  ok "$fmt: sfdisk -V: the GPT (and its backup) is valid"
  extract "$out" 1 "$T/og1.img"
  expect_eq "$fmt: /dev/sda1 byte-identical" "$(sum "$T/g1.img")" "$(sum "$T/og1.img")"
  extract "$out" 2 "$T/og2.img"
  e2fsck -fn "$T/og2.img" >/dev/null 2>&1 || fail "$fmt: e2fsck -fn of /dev/sda2"
  b_in=$(blocks "$T/g2.img"); b_out=$(blocks "$T/og2.img")
  [ "$b_out" -gt "$b_in" ] || fail "$fmt: /dev/sda2 did not grow"
  ok "$fmt: /dev/sda2 passes e2fsck -fn and grew from $b_in to $b_out blocks"
  expect_eq "$fmt: input unchanged" "$in_sum" "$(sum "$T/gpt.img")"
done
check_no_qemu

# --- 3. --dry-run ------------------------------------------------------------
truncate -s 300M "$T/out3.img"
out_sum=$(sum "$T/out3.img")
"$VIRT_RESIZE" --dry-run --expand /dev/sda1 "$T/mbr.img" "$T/out3.img" > "$T/dry.out"
grep -q "^Summary of changes:" "$T/dry.out" || fail "--dry-run: no summary"
grep -q "/dev/sda6: This partition will be left alone." "$T/dry.out" ||
  fail "--dry-run: summary: $(cat "$T/dry.out")"
expect_eq "--dry-run writes nothing" "$out_sum" "$(sum "$T/out3.img")"
expect_eq "-q --dry-run prints nothing" "" \
  "$("$VIRT_RESIZE" -q --dry-run "$T/mbr.img" "$T/out3.img")"
"$VIRT_RESIZE" --machine-readable --dry-run --expand /dev/sda5 \
  "$T/mbr.img" "$T/out3.img" > "$T/mr.out"
grep -q '^{ "message": "/dev/sda5: This partition will be resized from 30.0M to [0-9.]*M.  The filesystem ext4 on /dev/sda5 will be expanded using the ‘resize2fs’ method.", "timestamp": "[0-9T:+-]*", "type": "info" }$' "$T/mr.out" ||
  fail "--machine-readable: $(cat "$T/mr.out")"
ok "--machine-readable: the summary as JSON lines"
expect_eq "--dry-run --machine-readable writes nothing" "$out_sum" "$(sum "$T/out3.img")"
check_no_qemu

# --- 4. refusals, output untouched -------------------------------------------
truncate -s 50M "$T/small.img"
small_sum=$(sum "$T/small.img")
expect_error "shrink refused" \
  "/dev/sda2: cannot shrink the partition to [0-9]+ bytes .*: its ext4 filesystem needs 41943040 bytes; [0-9]+ bytes are missing" \
  "$VIRT_RESIZE" --shrink /dev/sda2 "$T/gpt.img" "$T/small.img"
expect_eq "refused shrink: output untouched" "$small_sum" "$(sum "$T/small.img")"
expect_error "deficit" "There is a deficit of [0-9]+ bytes" \
  "$VIRT_RESIZE" "$T/gpt.img" "$T/small.img"

cp "$T/mbr.img" "$T/trunc.img"
truncate -s 60M "$T/trunc.img"
trunc_sum=$(sum "$T/trunc.img")
expect_error "truncated image" "goes beyond the end of the disk" \
  "$VIRT_RESIZE" "$T/trunc.img" "$T/out3.img"
expect_eq "truncated image: input untouched" "$trunc_sum" "$(sum "$T/trunc.img")"
expect_eq "truncated image: output untouched" "$out_sum" "$(sum "$T/out3.img")"

cp "$T/mbr.img" "$T/corrupt.img"
# s_blocks_count_lo of /dev/sda5's superblock: far beyond the partition.
printf '\377\377\377\017' | dd of="$T/corrupt.img" bs=1 conv=notrunc status=none \
  seek=$(( 45056 * 512 + 1024 + 4 ))
expect_error "corrupt superblock" "/dev/sda5: .*corrupt superblock" \
  "$VIRT_RESIZE" --expand /dev/sda5 "$T/corrupt.img" "$T/out3.img"
expect_eq "corrupt superblock: output untouched" "$out_sum" "$(sum "$T/out3.img")"

expect_error "unknown partition" "/dev/sda9: no such partition" \
  "$VIRT_RESIZE" --expand /dev/sda9 "$T/mbr.img" "$T/out3.img"

# A failure after the output was started (e2fsck refuses a filesystem
# with an unknown feature) leaves an output with no partition table,
# even one that held a complete copy before.
cp "$T/mbr.img" "$T/feature.img"
rm -f "$T/fe.img"
mkfs.ext4 -q -F -O ^metadata_csum "$T/fe.img" 30M >/dev/null
printf '\040' | dd of="$T/fe.img" bs=1 conv=notrunc status=none seek=$((1024 + 96 + 3))
dd if="$T/fe.img" of="$T/feature.img" bs=512 seek=45056 conv=notrunc status=none
cp "$T/out1.img" "$T/out4.img"
sfdisk -d "$T/out4.img" >/dev/null 2>&1 || fail "out4.img should start with a table"
expect_error "failed resize" "/dev/sda5: .*e2fsck failed" \
  "$VIRT_RESIZE" --expand /dev/sda5 "$T/feature.img" "$T/out4.img"
grep -q "unsupported feature" "$T/err" || fail "failed resize: $(cat "$T/err")"
if sfdisk -d "$T/out4.img" >/dev/null 2>&1; then
  fail "a failed run left a partition table on the output"
fi
ok "a failed run leaves no partition table on the output"
rm -f "$T/out4.img" "$T/feature.img" "$T/fe.img"
check_no_qemu

# --- 5. xfs, btrfs, ntfs ---------------------------------------------------------
have () { command -v "$1" >/dev/null 2>&1; }
if have mkfs.xfs && have xfs_repair && have xfs_db && have mkfs.btrfs && have btrfs; then
  truncate -s 300M "$T/x.img"; mkfs.xfs -q -f -L XFSL "$T/x.img"
  truncate -s 200M "$T/b.img"; mkfs.btrfs -q -f -L BTRL "$T/b.img" >/dev/null
  truncate -s 600M "$T/fs.img"
  printf 'start=2048,size=614400,type=83\nstart=616448,size=409600,type=83\n' |
    sfdisk -q -X dos "$T/fs.img" >/dev/null
  dd if="$T/x.img" of="$T/fs.img" bs=512 seek=2048 conv=notrunc,sparse status=none
  dd if="$T/b.img" of="$T/fs.img" bs=512 seek=616448 conv=notrunc,sparse status=none
  rm -f "$T/x.img" "$T/b.img"
  truncate -s 1G "$T/fso.img"
  "$VIRT_RESIZE" -q --resize /dev/sda1=+100M --expand /dev/sda2 \
    "$T/fs.img" "$T/fso.img" > /dev/null
  extract "$T/fso.img" 1 "$T/xo.img"
  xfs_repair -n "$T/xo.img" >/dev/null 2>&1 || fail "xfs_repair -n of the grown xfs"
  expect_eq "xfs grown to 400M (xfs_repair -n clean)" "dblocks = 102400" \
    "$(xfs_db -r -c 'sb 0' -c 'p dblocks' "$T/xo.img")"
  extract "$T/fso.img" 2 "$T/bo.img"
  btrfs check --readonly "$T/bo.img" >/dev/null 2>&1 || fail "btrfs check of the grown btrfs"
  expect_eq "btrfs grown to its partition (btrfs check clean)" \
    "$(( $(part_field "$T/fso.img" 2 size) * 512 ))" \
    "$(btrfs inspect-internal dump-super "$T/bo.img" | sed -n 's/^total_bytes[[:space:]]*//p')"
  rm -f "$T/fs.img" "$T/fso.img" "$T/xo.img" "$T/bo.img"
else
  echo "skipped: xfs and btrfs (xfsprogs or btrfs-progs not installed)"
fi
if have mkntfs && have ntfsresize && have ntfsfix; then
  truncate -s 100M "$T/n.img"; mkntfs -q -F -f -L NTFSL "$T/n.img" >/dev/null 2>&1
  truncate -s 200M "$T/nd.img"
  printf 'start=2048,size=204800,type=7\n' | sfdisk -q -X dos "$T/nd.img" >/dev/null
  dd if="$T/n.img" of="$T/nd.img" bs=512 seek=2048 conv=notrunc,sparse status=none
  truncate -s 400M "$T/ndo.img"
  "$VIRT_RESIZE" -q --expand /dev/sda1 "$T/nd.img" "$T/ndo.img" > /dev/null
  extract "$T/ndo.img" 1 "$T/no.img"
  ntfsfix -n "$T/no.img" >/dev/null 2>&1 || fail "ntfsfix -n of the grown NTFS"
  vol=$(ntfsresize -i -f "$T/no.img" 2>&1 | sed -n 's/^Current volume size: \([0-9]*\) bytes.*/\1/p')
  [ "$vol" -gt 400000000 ] || fail "NTFS volume not grown: $vol bytes"
  ok "NTFS grown to $vol bytes (ntfsfix -n clean)"
else
  echo "skipped: NTFS (ntfs-3g not installed)"
fi
check_no_qemu

# --- 6. LVM: pvresize, --lv-expand ---------------------------------------------
MKLVM=$top_builddir/tests/mklvm
truncate -s 200M "$T/lvm.img"
printf 'start=2048,size=40960,type=83\nstart=43008,size=204800,type=8e\n' |
  sfdisk -q -X dos "$T/lvm.img" >/dev/null
"$MKLVM" "$T/lvm.img" /dev/sda2 vg0 root:60 >/dev/null
ext4_image "$T/lv.img" 60 "$T/tree" LVROOT
# The first LV starts 1 MiB into its PV (see mklvm.c).
dd if="$T/lv.img" of="$T/lvm.img" bs=512 seek=$((43008 + 2048)) conv=notrunc,sparse status=none
in_sum=$(sum "$T/lvm.img")
truncate -s 400M "$T/lvo.img"
lvo_sum=$(sum "$T/lvo.img")
expect_error "unknown LV refused" "--lv-expand /dev/vg0/nosuch: no such logical volume" \
  "$VIRT_RESIZE" --expand /dev/sda2 --lv-expand /dev/vg0/nosuch "$T/lvm.img" "$T/lvo.img"
expect_eq "unknown LV: output untouched" "$lvo_sum" "$(sum "$T/lvo.img")"
"$VIRT_RESIZE" --expand /dev/sda2 --lv-expand /dev/vg0/root \
  "$T/lvm.img" "$T/lvo.img" > "$T/lvm.out"
grep -q "The LVM PV on /dev/sda2 will be expanded using the ‘pvresize’ method" "$T/lvm.out" ||
  fail "LVM summary: $(cat "$T/lvm.out")"
grep -q "/dev/vg0/root: This logical volume will be expanded to maximum size" "$T/lvm.out" ||
  fail "LVM summary: $(cat "$T/lvm.out")"
expect_eq "LVM: input unchanged" "$in_sum" "$(sum "$T/lvm.img")"
dd if="$T/lvo.img" of="$T/lvx.img" bs=512 status=none \
  skip=$(( $(part_field "$T/lvo.img" 2 start) + 2048 ))
e2fsck -fn "$T/lvx.img" >/dev/null 2>&1 || fail "e2fsck -fn of the expanded LV"
b_in=$(blocks "$T/lv.img"); b_out=$(blocks "$T/lvx.img")
[ "$b_out" -gt $(( b_in * 5 )) ] || fail "LV filesystem did not grow: $b_in -> $b_out"
ok "--lv-expand: LV ext4 grew from $b_in to $b_out blocks, e2fsck -fn clean"
check_no_qemu

# --- 7. --expand/--shrink of a partition that is not the last one ----------
# The next partition starts at the next 1 MiB boundary after the changed
# one: the planner must leave room for that rounding (GPT: always; MBR:
# when the output is not a whole number of MiB).
ext4_image "$T/a1.img" 24 "$T/tree" FIRST
ext4_image "$T/a2.img" 40 "$T/tree" SECOND
two_parts () {   # two_parts IMG LABEL
  truncate -s 100M "$1"
  printf 'label: %s\nstart=2048,size=81920,type=%s\nstart=83968,size=81920,type=%s\n' \
    "$2" "$3" "$3" | sfdisk -q "$1" >/dev/null
  dd if="$T/a1.img" of="$1" bs=512 seek=2048 conv=notrunc,sparse status=none
  dd if="$T/a2.img" of="$1" bs=512 seek=83968 conv=notrunc,sparse status=none
}
two_parts "$T/two-gpt.img" gpt 0FC63DAF-8483-4772-8E79-3D69D8477DE4
two_parts "$T/two-mbr.img" dos 83
a2_sum=$(sum "$T/a2.img")
# check_two OUT WHAT SIZE1: sizes (sectors), sda2 intact, sda1 clean.
check_two () {
  sfdisk -V "$1" >/dev/null 2>&1 || fail "$2: sfdisk -V finds errors"
  expect_eq "$2: /dev/sda1 size (sectors)" "$3" "$(part_field "$1" 1 size)"
  extract "$1" 2 "$T/two2.img"
  expect_eq "$2: /dev/sda2 byte-identical" "$a2_sum" "$(sum "$T/two2.img")"
  extract "$1" 1 "$T/two1.img"
  e2fsck -fn "$T/two1.img" >/dev/null 2>&1 || fail "$2: e2fsck -fn of /dev/sda1"
  ok "$2: /dev/sda1 is clean"
}
rm -f "$T/two-out.img"; truncate -s 200M "$T/two-out.img"
"$VIRT_RESIZE" --expand /dev/sda1 "$T/two-gpt.img" "$T/two-out.img" > "$T/two.out"
grep -q "/dev/sda1: This partition will be resized from 40.0M to 158.0M" "$T/two.out" ||
  fail "GPT --expand /dev/sda1: summary: $(cat "$T/two.out")"
check_two "$T/two-out.img" "GPT --expand /dev/sda1 (100M -> 200M)" 323584
rm -f "$T/two-out.img"; truncate -s $((200 * 1048576 + 600 * 1024)) "$T/two-out.img"
"$VIRT_RESIZE" -q --expand /dev/sda1 "$T/two-mbr.img" "$T/two-out.img" > /dev/null
check_two "$T/two-out.img" "MBR --expand /dev/sda1 (100M -> 200.6M)" 325632
rm -f "$T/two-out.img"; truncate -s 70M "$T/two-out.img"
"$VIRT_RESIZE" -q --shrink /dev/sda1 "$T/two-gpt.img" "$T/two-out.img" > /dev/null
check_two "$T/two-out.img" "GPT --shrink /dev/sda1 (100M -> 70M)" 57344
check_no_qemu
