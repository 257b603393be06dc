#!/bin/bash -
# guestbox - virt-sparsify end to end: a GPT disk with ext4, vfat and
# swap holding deleted data.  Copying mode: the input is never changed
# (checksum), the output is complete, smaller, clean, keeps files, swap
# UUID and label, and the partition table; --convert qcow2 --compress;
# failures and ^C leave no output and no temp files; --check-tmpdir=fail.
# --in-place on raw and qcow2 copies; exit 3 for a format that cannot
# discard.
# Copyright (C) 2026 the guestbox authors
# SPDX-License-Identifier: GPL-2.0-or-later

set -e
. "${top_srcdir:=$(dirname "$0")/..}/tests/functions.sh"
. "$top_srcdir/tests/images.sh"
requires_appliance
requires mkfs.ext4 debugfs e2fsck mkfs.vfat mcopy mdel fsck.vfat mkswap \
  sfdisk blkid sha256sum qemu-img
make_workdir
VIRT_SPARSIFY=$top_builddir/sparsify/virt-sparsify

marked_file () {
  { head -c $(( $2 / 2 )) /dev/urandom; yes GBOXDELETEDDATA | head -c $(( $2 / 2 )); } > "$1"
}
has_marker () { grep -aq GBOXDELETEDDATA "$1"; }

# p1: ext4 with 6 MiB deleted; p2: vfat with 2 MiB deleted; p3: swap
# whose unused pages hold data.
mkdir "$T/ext" "$T/fat"
for i in 1 2 3; do marked_file "$T/ext/del$i" 2097152; done
echo "ext keeps this" > "$T/ext/keep.txt"
ext4_image "$T/p1.img" 24 "$T/ext" SPEXT
for i in 1 2 3; do debugfs -w -R "rm /del$i" "$T/p1.img" >/dev/null 2>&1; done
marked_file "$T/fat/gone.bin" 2097152
echo "fat keeps this" > "$T/fat/keep.txt"
vfat_image "$T/p2.img" 8 "$T/fat"
mdel -i "$T/p2.img" ::/gone.bin
s1=$(( $(stat -c %s "$T/p1.img") / 512 ))
s2=$(( $(stat -c %s "$T/p2.img") / 512 ))
s3=16384
truncate -s 64M "$T/disk.img"
printf 'start=2048, size=%d, type=linux\nstart=%d, size=%d, type=linux\nstart=%d, size=%d, type=swap\n' \
  $s1 $((2048 + s1)) $s2 $((2048 + s1 + s2)) $s3 | sfdisk -q -X gpt "$T/disk.img" >/dev/null
dd if="$T/p1.img" of="$T/disk.img" bs=512 seek=2048 conv=notrunc status=none
dd if="$T/p2.img" of="$T/disk.img" bs=512 seek=$((2048 + s1)) conv=notrunc status=none
o3=$((2048 + s1 + s2))
truncate -s $((s3 * 512)) "$T/p3.img"
mkswap -L SPSWAP "$T/p3.img" >/dev/null 2>&1
marked_file "$T/swapdata" 2097152
dd if="$T/swapdata" of="$T/p3.img" bs=4096 seek=16 conv=notrunc status=none
dd if="$T/p3.img" of="$T/disk.img" bs=512 seek=$o3 conv=notrunc status=none
rm -f "$T/p1.img" "$T/p2.img" "$T/p3.img" "$T/swapdata"
swap_id=$(blkid -p -o export -O $((o3 * 512)) "$T/disk.img" | grep -E '^(UUID|LABEL)=' | sort)
[ -n "$swap_id" ] || fail "fixture: no swap found"
has_marker "$T/disk.img" || fail "fixture: no deleted data"

extract () {  # extract IMAGE(raw) N OUT
  case $2 in
    1) dd if="$1" of="$3" bs=512 skip=2048 count=$s1 status=none ;;
    2) dd if="$1" of="$3" bs=512 skip=$((2048 + s1)) count=$s2 status=none ;;
  esac
}
# check_sparse RAW WHAT: the content checks of a sparsified disk.
check_sparse () {
  local img=$1 what=$2
  # qcow2 discards whole clusters only: deleted data may stay in the
  # partly used clusters at the edges of free extents.
  [ "${3:-}" = partial ] || ! has_marker "$img" || fail "$what: deleted data left"
  extract "$img" 1 "$T/x1"; extract "$img" 2 "$T/x2"
  e2fsck -fn "$T/x1" >"$T/fsck.out" 2>&1 || { cat "$T/fsck.out"; fail "$what: e2fsck -fn"; }
  fsck.vfat -n "$T/x2" >"$T/fsck.out" 2>&1 || { cat "$T/fsck.out"; fail "$what: fsck.vfat -n"; }
  [ "$(debugfs -R "cat /keep.txt" "$T/x1" 2>/dev/null)" = "ext keeps this" ] ||
    fail "$what: ext4 file changed"
  [ "$(mtype -i "$T/x2" ::/keep.txt)" = "fat keeps this" ] || fail "$what: vfat file changed"
  [ "$(blkid -p -o export -O $((o3 * 512)) "$img" | grep -E '^(UUID|LABEL)=' | sort)" = "$swap_id" ] ||
    fail "$what: swap UUID/label changed"
  [ "$(sfdisk -d "$img" | grep -v '^device:' | sed 's/^[^ ]*[0-9] :/P :/')" = \
    "$(sfdisk -d "$T/disk.img" | grep -v '^device:' | sed 's/^[^ ]*[0-9] :/P :/')" ] ||
    fail "$what: partition table changed"
  rm -f "$T/x1" "$T/x2"
  ok "$what: no deleted data, e2fsck and fsck.vfat clean, files, swap UUID/label and partitions kept"
}
no_leftovers () {
  ls "$T" | grep -q '\.tmp\.' && fail "$1: temporary output left: $(ls "$T")"
  check_no_qemu
}

sum=$(sha256sum < "$T/disk.img")
kb_in=$(du -k "$T/disk.img" | cut -f1)

# Copying mode, raw to raw.
"$VIRT_SPARSIFY" -q "$T/disk.img" "$T/out.img"
expect_eq "copying mode: the input is unchanged" "$sum" "$(sha256sum < "$T/disk.img")"
no_leftovers "copying mode"
expect_eq "copying mode: same virtual size" "$(stat -c %s "$T/disk.img")" "$(stat -c %s "$T/out.img")"
check_sparse "$T/out.img" "copying mode"
kb_out=$(du -k "$T/out.img" | cut -f1)
[ $((kb_in - kb_out)) -ge 8000 ] || fail "copying mode: ${kb_in}K -> ${kb_out}K (expected 9 MB less)"
ok "copying mode: allocated ${kb_in}K -> ${kb_out}K"

# --convert qcow2 --compress: the same content.
out=$("$VIRT_SPARSIFY" --convert qcow2 --compress "$T/disk.img" "$T/out.qcow2")
echo "$out" | grep -q "^Sparsify operation completed with no errors" || fail "no summary: $out"
expect_eq "--convert qcow2: format" "qcow2" \
  "$(qemu-img info --output=json "$T/out.qcow2" | sed -n 's/.*"format": "\(.*\)".*/\1/p' | head -n1)"
qemu-img convert -O raw "$T/out.qcow2" "$T/outq.img"
check_sparse "$T/outq.img" "--convert qcow2 --compress"
kb_q=$(du -k "$T/out.qcow2" | cut -f1)
[ $kb_q -lt 2048 ] || fail "--convert qcow2 --compress: ${kb_q}K"
ok "--convert qcow2 --compress: ${kb_q}K"
rm -f "$T/outq.img"
expect_eq "input still unchanged" "$sum" "$(sha256sum < "$T/disk.img")"
rm -f "$T/out.qcow2"

# A failing copy leaves no output (and an old OUT is not touched).
echo "previous" > "$T/old.img"
expect_error "bad -o: no output" "^virt-sparsify: error: .*old.img.*(copying failed|cannot create the output)" \
  "$VIRT_SPARSIFY" -q -o no_such_option=1 "$T/disk.img" "$T/old.img"
expect_eq "bad -o: the old output is untouched" "previous" "$(cat "$T/old.img")"
no_leftovers "bad -o"

# --check-tmpdir=fail when the disk is larger than the free space.
truncate -s 15T "$T/huge.img" 2>/dev/null || true
free_kb=$(df -Pk "$TMPDIR" | awk 'NR==2 {print $4}')
if [ -s "$T/huge.img" ] && [ "$free_kb" -lt $((15 * 1024 * 1024 * 1024)) ]; then
  expect_error "--check-tmpdir=fail" \
    "^virt-sparsify: error: .* has .* free, but the temporary overlay may need up to 15T" \
    "$VIRT_SPARSIFY" --check-tmpdir=fail --format=raw "$T/huge.img" "$T/huge-out.img"
  [ -e "$T/huge-out.img" ] && fail "--check-tmpdir=fail: output made"
else
  echo "SKIP: --check-tmpdir=fail: $TMPDIR holds no sparse 15T file, or has 15T free"
fi
rm -f "$T/huge.img"

# Killed while it runs (SIGTERM: a background job of a script ignores
# SIGINT; both go through the same handler): no output, no temp files,
# no qemu.  (If it finished first, there is nothing to check.)
"$VIRT_SPARSIFY" -q "$T/disk.img" "$T/int.img" & pid=$!
sleep 0.5
kill -TERM $pid 2>/dev/null || true
rc=0; wait $pid || rc=$?
if [ $rc -ne 0 ]; then
  [ -e "$T/int.img" ] && fail "SIGTERM: output left"
  no_leftovers "SIGTERM"
  ok "SIGTERM (status $rc): no output, no temporary files, no qemu"
else
  rm -f "$T/int.img"
  ok "SIGTERM: it finished first (nothing to check)"
fi

# --in-place, raw.
cp --sparse=never "$T/disk.img" "$T/ip.img"
"$VIRT_SPARSIFY" -q --in-place "$T/ip.img"
check_sparse "$T/ip.img" "--in-place raw"
kb_ip=$(du -k "$T/ip.img" | cut -f1)
[ $kb_ip -lt $((kb_in - 8000)) ] || fail "--in-place raw: ${kb_in}K -> ${kb_ip}K"
ok "--in-place raw: allocated ${kb_in}K -> ${kb_ip}K"
no_leftovers "--in-place"

# --in-place, qcow2.
qemu-img convert -O qcow2 "$T/disk.img" "$T/ip.qcow2"
kb_q=$(du -k "$T/ip.qcow2" | cut -f1)
"$VIRT_SPARSIFY" -q --in-place "$T/ip.qcow2"
qemu-img convert -O raw "$T/ip.qcow2" "$T/ipq.img"
check_sparse "$T/ipq.img" "--in-place qcow2" partial
kb_q2=$(du -k "$T/ip.qcow2" | cut -f1)
[ $kb_q2 -lt $((kb_q - 8000)) ] || fail "--in-place qcow2: ${kb_q}K -> ${kb_q2}K"
ok "--in-place qcow2: allocated ${kb_q}K -> ${kb_q2}K"
rm -f "$T/ip.img" "$T/ip.qcow2" "$T/ipq.img"

# --in-place on a format that cannot discard: exit 3, one line.
qemu-img convert -O vdi "$T/disk.img" "$T/d.vdi"
vsum=$(sha256sum < "$T/d.vdi")
rc=0; "$VIRT_SPARSIFY" --in-place "$T/d.vdi" 2>"$T/err" || rc=$?
expect_eq "--in-place vdi: exit status 3" 3 $rc
expect_eq "--in-place vdi: one line" 1 "$(wc -l < "$T/err")"
grep -q "^virt-sparsify: error: .*d.vdi: the vdi format cannot discard" "$T/err" ||
  fail "--in-place vdi: $(cat "$T/err")"
expect_eq "--in-place vdi: untouched" "$vsum" "$(sha256sum < "$T/d.vdi")"
no_leftovers "--in-place vdi"

# The output: a new file gets 0644 less the umask (not 0600), a
# replaced file keeps its mode, a symbolic link is followed (and stays
# a link), a block device is written in place.
(umask 027 && "$VIRT_SPARSIFY" -q "$T/disk.img" "$T/new.img")
expect_eq "new output: mode 0644 less the umask 027" 640 "$(stat -c %a "$T/new.img")"
rm -f "$T/new.img"
echo old > "$T/target.img"
chmod 604 "$T/target.img"
ln -s target.img "$T/link.img"
"$VIRT_SPARSIFY" -q "$T/disk.img" "$T/link.img"
[ -L "$T/link.img" ] || fail "symbolic link output: the link was replaced"
expect_eq "symbolic link output: the target keeps its mode" 604 "$(stat -c %a "$T/target.img")"
check_sparse "$T/target.img" "symbolic link output"
no_leftovers "symbolic link output"
rm -f "$T/target.img" "$T/link.img"
requires losetup
truncate -s 64M "$T/lv.img"
loopdev=$(losetup -f --show "$T/lv.img" 2>/dev/null) ||
  skip_or_fail "cannot attach a loop device (block device output)"
cleanup_fn "losetup -d $loopdev"
yes JUNK | head -c 64M > "$loopdev" 2>/dev/null || true
"$VIRT_SPARSIFY" -q "$T/disk.img" "$loopdev"
[ -b "$loopdev" ] || fail "block device output: $loopdev is no longer a block device"
sync
check_sparse "$T/lv.img" "block device output (in place)"
losetup -d "$loopdev"
rm -f "$T/lv.img"

# --zero PART: the whole partition is zeros in the output.
"$VIRT_SPARSIFY" -q --zero /dev/sda1 "$T/disk.img" "$T/z.img"
extract "$T/z.img" 1 "$T/x1"
cmp -s "$T/x1" <(head -c $((s1 * 512)) /dev/zero) || fail "--zero /dev/sda1: not all zeros"
extract "$T/z.img" 2 "$T/x2"
[ "$(mtype -i "$T/x2" ::/keep.txt)" = "fat keeps this" ] || fail "--zero: vfat changed"
ok "--zero /dev/sda1: all zeros, the other partitions kept"
rm -f "$T/z.img" "$T/x1" "$T/x2"

# --in-place on a filesystem that cannot discard (minix, mounted with
# the module the appliance now has): libguestfs's warning, the rest is
# trimmed, exit status 3; --ignore it: exit 0.
requires mkfs.minix
truncate -s 16M "$T/mx.img"
printf 'start=2048, size=8192, type=linux\nstart=10240, type=linux\n' |
  sfdisk -q "$T/mx.img" >/dev/null
truncate -s 4M "$T/mx1.img"
mkfs.minix "$T/mx1.img" >/dev/null
dd if="$T/mx1.img" of="$T/mx.img" bs=512 seek=2048 conv=notrunc status=none
mkdir "$T/mxe" && echo mx > "$T/mxe/f"
ext4_image "$T/mx2.img" 6 "$T/mxe" MXEXT
dd if="$T/mx2.img" of="$T/mx.img" bs=512 seek=10240 conv=notrunc status=none
rm -f "$T/mx1.img" "$T/mx2.img"
rc=0; "$VIRT_SPARSIFY" -q --in-place "$T/mx.img" 2>"$T/err" || rc=$?
expect_eq "--in-place minix: exit status 3" 3 $rc
expect_eq "--in-place minix: libguestfs's warning" \
  "virt-sparsify: warning: fstrim operation is not supported on /dev/sda1 (minix).  Suppress this warning using '--ignore /dev/sda1', or use copying mode instead." \
  "$(cat "$T/err")"
"$VIRT_SPARSIFY" -q --in-place --ignore /dev/sda1 "$T/mx.img" 2>"$T/err" ||
  fail "--in-place --ignore /dev/sda1: $(cat "$T/err")"
ok "--in-place --ignore /dev/sda1: exit 0"
no_leftovers "--in-place minix"

# virt-df lists the minix filesystem too (as libguestfs, whose
# appliance mounts it).
"$top_builddir/df/virt-df" -a "$T/mx.img" > "$T/df.out" 2>"$T/err" ||
  fail "virt-df on minix: $(cat "$T/err")"
grep -q "^mx.img:/dev/sda1 " "$T/df.out" || { cat "$T/df.out"; fail "virt-df: no minix row"; }
grep -q "^mx.img:/dev/sda2 " "$T/df.out" || { cat "$T/df.out"; fail "virt-df: no ext4 row"; }
ok "virt-df lists the minix filesystem"
