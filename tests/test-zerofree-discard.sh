#!/bin/bash -
# guestbox - virt-zerofree zeroes NTFS free space by discard: a raw GPT
# disk whose NTFS partition was full of a marker before mkntfs; after
# virt-zerofree -v says it discarded, every cluster that the NTFS
# bitmap marks free reads back as zeros, the kept file is intact and
# ntfsfix -n is clean.  The same disk as qcow2 (whose 64 KiB clusters
# would not all be discarded) is filled instead, and -v says so.
# virt-sparsify (copying mode) discards into its overlay: the output's
# free clusters read as zeros too.
# Copyright (C) 2026 the guestbox authors
# SPDX-License-Identifier: GPL-2.0-or-later

set -e
. "$top_srcdir/tests/functions.sh"
. "$top_srcdir/tests/images.sh"
requires_appliance
requires mkntfs ntfscp ntfscat ntfsfix sfdisk python3 qemu-img
make_workdir
VIRT_ZEROFREE=$top_builddir/zerofree/virt-zerofree

# A 24 MiB NTFS partition laid over a marker (mkntfs -Q zeroes nothing).
yes GBOXFREESPACE | head -c $((24 * 1024 * 1024)) > "$T/p1.img"
mkntfs -q -Q -F -L ZFNTFS "$T/p1.img" >/dev/null 2>&1 || fail "fixture: mkntfs"
echo "ntfs keeps this" > "$T/keep.txt"
ntfscp -q "$T/p1.img" "$T/keep.txt" keep.txt >/dev/null 2>&1 || fail "fixture: ntfscp"
gpt_disk "$T/disk.img" 28 "$T/p1.img"
s1=$(( $(stat -c %s "$T/p1.img") / 512 ))
rm "$T/p1.img"
qemu-img convert -f raw -O qcow2 "$T/disk.img" "$T/disk.qcow2"
cp --sparse=always "$T/disk.img" "$T/disk.orig"
part () { dd if="$1" of="$2" bs=512 skip=2048 count=$s1 status=none; }

# free_nonzero PART: the free clusters (per the NTFS bitmap) that are
# not all zeros, and the number of free clusters.
free_nonzero () {
  ntfscat -f -i 6 "$1" > "$T/bitmap" 2>/dev/null || fail "ntfscat \$Bitmap"
  python3 - "$1" "$T/bitmap" <<'EOF'
import struct, sys
part = open(sys.argv[1], 'rb').read()
bitmap = open(sys.argv[2], 'rb').read()
bps = struct.unpack_from('<H', part, 11)[0]
spc = part[13]
cs = bps * spc if spc < 128 else 1 << (256 - spc)
n = struct.unpack_from('<Q', part, 40)[0] * bps // cs
free = bad = 0
for c in range(n):
    if not bitmap[c // 8] >> (c % 8) & 1:
        free += 1
        if part[c * cs:(c + 1) * cs].count(0) != cs:
            bad += 1
print(bad, free)
EOF
}

part "$T/disk.img" "$T/x1"
read -r bad free < <(free_nonzero "$T/x1")
[ "$free" -gt 4000 ] || fail "fixture: only $free free clusters"
[ "$bad" -gt 4000 ] || fail "fixture: only $bad free clusters hold data"
ok "fixture: $bad of $free free clusters hold the marker"

# Raw: discarded.
"$VIRT_ZEROFREE" -v -a "$T/disk.img" > "$T/out" 2> "$T/err" ||
  { tail -20 "$T/err"; fail "virt-zerofree -v (raw) failed"; }
cat "$T/out"
grep -q "^virt-zerofree: /dev/sda1: zeroed by discard (fstrim)" "$T/err" ||
  { grep virt-zerofree "$T/err"; fail "-v does not say the raw disk was discarded"; }
grep -q "^/dev/sda1: ntfs: free space discarded (" "$T/out" ||
  fail "no 'free space discarded' line"
part "$T/disk.img" "$T/x1"
read -r bad free < <(free_nonzero "$T/x1")
expect_eq "raw: free clusters not reading as zeros" 0 "$bad"
ok "raw: all $free free clusters read back as zeros"
[ "$(ntfscat "$T/x1" keep.txt 2>/dev/null)" = "ntfs keeps this" ] ||
  fail "raw: the kept file changed"
ntfsfix -n "$T/x1" > "$T/fsck.out" 2>&1 || { cat "$T/fsck.out"; fail "ntfsfix -n"; }
ok "raw: the kept file is intact, ntfsfix -n is clean"
check_no_qemu

# virt-sparsify, copying mode: discarded into the overlay.
VIRT_SPARSIFY=$top_builddir/sparsify/virt-sparsify
"$VIRT_SPARSIFY" -v --format raw --convert raw "$T/disk.orig" "$T/sparse.img" \
  > "$T/out" 2> "$T/err" || { tail -20 "$T/err"; fail "virt-sparsify -v failed"; }
grep -q "^virt-sparsify: /dev/sda1: zeroed by discard (fstrim)" "$T/err" ||
  { grep virt-sparsify "$T/err"; fail "virt-sparsify -v does not say it discarded"; }
part "$T/sparse.img" "$T/x1"
read -r bad free < <(free_nonzero "$T/x1")
expect_eq "virt-sparsify: free clusters not reading as zeros" 0 "$bad"
[ "$(ntfscat "$T/x1" keep.txt 2>/dev/null)" = "ntfs keeps this" ] ||
  fail "virt-sparsify: the kept file changed"
ok "virt-sparsify: all $free free clusters of the output read as zeros"
rm -f "$T/disk.orig" "$T/sparse.img"
check_no_qemu

# qcow2: filled, and -v says why.
"$VIRT_ZEROFREE" -v -a "$T/disk.qcow2" > "$T/out" 2> "$T/err" ||
  { tail -20 "$T/err"; fail "virt-zerofree -v (qcow2) failed"; }
grep -q "^virt-zerofree: /dev/sda1: filling with zeros" "$T/err" ||
  { grep virt-zerofree "$T/err"; fail "-v does not say the qcow2 disk was filled"; }
grep -q "^/dev/sda1: ntfs: free space filled with zeros (" "$T/out" ||
  fail "qcow2: no 'filled with zeros' line"
qemu-img convert -f qcow2 -O raw "$T/disk.qcow2" "$T/disk2.img"
part "$T/disk2.img" "$T/x1"
read -r bad free < <(free_nonzero "$T/x1")
expect_eq "qcow2: free clusters not reading as zeros" 0 "$bad"
ok "qcow2: all $free free clusters read back as zeros"
check_no_qemu
