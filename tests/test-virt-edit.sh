#!/bin/bash -
# guestbox - virt-edit on an ext4 guest: -e (with $lineno), $EDITOR,
# symlinks followed in the guest, "File not changed.", unchanged files
# not uploaded, -b backups, owner/group/mode kept (/etc/shadow 0640
# root:shadow), a current mtime, and refused sources.
# Copyright (C) 2026 the guestbox authors
# SPDX-License-Identifier: GPL-2.0-or-later

set -e
. "${top_srcdir:=$(dirname "$0")/..}/tests/functions.sh"
. "$top_srcdir/tests/images.sh"
requires_appliance
requires mkfs.ext4 sfdisk perl
make_workdir
VIRT_EDIT=$top_builddir/edit/virt-edit

make_linux_tree "$T/tree" edithost
printf 'root:$6$abc:19000:0:99999:7:::\nuser:!:19000:0:99999:7:::\n' > "$T/tree/etc/shadow"
chown 0:42 "$T/tree/etc/shadow"; chmod 0640 "$T/tree/etc/shadow"
chown 1000:1000 "$T/tree/home/user/notes.txt"; chmod 0604 "$T/tree/home/user/notes.txt"
printf 'a guest file named orig\n' > "$T/tree/etc/orig"
printf 'abc\n' > "$T/tree/etc/pipe|"
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

# -e sets $lineno (counting from 1), as the libguestfs tool does.
"$VIRT_EDIT" -a "$T/disk.img" -e 's/^/$lineno:/' /home/user/notes.txt
expect_eq "-e with \$lineno" '1:LINE-ONE
2:line2' "$("$VIRT_CAT" -a "$T/disk.img" /home/user/notes.txt)"

# $EDITOR is the editor, not $VISUAL (as the libguestfs tool); an
# unchanged file is not uploaded (its mtime stays in 2020) and the
# command says "File not changed." on stdout.
out=$(VISUAL=false EDITOR=true "$VIRT_EDIT" -a "$T/disk.img" /etc/motd)
expect_eq "unchanged: File not changed." "File not changed." "$out"
set -- $(lr /etc/motd)
expect_eq "unchanged /etc/motd not rewritten" "1577836800" "$4"

# A symbolic link: the file it resolves to in the guest is edited, the
# link stays a link.  A guest file named "orig" (the name of our own
# copy) and one named "pipe|" (perl's magic open) are edited like any
# other.
target=$("$VIRT_LS" -a "$T/disk.img" -l /etc | grep ' os-release -> ')
"$VIRT_EDIT" -a "$T/disk.img" -e 's/^ID=.*/ID=edited/' /etc/os-release
"$VIRT_CAT" -a "$T/disk.img" /etc/os-release | grep -qx 'ID=edited' ||
  fail "symlink: the target was not edited"
expect_eq "symlink: /etc/os-release is still the same link" "$target" \
  "$("$VIRT_LS" -a "$T/disk.img" -l /etc | grep ' os-release -> ')"
"$VIRT_EDIT" -a "$T/disk.img" -e 's/orig/ORIG/' /etc/orig '/etc/pipe|'
expect_eq "a guest file named orig is edited" "a guest file named ORIG" \
  "$("$VIRT_CAT" -a "$T/disk.img" /etc/orig)"
expect_eq "a guest file named 'pipe|' is edited by perl" "abc" \
  "$("$VIRT_CAT" -a "$T/disk.img" '/etc/pipe|')"

# Errors: a missing file, a directory, a symlink, a failing editor,
# a read-only source.
expect_error "missing file" "No such file" "$VIRT_EDIT" -a "$T/disk.img" -e 1 /etc/nosuch
expect_error "directory" "not a regular file" "$VIRT_EDIT" -a "$T/disk.img" -e 1 /etc
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
    "$VIRT_EDIT" --format=raw -a "nbd+unix:///?socket=$T/ro.sock" -e 's/^/x/' /etc/motd
  cmp "$T/disk.img" "$T/ro.img" || fail "read-only image changed"
fi
