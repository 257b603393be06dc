#!/bin/bash -
# guestbox - instant launch: the first launch cold-boots, then a
# detached process saves a snapshot, the next ones restore it; a changed command line or a damaged
# state file falls back to a cold boot; ten commands restore at once;
# restored appliances get their own random state and the current time;
# disks (1, 2 and 8, raw and qcow2) are hot-added after a restore.
# Copyright (C) 2026 the guestbox authors
# SPDX-License-Identifier: GPL-2.0-or-later

set -e
. "${top_srcdir:=$(dirname "$0")/..}/tests/functions.sh"
. "$top_srcdir/tests/images.sh"
requires_appliance
requires mkfs.ext4 qemu-img
make_workdir

# A private cache: this test clears it.
export XDG_CACHE_HOME=$T/cache
unset GBOX_SNAPSHOT GBOX_MEMSIZE GBOX_APPEND LIBGUESTFS_APPEND

make_linux_tree "$T/root" snapguest
echo '/dev/sda / ext4 defaults 0 1' > "$T/root/etc/fstab"
ext4_image "$T/disk.img" 32 "$T/root"
sum_before=$(md5sum < "$T/disk.img")

# run NAME ARGS...: virt-cat -v, output in $T/NAME.out, log in $T/NAME.err.
run () {
  local name=$1
  shift
  "$VIRT_CAT" -v "$@" > "$T/$name.out" 2> "$T/$name.err" || {
    tail -30 "$T/$name.err" >&2
    fail "$name: virt-cat failed"
  }
}
has () { grep -qE -- "$2" "$T/$1.err"; }
snapdir () { echo "$XDG_CACHE_HOME"/guestbox/appliance-*/snapshot; }

# maker_has PATTERN: the detached snapshot maker's log, once it is done.
maker_has () {
  wait_snapshot_maker
  grep -qE -- "$1" "$(snapdir)/maker.log"
}

# 1. Empty cache: a plain cold boot serves the command (it does not
# wait for a snapshot), then a detached process makes the snapshot.
run first -a "$T/disk.img" /etc/hostname
expect_eq "first launch: output" snapguest "$(cat "$T/first.out")"
has first 'snapshot: no snapshot yet.*cold boot, making one after this command' ||
  fail "first launch: not a cold boot that makes a snapshot"
! has first 'snapshot: published ' || fail "first launch: waited for the snapshot"
has first 'snapshot: making one in the background' ||
  fail "first launch: no background snapshot maker"
maker_has 'snapshot: published ' || fail "first launch: no snapshot published"
ok "first launch cold-booted, then the snapshot was made in the background"
check_no_qemu

# The snapshot is private: 0700 directories, the key 0600, the RAM and
# state read-only (0400).
d=$(snapdir)
s=$d/$(readlink "$d/current-v")
for f in "$d" "$s"; do
  expect_eq "mode of $(basename "$f")" 700 "$(stat -c %a "$f")"
done
for f in "$s"/ram "$s"/state; do
  expect_eq "mode of $(basename "$f")" 400 "$(stat -c %a "$f")"
done
expect_eq "mode of key" 600 "$(stat -c %a "$s/key")"

# 2. Next launch: restored, no boot.
run second -a "$T/disk.img" /etc/hostname
expect_eq "second launch: output" snapguest "$(cat "$T/second.out")"
has second 'snapshot: restored in' || fail "second launch: not restored"
! has second 'cold boot' || fail "second launch: cold-booted"
! has second 'Linux version' || fail "second launch: the kernel booted"
ok "second launch restored the snapshot"
check_no_qemu

# 2b. A RAM file written after it was saved (here: its first byte
# rewritten with the same value, as a rogue qemu holding it open could)
# is never restored: cold boot, new snapshot.
chmod u+w "$s/ram"
dd if="$s/ram" of="$s/ram" bs=1 count=1 conv=notrunc status=none
chmod u-w "$s/ram"
run rewritten -a "$T/disk.img" /etc/hostname
expect_eq "rewritten RAM file: output" snapguest "$(cat "$T/rewritten.out")"
has rewritten 'ram: changed since the snapshot was saved.*cold boot' ||
  fail "rewritten RAM file: not refused"
maker_has 'snapshot: published ' || fail "rewritten RAM file: no new snapshot"
ok "a RAM file written after the snapshot was saved is not restored"
check_no_qemu

# 3. A changed qemu command line (memory size) invalidates it.
export GBOX_MEMSIZE=384
run memsize -a "$T/disk.img" /etc/hostname
expect_eq "changed memory size: output" snapguest "$(cat "$T/memsize.out")"
has memsize 'snapshot does not match this launch.*-m.*cold boot' ||
  has memsize 'snapshot does not match this launch.*size=384M' ||
  fail "changed memory size: the snapshot was not invalidated"
maker_has 'snapshot: published ' || fail "changed memory size: no new snapshot"
ok "a changed command line invalidates the snapshot"
check_no_qemu

# 4. A damaged state file: restore fails, cold boot, new snapshot.
s=$d/$(readlink "$d/current-v")
dd if=/dev/urandom of="$s/state" bs=1k seek=8 count=16 conv=notrunc status=none
run damaged -a "$T/disk.img" /etc/hostname
expect_eq "damaged state: output" snapguest "$(cat "$T/damaged.out")"
has damaged 'snapshot: restore failed .*cold boot, replacing the snapshot' ||
  fail "damaged state: no fallback to a cold boot"
maker_has 'snapshot: published ' || fail "damaged state: snapshot not replaced"
[ "$d/$(readlink "$d/current-v")" != "$s" ] || fail "damaged state: same snapshot dir"
[ ! -e "$s" ] || fail "damaged state: the old snapshot was not removed"
ok "a damaged state file falls back to a cold boot and is replaced"
check_no_qemu

# 5. Ten commands restore at once; each guest has its own random state
# and the current time (the snapshot is seconds old by now: a guest
# whose clock was not set would be behind).
sleep 3
t0=$(date +%s)
pids=()
for i in 0 1 2 3 4 5 6 7 8 9; do
  "$VIRT_CAT" -v -a "$T/disk.img" /etc/hostname > "$T/par$i.out" 2> "$T/par$i.err" &
  pids+=($!)
done
for i in 0 1 2 3 4 5 6 7 8 9; do
  wait "${pids[$i]}" || { tail -20 "$T/par$i.err" >&2; fail "parallel run $i failed"; }
done
t1=$(date +%s)
for i in 0 1 2 3 4 5 6 7 8 9; do
  expect_eq "parallel run $i: output" snapguest "$(cat "$T/par$i.out")"
  has par$i 'snapshot: restored in' || fail "parallel run $i: not restored"
  line=$(grep -E 'guestboxd: refresh: clock [0-9]+\.[0-9]+ random [0-9a-f]{32}' "$T/par$i.err") ||
    fail "parallel run $i: no refresh line"
  clock=$(echo "$line" | sed -E 's/.*clock ([0-9]+)\..*/\1/')
  echo "$line" | sed -E 's/.*random ([0-9a-f]+).*/\1/' >> "$T/randoms"
  if [ "$clock" -lt "$t0" ] || [ "$clock" -gt $((t1 + 1)) ]; then
    fail "parallel run $i: guest clock $clock outside [$t0, $t1]"
  fi
done
ok "10 parallel restores succeeded, guest clocks within [$t0, $t1]"
expect_eq "10 restores, 10 different random values" 10 "$(sort -u "$T/randoms" | wc -l)"
check_no_qemu

# 6. Disks hot-added after a restore: 2 (raw + qcow2), then 8 (mixed);
# disk N holds /dN/id = "diskN", mounted from the root's fstab.
mkdir -p "$T/root8/d1"
fstab='/dev/sda / ext4 defaults 0 1'
for n in 2 3 4 5 6 7 8; do
  dev=$(printf "\\x$(printf %x $((96 + n)))")
  mkdir -p "$T/root8/d$n" "$T/data$n/d"
  echo "disk$n" > "$T/data$n/id"
  fstab="$fstab
/dev/sd$dev /d$n ext4 defaults 0 2"
  ext4_image "$T/d$n.raw" 8 "$T/data$n"
  if [ $((n % 2)) = 0 ]; then
    qemu-img convert -q -f raw -O qcow2 "$T/d$n.raw" "$T/d$n.img"
    rm -f "$T/d$n.raw"
  else
    mv "$T/d$n.raw" "$T/d$n.img"
  fi
done
make_linux_tree "$T/root8" eightdisks
echo "disk1" > "$T/root8/d1/id"
echo "$fstab" > "$T/root8/etc/fstab"
ext4_image "$T/d1.img" 32 "$T/root8"

run two -a "$T/d1.img" -a "$T/d2.img" /d2/id
expect_eq "2 disks (raw + qcow2)" disk2 "$(cat "$T/two.out")"
has two 'snapshot: restored in' || fail "2 disks: not restored"
has two '2 disk\(s\) attached' || fail "2 disks: not attached"

args=()
for n in 1 2 3 4 5 6 7 8; do args+=(-a "$T/d$n.img"); done
for n in 1 3 5 8; do
  run eight$n "${args[@]}" /d$n/id
  expect_eq "8 disks: /d$n/id" disk$n "$(cat "$T/eight$n.out")"
done
has eight8 'snapshot: restored in' || fail "8 disks: not restored"
has eight8 '8 disk\(s\) attached' || fail "8 disks: not attached"
if [ -x "$VIRT_LS" ]; then
  "$VIRT_LS" "${args[@]}" /d7 > "$T/ls.out" 2> "$T/ls.err" ||
    { cat "$T/ls.err" >&2; fail "virt-ls on 8 disks failed"; }
  grep -qx id "$T/ls.out" || fail "virt-ls /d7: no 'id' in: $(cat "$T/ls.out")"
  ok "virt-ls on 8 disks"
fi
check_no_qemu

# The images were attached read-only through overlays: unchanged.
expect_eq "read-only disk unchanged" "$sum_before" "$(md5sum < "$T/disk.img")"

# 7. GBOX_SNAPSHOT=0 disables it.
GBOX_SNAPSHOT=0 run disabled -a "$T/disk.img" /etc/hostname
expect_eq "GBOX_SNAPSHOT=0: output" snapguest "$(cat "$T/disabled.out")"
has disabled 'snapshot: disabled' || fail "GBOX_SNAPSHOT=0: not disabled"
has disabled 'Linux version' || fail "GBOX_SNAPSHOT=0: no cold boot"
ok "GBOX_SNAPSHOT=0 cold-boots"
check_no_qemu
