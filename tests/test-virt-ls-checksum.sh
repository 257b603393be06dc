#!/bin/bash -
# guestbox - virt-ls -lR --checksum[=TYPE]: every type against the host's
# cksum / *sum programs on the tree the image was built from.
# Copyright (C) 2026 the guestbox authors
# SPDX-License-Identifier: GPL-2.0-or-later

set -e
. "${top_srcdir:=$(dirname "$0")/..}/tests/functions.sh"
. "$top_srcdir/tests/images.sh"
requires_appliance
requires mkfs.ext4 sfdisk cksum md5sum sha1sum sha224sum sha256sum sha384sum sha512sum
make_workdir

make_linux_tree "$T/tree" sumhost
head -c 1000000 /dev/urandom > "$T/tree/data/random.bin"
head -c 300000 /dev/zero > "$T/tree/data/zeros"
ext4_image "$T/root.img" 40 "$T/tree" ROOT
mbr_disk "$T/disk.img" 48 "$T/root.img"

host_sum () {                   # TYPE FILE
  case $1 in
    crc) cksum < "$2" | cut -d' ' -f1 ;;
    *) "${1}sum" < "$2" | cut -d' ' -f1 ;;
  esac
}

for type in crc md5 sha1 sha224 sha256 sha384 sha512; do
  want=$(for f in empty fstab hostname motd "name with spaces"; do
           [ -f "$T/tree/etc/$f" ] || continue
           echo "$(host_sum $type "$T/tree/etc/$f") /etc/$f"
         done; for f in random.bin zeros; do
           echo "$(host_sum $type "$T/tree/data/$f") /data/$f"
         done)
  got=$("$VIRT_LS" -a "$T/disk.img" -lR --checksum=$type /etc /data |
        awk '$1 == "-" { s = $4; sub (/^[^\/]*/, ""); print s, $0 }')
  expect_eq "--checksum=$type" "$want" "$got"
done

# Default md5; --checksums is the same option; symlinks and directories
# get no checksum (an empty CSV field).
got=$("$VIRT_LS" -a "$T/disk.img" -lR --checksums --csv /etc |
      grep -E '^(l|d),' | head -n 2)
expect_eq "--csv: empty field for a directory and a symlink" "d,0755,1024,,/etc
l,0777,21,,/etc/os-release,../usr/lib/os-release" "$got"
got=$("$VIRT_LS" -a "$T/disk.img" -lR --checksum /etc/motd | awk '{ print $4, $5 }')
expect_eq "a file given on the command line" "$(host_sum md5 "$T/tree/etc/motd") /etc/motd" "$got"

# Usage errors: exit 1, the message and the "Try --help" line.
for args in "--checksum /etc" "-lR --checksum=sha3 /etc"; do
  rc=0; "$VIRT_LS" -a "$T/disk.img" $args >/dev/null 2>"$T/err" || rc=$?
  [ $rc = 1 ] && grep -q "^virt-ls: error: " "$T/err" ||
    fail "$args: exit $rc: $(cat "$T/err")"
  ok "$args: $(head -n1 "$T/err")"
done
check_no_qemu
