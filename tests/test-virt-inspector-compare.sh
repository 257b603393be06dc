#!/bin/bash -
# guestbox - virt-inspector's default XML byte for byte against
# libguestfs 1.48's virt-inspector on a Debian guest (dpkg with
# multi-paragraph descriptions, a hyphenated upstream version, Status
# words in several orders, the Debian logo), a Fedora guest (rpm sqlite
# database written by rpm, gpg-pubkey entry, packages without a URL,
# the Fedora logo), a Windows guest (hives with InstallLocation), a
# Windows 7 guest (its icon from SysWOW64's explorer.exe) and a CirrOS
# guest (its icon drawn from a text logo): five libguestfs runs.
# Copyright (C) 2026 the guestbox authors
# SPDX-License-Identifier: GPL-2.0-or-later

set -e
. "${top_srcdir:=$(dirname "$0")/..}/tests/functions.sh"
. "$top_srcdir/tests/images.sh"
. "$top_srcdir/tests/inspector-images.sh"
requires_appliance
requires_libguestfs virt-inspector
requires mkfs.ext4 sfdisk xmllint python3 hivexregedit mkntfs ntfs-3g rpm rpmbuild
make_workdir
export GBOX_TOOL_DIR_virt_inspector=inspect

zcat /usr/share/doc/guestfs-tools/virt-inspector.rng.gz > "$T/lg.rng"

debian_tree "$T/deb"
ext4_image "$T/deb.img" 24 "$T/deb"
mbr_disk "$T/debian.img" 26 "$T/deb.img"
fedora_tree "$T/fed" || fail "cannot build the Fedora rpm database"
ext4_image "$T/fed.img" 24 "$T/fed"
mbr_disk "$T/fedora.img" 26 "$T/fed.img"
windows_ntfs "$T/win.img" 24 0x1badcafe 1048576 ||
  skip_or_fail "cannot build the NTFS fixture (ntfs-3g, FUSE)"
truncate -s 26M "$T/windows.img"
printf 'label: dos\nlabel-id: 0x1badcafe\nstart=2048, type=7\n' |
  sfdisk -q "$T/windows.img" >/dev/null
dd if="$T/win.img" of="$T/windows.img" bs=1M seek=1 conv=notrunc status=none
windows_ntfs "$T/win.img" 24 0x1badcafe 1048576 7 ||
  skip_or_fail "cannot build the NTFS fixture (ntfs-3g, FUSE)"
truncate -s 26M "$T/windows7.img"
printf 'label: dos\nlabel-id: 0x1badcafe\nstart=2048, type=7\n' |
  sfdisk -q "$T/windows7.img" >/dev/null
dd if="$T/win.img" of="$T/windows7.img" bs=1M seek=1 conv=notrunc status=none
cirros_tree "$T/cir"
ext4_image "$T/cir.img" 12 "$T/cir"
mbr_disk "$T/cirros.img" 14 "$T/cir.img"
rm "$T/deb.img" "$T/fed.img" "$T/win.img" "$T/cir.img"

cd "$T"
for g in debian fedora windows windows7 cirros; do
  compare_lg "virt-inspector ($g)" virt-inspector -a $g.img
  # (libguestfs keeps its appliance cache in TMPDIR: only qemu counts.
  # The first run on a new cache leaves the snapshot maker's qemu: it
  # is waited for.)
  check_no_qemu
  # Not a trivial match: the report has the parts under test.
  case $g in
    debian) grep -q '<icon>' gb.out && grep -q '<release>20221030-2</release>' gb.out &&
              grep -qx '\.' gb.out || fail "debian: report lacks the icon or the dpkg details" ;;
    fedora) grep -q '<icon>' gb.out && grep -q '<url>(none)</url>' gb.out &&
              grep -q '<name>gpg-pubkey</name>' gb.out || fail "fedora: report lacks the icon or the rpm details" ;;
    windows) grep -q '<install_path>' gb.out || fail "windows: no install_path" ;;
    windows7|cirros) grep -q '<icon>' gb.out || fail "$g: no icon" ;;
  esac
  xmllint --noout --relaxng "$T/lg.rng" gb.out 2>"$T/xmllint.err" ||
    { cat "$T/xmllint.err"; fail "$g: does not validate against libguestfs's schema"; }
  ok "$g: validates against libguestfs's schema"
done
