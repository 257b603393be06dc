#!/bin/bash -
# guestbox - ten commands started at once on an empty appliance cache
# all succeed and leave exactly one valid appliance and one snapshot;
# a truncated initrd in the cache is noticed and rebuilt.
# Copyright (C) 2026 the guestbox authors
# SPDX-License-Identifier: GPL-2.0-or-later

set -e
. "${top_srcdir:=$(dirname "$0")/../..}/tests/functions.sh"
. "$top_srcdir/tests/images.sh"
requires_appliance
requires mkfs.ext4 cpio
make_workdir

make_linux_tree "$T/root" concguest
echo '/dev/sda / ext4 defaults 0 1' > "$T/root/etc/fstab"
ext4_image "$T/disk.img" 32 "$T/root"

export XDG_CACHE_HOME=$T/cache
N=10
for i in $(seq $N); do
  ( rc=0
    "$VIRT_CAT" -a "$T/disk.img" /etc/hostname > "$T/out.$i" 2> "$T/err.$i" || rc=$?
    echo $rc > "$T/rc.$i" ) &
done
wait
for i in $(seq $N); do
  [ "$(cat "$T/rc.$i")" = 0 ] && [ "$(cat "$T/out.$i")" = concguest ] ||
    { cat "$T/err.$i" >&2; fail "parallel run $i: exit $(cat "$T/rc.$i")"; }
done
ok "$N commands at once on an empty cache all succeeded"
check_no_qemu

G=$XDG_CACHE_HOME/guestbox
entries=$(cd "$G" && ls -d appliance-* | wc -l)
expect_eq "one cached appliance" 1 "$entries"
A=$(ls -d "$G"/appliance-*)
leftover=$(find "$G" -name '*.tmp*' -o -name 'tmp*' -o -name '.new*' | head -n3)
[ -z "$leftover" ] || fail "unpublished files left in the cache: $leftover"
cpio -t < "$A/initrd" > "$T/list" 2>/dev/null || fail "cached initrd is not a valid cpio archive"
grep -qx init "$T/list" || fail "cached initrd has no /init"
ok "the cached initrd is a complete archive ($(wc -l < "$T/list") entries)"
snaps=$(find "$A/snapshot" -mindepth 1 -maxdepth 1 -type d | wc -l)
[ -e "$A/snapshot/current" ] && [ "$snaps" = 1 ] || {
  ls -la "$A/snapshot" >&2; fail "expected one published snapshot, found $snaps"; }
ok "one published snapshot"

# The snapshot is restored by the next command (fast path).  A command
# that cannot restore boots cold and leaves a detached process making a
# new snapshot (snapshot/maker.log, a new s-* directory); one that
# restores changes nothing in the snapshot directory.  (A -v command
# keeps its own snapshot, for its verbose kernel, so this run is quiet.)
snapdir () { ls -l --time-style=+%s "$A/snapshot"; }
before=$(snapdir)
out=$("$VIRT_CAT" -a "$T/disk.img" /etc/hostname)
expect_eq "a later run" concguest "$out"
wait_snapshot_maker
expect_eq "a later run restored the snapshot (nothing new in the snapshot directory)" \
  "$before" "$(snapdir)"

# A truncated initrd is noticed and rebuilt.
size=$(stat -c %s "$A/initrd")
truncate -s $((size / 2)) "$A/initrd"
out=$("$VIRT_CAT" -a "$T/disk.img" /etc/hostname)
expect_eq "after truncating the cached initrd" concguest "$out"
# (The same entry, unless the daemon was rebuilt meanwhile: the newest.)
A2=$(ls -td "$G"/appliance-* | head -n1)
cpio -t < "$A2/initrd" > /dev/null 2>&1 || fail "the initrd was not rebuilt"
if [ "$A2" = "$A" ]; then
  expect_eq "rebuilt initrd size" "$size" "$(stat -c %s "$A2/initrd")"
fi
ok "the truncated initrd was rebuilt"
check_no_qemu
