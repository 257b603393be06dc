#!/bin/bash -
# guestbox - the commands that write open md RAID and LUKS as the
# read-only ones do: one MBR disk made by tests/mkstorage,
#
#   sda1        LUKS2 (key pw1) -> ext4 SECRET (secret.txt)
#   sda2, sda3  md RAID1, metadata 1.0 -> ext4 RAIDFS (raid.txt)
#
# both filesystems made over random bytes, so that their free blocks
# are not zero.  virt-zerofree (--key, --dry-run, no key: one error),
# virt-sparsify in copying mode (--keys-from-stdin) and in place
# (--key ID:file:, discards through dm-crypt), virt-resize (an md
# member is not resized: one error; a LUKS partition grows, its
# content is left alone with a warning).
# Copyright (C) 2026 the guestbox authors
# SPDX-License-Identifier: GPL-2.0-or-later

set -e
. "$top_srcdir/tests/functions.sh"
. "$top_srcdir/tests/images.sh"
requires_appliance
requires mkfs.ext4 sfdisk cryptsetup sha256sum
make_workdir
VC=$top_builddir/cat/virt-cat
VZ=$top_builddir/zerofree/virt-zerofree
VS=$top_builddir/sparsify/virt-sparsify
VR=$top_builddir/resize/virt-resize
MKSTORAGE=$top_builddir/tests/mkstorage
U=11111111-2222-4333-8444-555555555555
LUKS=/dev/mapper/luks-$U

cd "$T"
mkdir -p t1 t2
echo "secret data" > t1/secret.txt
echo "raid data" > t2/raid.txt
head -c 24M /dev/urandom > luksfs.img
mkfs.ext4 -q -F -b 4096 -E nodiscard -L SECRET -d t1 luksfs.img
head -c 32M /dev/urandom > mdfs.img
mkfs.ext4 -q -F -E nodiscard -L RAIDFS -d t2 mdfs.img
# LUKS2 with a fast key derivation (the appliance runs under TCG).
truncate -s 48M p1.img
printf %s pw1 | cryptsetup luksFormat -q --type luks2 --pbkdf pbkdf2 \
  --pbkdf-force-iterations 1000 --uuid $U --key-file=- p1.img
truncate -s 120M disk.img
printf 'start=2048, size=98304, type=83\nstart=100352, size=69632, type=fd\nstart=169984, size=69632, type=fd\n' |
  sfdisk -q -X dos disk.img
dd if=p1.img of=disk.img bs=512 seek=2048 conv=notrunc status=none
dd if=mdfs.img of=disk.img bs=512 seek=100352 conv=notrunc status=none
dd if=mdfs.img of=disk.img bs=512 seek=169984 conv=notrunc status=none
"$MKSTORAGE" disk.img luksfs.img -- luks:/dev/sda1:pw1:luks-$U \
  copy:/dev/sdb:$LUKS md:0:raid1:1.0:/dev/sda2,/dev/sda3
rm -f p1.img luksfs.img mdfs.img
check_no_qemu
cp --sparse=always disk.img orig.img
printf 'pw1\n' > keyfile
ok "LUKS and md RAID1 disk made with mkstorage"

# The data of both filesystems, read back after each change.
check_data () {                 # WHAT IMAGE
  expect_eq "$1: the LUKS filesystem" "secret data" \
    "$("$VC" -a "$2" --key /dev/sda1:key:pw1 -m $LUKS /secret.txt)"
  expect_eq "$1: the md array" "raid data" \
    "$("$VC" -a "$2" --key /dev/sda1:key:pw1 -m /dev/md127 /raid.txt)"
}
# "DEVICE N" for each line of virt-zerofree: N blocks (would be) zeroed.
zeroed () { sed -n 's/^\([^:]*\): ext4: .*), \([0-9]*\) .*/\1 \2/p'; }

# --- virt-zerofree ------------------------------------------------------
expect_error "virt-zerofree without a key" \
  '^virt-zerofree: error: /dev/sda1: this device is encrypted and no key was given; use --key' \
  "$VZ" -q -a disk.img
sum=$(sha256sum disk.img)
"$VZ" -q --dry-run -a disk.img --key /dev/sda1:key:pw1 > dry.out
out=$(zeroed < dry.out)
echo "$out" | grep -q "^$LUKS [1-9]" && echo "$out" | grep -q '^/dev/md127 [1-9]' ||
  { cat dry.out; fail "virt-zerofree --dry-run: the LUKS and md filesystems"; }
[ "$(sha256sum disk.img)" = "$sum" ] || fail "--dry-run changed the image"
ok "virt-zerofree --dry-run counts blocks in LUKS and md RAID, writes nothing"

"$VZ" -q -a disk.img --key /dev/sda1:key:pw1 > zf.out
expect_eq "virt-zerofree: what was zeroed" "$out" "$(zeroed < zf.out)"
"$VZ" -q --dry-run -a disk.img --key /dev/sda1:key:pw1 > dry2.out
expect_eq "virt-zerofree again: nothing left" "$LUKS 0
/dev/md127 0" "$(zeroed < dry2.out)"
# RAID1: both members got the same writes.
cmp <(dd if=disk.img bs=512 skip=100352 count=65536 status=none) \
    <(dd if=disk.img bs=512 skip=169984 count=65536 status=none) ||
  fail "virt-zerofree: the md members differ"
ok "virt-zerofree wrote through dm-crypt and the md array (both members)"
check_data "after virt-zerofree" disk.img

# --- virt-sparsify ------------------------------------------------------
printf 'pw1\n' | "$VS" -q --keys-from-stdin orig.img copy.img
check_data "virt-sparsify (copying, --keys-from-stdin)" copy.img
before=$(du -k orig.img | cut -f1)
after=$(du -k copy.img | cut -f1)
[ "$after" -lt $((before / 2)) ] ||
  fail "virt-sparsify copy: $after KiB allocated, the input $before KiB"
ok "virt-sparsify copying mode: $before KiB -> $after KiB allocated"
rm copy.img

cp --sparse=always orig.img inplace.img
"$VS" --in-place --key /dev/sda1:file:keyfile inplace.img > ip.out
grep -q "^$LUKS: Trimming (ext4)" ip.out && grep -q '^/dev/md127: Trimming' ip.out ||
  { cat ip.out; fail "virt-sparsify --in-place: trimmed filesystems"; }
after=$(du -k inplace.img | cut -f1)
[ "$after" -lt $((before / 2)) ] ||
  fail "virt-sparsify --in-place: $after KiB allocated, before $before KiB"
ok "virt-sparsify --in-place: discards through dm-crypt, $before KiB -> $after KiB"
check_data "virt-sparsify --in-place" inplace.img
rm inplace.img

# --- virt-resize --------------------------------------------------------
truncate -s 200M big.img
sum=$(sha256sum big.img)
expect_error "virt-resize --expand of an md member" \
  '^virt-resize: error: /dev/sda3: a member of an md RAID array cannot be resized' \
  "$VR" -q --expand /dev/sda3 orig.img big.img
[ "$(sha256sum big.img)" = "$sum" ] || fail "the refused resize wrote"
"$VR" -q --expand /dev/sda1 orig.img big.img 2> rs.err
grep -q '^virt-resize: warning: unknown/unavailable method for expanding the crypto_LUKS filesystem on /dev/sda1$' rs.err ||
  { cat rs.err; fail "virt-resize --expand of a LUKS partition"; }
ok "virt-resize: a LUKS partition grows, its content is left as it is"
check_data "virt-resize" big.img
check_no_qemu
