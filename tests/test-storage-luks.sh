#!/bin/bash -
# guestbox - LUKS guests: LVM inside LUKS and LUKS on LVM, made by the
# project's own appliance (tests/mkstorage) from LUKS2 headers written
# on the host (cryptsetup luksFormat on plain files, no loop device).
#
#   sda1  ext4 /boot
#   sda2  LUKS2 (key k1pass) -> PV of vg0 -> LV root: ext4 /
#   sda3  PV of vg1 -> LV secret: LUKS2 (key k2pass) -> ext4 /secret
#
# Keys given with --key (device name, UUID, key file), with
# --keys-from-stdin, a missing key (one error, no prompt), a wrong key,
# an invalid selector, no key in the -x trace, LVM activated once per
# layer; virt-cat, virt-ls -lR, virt-df (text, --csv) and
# virt-inspector, compared with libguestfs.
# Copyright (C) 2026 the guestbox authors
# SPDX-License-Identifier: GPL-2.0-or-later

set -e
. "${top_srcdir:=$(dirname "$0")/..}/tests/functions.sh"
. "$top_srcdir/tests/images.sh"
requires_appliance
requires mkfs.ext4 sfdisk cryptsetup blkid sha256sum
make_workdir
VIRT_CAT=$top_builddir/cat/virt-cat
VIRT_LS=$top_builddir/ls/virt-ls
VIRT_DF=$top_builddir/df/virt-df
VIRT_INSPECTOR=$top_builddir/inspect/virt-inspector
MKSTORAGE=$top_builddir/tests/mkstorage
U1=11111111-2222-4333-8444-555555555555
U2=66666666-7777-4888-9999-aaaaaaaaaaaa

# LUKS2 with a fast key derivation (the appliance runs under TCG).
luks_format () {                # FILE MIB UUID KEY
  truncate -s "${2}M" "$1"
  printf %s "$4" | cryptsetup luksFormat -q --type luks2 --pbkdf pbkdf2 \
    --pbkdf-force-iterations 1000 --uuid "$3" --key-file=- "$1"
}

make_linux_tree "$T/root" luksguest
mkdir -p "$T/root/secret" "$T/root/var/lib/dpkg" "$T/boot" "$T/srv"
printf 'Package: base-files\nStatus: install ok installed\nArchitecture: amd64\nVersion: 12.4\nDescription: Debian base system miscellaneous files\n\n' \
  > "$T/root/var/lib/dpkg/status"
echo "boot file" > "$T/boot/grub.cfg"
echo "secret data" > "$T/srv/secret.txt"
ext4_image "$T/boot.img" 16 "$T/boot" BOOT
bu=$(blkid -o value -s UUID "$T/boot.img")
printf '/dev/mapper/vg0-root / ext4 defaults 0 1\nUUID=%s /boot ext4 defaults 0 2\n/dev/mapper/luks-%s /secret ext4 defaults 0 2\n' \
  "$bu" "$U2" > "$T/root/etc/fstab"
# libguestfs finds the architecture from /bin/ls.
cp /bin/ls "$T/root/usr/bin/ls"
# 4 KiB blocks: LUKS2 encrypts 4 KiB sectors.
mkfs.ext4 -q -F -b 4096 -d "$T/root" "$T/rootfs.img" 40M
mkfs.ext4 -q -F -b 4096 -L SRV -d "$T/srv" "$T/srv.img" 8M
luks_format "$T/p2.img" 64 $U1 k1pass
luks_format "$T/lv.img" 32 $U2 k2pass
truncate -s 160M "$T/disk.img"
printf 'start=2048, size=32768, type=linux\nstart=34816, size=131072, type=linux\nstart=165888, size=90112, type=lvm\n' |
  sfdisk -q -X gpt "$T/disk.img"
dd if="$T/boot.img" of="$T/disk.img" bs=512 seek=2048 conv=notrunc status=none
dd if="$T/p2.img" of="$T/disk.img" bs=512 seek=34816 conv=notrunc status=none
# The first LV of a new PV starts 1 MiB into it.
dd if="$T/lv.img" of="$T/disk.img" bs=512 seek=$((165888 + 2048)) conv=notrunc status=none
"$MKSTORAGE" "$T/disk.img" "$T/rootfs.img" "$T/srv.img" -- \
  luks:/dev/sda2:k1pass:luks-$U1 pv:/dev/mapper/luks-$U1 \
  vg:vg0:/dev/mapper/luks-$U1 lv:vg0:root:40 copy:/dev/sdb:/dev/vg0/root \
  pv:/dev/sda3 vg:vg1:/dev/sda3 lv:vg1:secret:32 \
  luks:/dev/vg1/secret:k2pass:luks-$U2 copy:/dev/sdc:/dev/mapper/luks-$U2
rm -f "$T/p2.img" "$T/lv.img" "$T/rootfs.img" "$T/srv.img" "$T/boot.img"
check_no_qemu
cd "$T"
sum=$(sha256sum disk.img)
printf 'k2pass\n' > k2
ok "LUKS guest made with mkstorage"

expected="luksguest
secret data
boot file"
out=$("$VIRT_CAT" -a disk.img --key /dev/sda2:key:k1pass --key $U2:file:k2 \
      /etc/hostname /secret/secret.txt /boot/grub.cfg)
expect_eq "virt-cat, --key by device and by UUID (key file)" "$expected" "$out"

out=$(printf 'k1pass\nk2pass\n' |
      "$VIRT_CAT" -x -a disk.img --keys-from-stdin /etc/hostname /secret/secret.txt /boot/grub.cfg 2>trace)
expect_eq "virt-cat --keys-from-stdin" "$expected" "$out"
grep -q 'luks_open "/dev/sda2" <key hidden> "luks-'$U1'" ro' trace ||
  { cat trace; fail "-x: no read-only luks_open of /dev/sda2 in the trace"; }
grep -q 'luks_open "/dev/vg1/secret" <key hidden>' trace ||
  fail "-x: LUKS on LVM not opened"
! grep -q 'k[12]pass' trace || fail "-x: a key is in the trace"
ok "-x traces luks_open read-only, without the key"

expect_error "no key, no terminal" \
  '^virt-cat: error: /dev/sda2: this device is encrypted and no key was given; use --key' \
  "$VIRT_CAT" -a disk.img /etc/hostname
expect_error "wrong key" \
  '^virt-cat: error: could not find key to open LUKS encrypted /dev/sda2' \
  "$VIRT_CAT" -a disk.img --key /dev/sda2:key:wrong /etc/hostname
# An option error: no appliance, the error and the usual hint.
rc=0; "$VIRT_CAT" -a disk.img --key /dev/sda2:k1pass /etc/hostname 2>err || rc=$?
[ $rc = 1 ] && head -1 err | grep -q '^virt-cat: error: invalid selector for --key' &&
  ! grep -q k1pass err || { cat err; fail "invalid selector"; }
ok "invalid selector: $(head -1 err)"
expect_error "missing key file" \
  '^virt-cat: error: --key: nokey: No such file' \
  "$VIRT_CAT" -a disk.img --key /dev/sda2:file:nokey /etc/hostname

keys="--key /dev/sda2:key:k1pass --key /dev/vg1/secret:key:k2pass"
# LVM is activated twice: for vg1 on the disk, then once for vg0 in
# the LUKS device, after both keys are in (not again after the LUKS
# device on vg1/secret, which holds no physical volume).
"$VIRT_CAT" -v -a disk.img $keys /etc/hostname > /dev/null 2> v.err
expect_eq "vgchange runs" 2 "$(grep -c 'lvm vgchange -ay: status 0' v.err)"
# virt-df: the open LUKS device holding ext4 is /dev/mapper/luks-UUID,
# in the order of the libguestfs list (device-mapper devices first).
csv=$("$VIRT_DF" -a disk.img $keys --csv)
out=$(echo "$csv" | cut -d, -f1,2)
expect_eq "virt-df --csv --key" "VirtualMachine,Filesystem
disk.img,/dev/mapper/luks-$U2
disk.img,/dev/sda1
disk.img,/dev/vg0/root" "$out"
# A name longer than the column: the numbers go on the next line.
out=$("$VIRT_DF" -a disk.img $keys | awk '{print NF, $1}')
expect_eq "virt-df --key" "5 Filesystem
1 disk.img:/dev/mapper/luks-$U2
4 $(echo "$csv" | awk -F, 'NR == 2 {print $3}')
5 disk.img:/dev/sda1
5 disk.img:/dev/vg0/root" "$out"
# Without a key virt-df never asks, and leaves encrypted devices out.
out=$("$VIRT_DF" -a disk.img --csv </dev/null | cut -d, -f1,2)
expect_eq "virt-df without a key" "VirtualMachine,Filesystem
disk.img,/dev/sda1" "$out"

[ "$(sha256sum disk.img)" = "$sum" ] || fail "the image changed"
ok "the image is unchanged"

check_no_qemu
requires_libguestfs virt-ls virt-inspector
export GBOX_TOOL_DIR_virt_inspector=inspect
compare_lg "virt-ls -lR, LVM in LUKS and LUKS on LVM" virt-ls -a disk.img $keys -lR /
compare_lg "virt-inspector, LVM in LUKS and LUKS on LVM" virt-inspector -a disk.img $keys
