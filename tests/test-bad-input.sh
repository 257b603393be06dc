#!/bin/bash -
# guestbox - bad disk images and arguments: one clear error line, exit 1,
# no qemu or temp dir left behind, and the image never written.
# Copyright (C) 2026 the guestbox authors
# SPDX-License-Identifier: GPL-2.0-or-later

set -e
. "${top_srcdir:=$(dirname "$0")/..}/tests/functions.sh"
. "$top_srcdir/tests/images.sh"
requires_appliance
requires mkfs.ext4 qemu-img
make_workdir

: > "$T/empty.img"
head -c 511 /dev/urandom > "$T/short.img"
head -c 8M /dev/urandom > "$T/random.img"
mkdir "$T/dir.d"
make_linux_tree "$T/root" badguest
echo '/dev/sda / ext4 defaults 0 1' > "$T/root/etc/fstab"
ext4_image "$T/good.img" 32 "$T/root"

# A "raw" disk whose first bytes are a qcow2 header with a backing file
# naming a host file: without --format it must never be opened.
qemu-img create -q -f qcow2 -b /etc/passwd -F raw "$T/evil.img" 16M
# A qcow2 whose header was cut short.
qemu-img create -q -f qcow2 "$T/trunc.qcow2" 64M
truncate -s 100 "$T/trunc.qcow2"

sums=$(sha256sum "$T"/*.img "$T/trunc.qcow2")

for cmd in "$VIRT_CAT" "$VIRT_LS"; do
  [ -x "$cmd" ] || continue
  name=$(basename "$cmd")
  arg=/etc/hostname
  [ "$name" = virt-ls ] && arg=/etc
  expect_error "$name: missing image" "^$name: error: .*nosuch.img.*No such file" \
    "$cmd" -a "$T/nosuch.img" "$arg"
  expect_error "$name: directory as image" "^$name: error: .*dir.d.*directory" \
    "$cmd" -a "$T/dir.d" "$arg"
  expect_error "$name: 0-byte image" "^$name: error: .*empty.img.*empty" \
    "$cmd" -a "$T/empty.img" "$arg"
  expect_error "$name: qcow2 header naming a host file" \
    "^$name: error: .*evil.img.*/etc/passwd.*--format" \
    "$cmd" -a "$T/evil.img" "$arg"
  expect_error "$name: random bytes" "^$name: error: .*(no operating system|inspect)" \
    "$cmd" -a "$T/random.img" "$arg"
  expect_error "$name: 511-byte image" "^$name: error: " \
    "$cmd" -a "$T/short.img" "$arg"
  expect_error "$name: truncated qcow2" "^$name: error: .*trunc.qcow2" \
    "$cmd" -a "$T/trunc.qcow2" "$arg"
  expect_error "$name: -m naming a device that does not exist" \
    "^$name: error: .*/dev/sdz9" \
    "$cmd" -a "$T/good.img" -m /dev/sdz9 "$arg"
  expect_error "$name: bad NBD URI" "^$name: error: .*nbd" \
    "$cmd" -a "nbd+unix:///export" "$arg"
  expect_error "$name: unreachable NBD server" "^$name: error: .*" \
    "$cmd" -a "nbd+unix:///?socket=$T/no.sock" "$arg"
done

expect_error "virt-cat: path that does not exist in the guest" \
  "^virt-cat: error: .*/no/such/file.*No such file" \
  "$VIRT_CAT" -a "$T/good.img" /no/such/file
expect_error "virt-cat: a directory" "^virt-cat: error: .*/etc" \
  "$VIRT_CAT" -a "$T/good.img" /etc

expect_eq "images unchanged" "$sums" "$(sha256sum "$T"/*.img "$T/trunc.qcow2")"
