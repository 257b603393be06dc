#!/bin/bash -
# guestbox - virt-edit on an ext4 guest: -e, $EDITOR, unchanged files
# not uploaded, -b backups, owner/group/mode kept (/etc/shadow 0640
# root:shadow), a current mtime, and refused sources.
# Copyright (C) 2026 the guestbox authors
# SPDX-License-Identifier: GPL-2.0-or-later

set -e
. "$top_srcdir/tests/functions.sh"
. "$top_srcdir/tests/images.sh"
requires_appliance
requires mkfs.ext4 sfdisk perl
make_workdir
VIRT_EDIT=$top_builddir/edit/virt-edit

make_linux_tree "$T/tree" edithost
printf 'root:$6$abc:19000:0:99999:7:::\nuser:!:19000:0:99999:7:::\n' > "$T/tree/etc/shadow"
chown 0:42 "$T/tree/etc/shadow"; chmod 0640 "$T/tree/etc/shadow"
chown 1000:1000 "$T/tree/home/user/notes.txt"; chmod 0604 "$T/tree/home/user/notes.txt"
touch -d '2020-01-01 00:00:00 UTC' "$T/tree/etc/shadow" "$T/tree/etc/motd"
ext4_image "$T/root.img" 40 "$T/tree" ROOT
mbr_disk "$T/disk.img" 48 "$T/root.img"

# lR LINE of FILE: type mode size uid gid mtime path.
lr () { "$VIRT_LS" -a "$T/disk.img" -lR --uids --time-t "$(dirname "$1")" |
        awk -v p="$1" '$NF == p { print $2, $4, $5, $7 }'; }

before=$(date +%s)
"$VIRT_EDIT" -a "$T/disk.img" -e 's/^root:[^:]*:/root:*:/' /etc/shadow
check_no_qemu
expect_eq "-e changed /etc/shadow" 'root:*:19000:0:99999:7:::
user:!:19000:0:99999:7:::' "$("$VIRT_CAT" -a "$T/disk.img" /etc/shadow)"
set -- $(lr /etc/shadow)
expect_eq "/etc/shadow keeps mode 0640, root:shadow (0:42)" "0640 0 42" "$1 $2 $3"
[ "$4" -ge "$((before - 5))" ] || fail "mtime $4 is not current (before: $before)"
ok "mtime is current ($4)"
[ -z "$("$VIRT_LS" -a "$T/disk.img" /etc | grep gbox-edit)" ] ||
  fail "temporary file left in /etc"
ok "no temporary file left"

# $EDITOR (with arguments), -b backup, owner 1000 and mode 0604 kept.
EDITOR="sed -i s/line1/LINE-ONE/" "$VIRT_EDIT" -a "$T/disk.img" -b .orig /home/user/notes.txt
expect_eq "EDITOR edited notes.txt" 'LINE-ONE
line2' "$("$VIRT_CAT" -a "$T/disk.img" /home/user/notes.txt)"
expect_eq "-b kept the original" 'line1
line2' "$("$VIRT_CAT" -a "$T/disk.img" /home/user/notes.txt.orig)"
set -- $(lr /home/user/notes.txt)
expect_eq "notes.txt keeps 0604 1000:1000" "0604 1000 1000" "$1 $2 $3"

# VISUAL wins over EDITOR; an unchanged file is not uploaded (its mtime
# stays in 2020).
VISUAL=true EDITOR=false "$VIRT_EDIT" -a "$T/disk.img" /etc/motd
set -- $(lr /etc/motd)
expect_eq "unchanged /etc/motd not rewritten" "1577836800" "$4"

# Errors: a missing file, a directory, a symlink, a failing editor,
# a read-only source.
expect_error "missing file" "No such file" "$VIRT_EDIT" -a "$T/disk.img" -e 1 /etc/nosuch
expect_error "directory" "not a regular file" "$VIRT_EDIT" -a "$T/disk.img" -e 1 /etc
expect_error "symlink" "symbolic link" "$VIRT_EDIT" -a "$T/disk.img" -e 1 /etc/os-release
rc=0; EDITOR=false "$VIRT_EDIT" -a "$T/disk.img" /etc/motd 2>"$T/err" || rc=$?
[ $rc = 1 ] || fail "failing editor: exit $rc"
ok "failing editor: $(cat "$T/err")"
expect_eq "motd untouched" "hello world" "$("$VIRT_CAT" -a "$T/disk.img" /etc/motd)"
cp "$T/disk.img" "$T/ro.img"
if command -v nbdkit >/dev/null; then
  nbdkit -r -f -U "$T/ro.sock" -P "$T/ro.pid" file "$T/ro.img" &
  cleanup_fn 'kill $(cat "$T/ro.pid") 2>/dev/null'
  for i in $(seq 50); do [ -S "$T/ro.sock" ] && break; sleep 0.1; done
  expect_error "read-only source (nbdkit -r)" "virt-edit: error: .*" \
    "$VIRT_EDIT" --format=raw -a "nbd+unix:///?socket=$T/ro.sock" -e 1 /etc/motd
  cmp "$T/disk.img" "$T/ro.img" || fail "read-only image changed"
fi
