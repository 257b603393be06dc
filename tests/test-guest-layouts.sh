#!/bin/bash -
# guestbox - guests laid out the way their installers lay them out,
# through every command that mounts by inspection: Fedora (GPT, BIOS
# boot partition, ext4 /boot, btrfs subvolumes root and home, /boot/efi
# on a 64 MiB FAT32 ESP with 512-byte clusters on a second disk) and
# Windows (NTFS with hives, files under Windows/System32/drivers/etc
# and Users/NAME/Documents).  virt-cat, virt-ls (-l, -lR, --csv),
# virt-edit -e, virt-df (text, -h, --csv) and virt-inspector; Windows
# paths (other letter case, C:\ paths, backslashes, through -i and -m);
# btrfsvol: names with -m; the multi-boot error; the same inspection
# and a FAT charset module on a cold boot.  Compared byte for byte
# with the libguestfs tools (12 runs of theirs).
# Copyright (C) 2026 the guestbox authors
# SPDX-License-Identifier: GPL-2.0-or-later

set -e
. "${top_srcdir:=$(dirname "$0")/..}/tests/functions.sh"
. "$top_srcdir/tests/images.sh"
. "$top_srcdir/tests/inspector-images.sh"
requires_appliance
requires mkfs.ext4 mkfs.fat mkfs.btrfs btrfs mmd mcopy sfdisk blkid \
  python3 hivexregedit mkntfs ntfs-3g fuser perl
requires_libguestfs virt-cat virt-ls virt-df virt-edit
make_workdir

VC=$top_builddir/cat/virt-cat
VL=$top_builddir/ls/virt-ls
VE=$top_builddir/edit/virt-edit
VD=$top_builddir/df/virt-df
VI=$top_builddir/inspect/virt-inspector

# The fixtures.  The data disk (ext4, no partition table) is the third
# disk: libguestfs lists unpartitioned disks before partitions.
esp_gpt "$T/esp.img" 0x1234abcd
fedora_gpt "$T/fed.img" 1234-ABCD ||
  skip_or_fail "cannot build a btrfs image here (loop mount)"
windows_disk "$T/win.img" Alice ||
  skip_or_fail "cannot build an NTFS image here (ntfs-3g through FUSE)"
mkdir -p "$T/datatree"
echo data > "$T/datatree/d.txt"
ext4_image "$T/data.img" 8 "$T/datatree" DATA
fed=(-a "$T/fed.img" -a "$T/esp.img")
sums_before=$(sha256sum "$T/fed.img" "$T/esp.img" "$T/win.img")
cd "$T"

# --- Fedora -------------------------------------------------------------
"$VI" "${fed[@]}" > fed.xml
q () { "$VI" --xpath "$1" < fed.xml; }
expect_eq "fedora: root" "btrfsvol:/dev/sda3/root" \
  "$(q 'string(/operatingsystems/operatingsystem/root)')"
expect_eq "fedora: mountpoints" \
  "$(printf '/ btrfsvol:/dev/sda3/root\n/boot /dev/sda2\n/boot/efi /dev/sdb1\n/home btrfsvol:/dev/sda3/home')" \
  "$("$VI" --xpath '//mountpoint' < fed.xml |
     sed -n 's|.*dev="\([^"]*\)">\([^<]*\)<.*|\2 \1|p' | sort)"
ok "virt-inspector: the btrfs subvolumes, /boot and /boot/efi"
GBOX_SNAPSHOT=0 "$VI" "${fed[@]}" > fed-cold.xml
cmp fed.xml fed-cold.xml || { diff fed.xml fed-cold.xml; fail "cold boot"; }
ok "the same inspection on a cold boot as from the snapshot"

expect_eq "virt-cat on fedora" \
  "$(printf 'fedhost\nhi\nset default=0\nsearch --fs-uuid --set=dev\nconfigfile ($dev)/grub2/grub.cfg')" \
  "$("$VC" "${fed[@]}" /etc/hostname /home/user/notes /boot/grub2/grub.cfg \
       /boot/efi/EFI/fedora/grub.cfg)"
ok "virt-cat reads the root and home subvolumes, /boot and /boot/efi"
compare_lg "virt-cat fedora" virt-cat "${fed[@]}" /etc/hostname /etc/fstab \
  /home/user/notes /boot/grub2/grub.cfg /boot/efi/EFI/fedora/grub.cfg

"$VL" "${fed[@]}" -l /boot > ls-l.out
grep -q ' grub2$' ls-l.out && grep -q ' efi$' ls-l.out ||
  { cat ls-l.out; fail "virt-ls -l /boot"; }
ok "virt-ls -l /boot"
"$VL" "${fed[@]}" -lR / > lsR.out
for p in /home/user/notes /usr/lib/sysimage/rpm/rpmdb.sqlite \
         /boot/grub2/grub.cfg /boot/efi/EFI/BOOT/BOOTX64.EFI; do
  grep -q " $p\$" lsR.out || fail "virt-ls -lR /: $p missing"
done
ok "virt-ls -lR / crosses every mountpoint"
compare_lg "virt-ls -lR / fedora" virt-ls "${fed[@]}" -lR /
compare_lg "virt-ls --csv -lR /boot fedora" virt-ls "${fed[@]}" --csv -lR /boot

# -m takes btrfsvol: names.
expect_eq "-m btrfsvol:" "hi" \
  "$("$VC" -a fed.img -m btrfsvol:/dev/sda3/home /user/notes)"
ok "-m btrfsvol:/dev/sda3/home"

# virt-df: the subvolume rows after their filesystem, the unpartitioned
# third disk first, the FAT32 ESP (512-byte clusters) with its size.
all=("${fed[@]}" -a data.img)
"$VD" "${all[@]}" --csv > df.csv
expect_eq "virt-df rows" \
  "$(printf '/dev/sdc\n/dev/sda2\n/dev/sda3\nbtrfsvol:/dev/sda3/root\nbtrfsvol:/dev/sda3/home\n/dev/sdb1')" \
  "$(tail -n +2 df.csv | cut -d, -f2)"
esp_kb=$(grep ',/dev/sdb1,' df.csv | cut -d, -f3)
[ "$esp_kb" -gt 60000 ] && [ "$esp_kb" -lt 66000 ] ||
  fail "virt-df: the 64 MiB ESP is $esp_kb 1K-blocks"
ok "virt-df: rows in libguestfs's order, ESP of $esp_kb 1K-blocks"
compare_lg "virt-df fedora" virt-df "${all[@]}"
compare_lg "virt-df -h fedora" virt-df -h "${all[@]}"
compare_lg "virt-df --csv fedora" virt-df --csv "${all[@]}"

# virt-edit -e in the home subvolume and in the root subvolume.
cp --sparse=always fed.img fed-edit.img
"$VE" -a fed-edit.img -a esp.img -e 's/hi/hello/' /home/user/notes
"$VE" -a fed-edit.img -a esp.img -e 's/fedhost/fedora2/' /etc/hostname
expect_eq "virt-edit fedora" "$(printf 'hello\nfedora2')" \
  "$("$VC" -a fed-edit.img -a esp.img /home/user/notes /etc/hostname)"
ok "virt-edit -e writes into the btrfs subvolumes"
rm fed-edit.img

# --- Windows ------------------------------------------------------------
expect_eq "windows: root" "/dev/sda1" \
  "$("$VI" -a win.img --xpath 'string(//operatingsystem/root)')"
printf 'Read me.\r\nSecond line.\r\n' > readme.expected
"$VC" -a win.img 'C:\Users\Alice\Documents\readme.txt' > readme.out
cmp readme.expected readme.out || fail "virt-cat C:\\...\\readme.txt"
"$VC" -a win.img '\USERS\alice\documents\README.TXT' > readme2.out
cmp readme.expected readme2.out || fail "virt-cat \\USERS\\...\\README.TXT"
ok "virt-cat: C:\\ paths, backslashes, any letter case"
compare_lg "virt-cat windows" virt-cat -a win.img \
  /Windows/System32/drivers/etc/hosts /windows/system32/DRIVERS/etc/hosts \
  'C:\Users\Alice\Documents\readme.txt'
set +e
"$VC" -a win.img 'D:\x' > /dev/null 2> d.err
rc=$?
set -e
[ $rc = 1 ] && grep -q "drive 'd:' not found" d.err ||
  { cat d.err; fail "a drive letter inspection does not map"; }
ok "a drive letter that is not mapped: one error"

# -m: the same lookups without inspection.
expect_eq "-m, other letter case" "127.0.0.1       localhost" \
  "$("$VC" -a win.img -m /dev/sda1 /WINDOWS/system32/drivers/ETC/HOSTS |
     tr -d '\r' | tail -1)"
ok "-m /dev/sda1: paths in any letter case"

"$VL" -a win.img -lR /windows/SYSTEM32/drivers > lsw.out
grep -q ' /windows/SYSTEM32/drivers/etc/hosts$' lsw.out ||
  { cat lsw.out; fail "virt-ls -lR in another letter case"; }
ok "virt-ls -lR in another letter case"
compare_lg "virt-ls -lR /Windows" virt-ls -a win.img -lR /Windows
compare_lg "virt-ls --csv -lR /Users" virt-ls -a win.img --csv -lR /Users

cp --sparse=always win.img win-edit.img
"$VE" -a win-edit.img -e 's/^Read/READ/' 'c:\users\ALICE\Documents\readme.txt'
expect_eq "virt-edit windows" "READ me." \
  "$("$VC" -a win-edit.img /Users/Alice/Documents/readme.txt | tr -d '\r' |
     head -1)"
ok "virt-edit -e of a C:\\ path in another letter case"
rm win-edit.img

compare_lg "virt-df --csv windows" virt-df --csv -a win.img

# --- Several operating systems: one error naming them ------------------
set +e
"$VC" "${fed[@]}" -a win.img /etc/hostname > multi.out 2> multi.err
rc=$?
set -e
[ $rc = 1 ] && [ ! -s multi.out ] &&
  grep -q 'btrfsvol:/dev/sda3/root' multi.err && grep -q '/dev/sdc1' multi.err &&
  grep -q -- '-m ' multi.err ||
  { cat multi.err; fail "several operating systems"; }
[ "$(wc -l < multi.err)" = 1 ] || { cat multi.err; fail "more than one line"; }
ok "several operating systems: $(cat multi.err)"
compare_lg "several operating systems" virt-cat "${fed[@]}" -a win.img /etc/hostname

# --- fstab entries naming devices that are not there -------------------
# An unknown UUID is not a mountpoint; /dev names that are not attached
# are, and do not mount: skipped, with one line for all of them.
mkdir -p gonetree/etc gonetree/bin gonetree/srv gonetree/data gonetree/old
echo gonehost > gonetree/etc/hostname
printf '%s\n' 'LABEL=ROOT / ext4 defaults 0 1' \
  'UUID=0badc0de-0000-4000-8000-000000000001 /srv ext4 defaults 0 2' \
  '/dev/sdz1 /data ext4 defaults 0 2' \
  '/dev/mapper/gone-lv /old ext4 defaults 0 2' > gonetree/etc/fstab
ext4_image gone-root.img 16 gonetree ROOT
mbr_disk gone.img 24 gone-root.img
compare_lg "fstab devices that are not there" virt-cat -a gone.img \
  /etc/hostname
expect_eq "virt-cat, fstab devices not there: stderr" \
  "virt-cat: some filesystems could not be mounted (ignored)" "$(cat gb.err)"
expect_eq "the same line as libguestfs" "$(tail -1 lg.err)" "$(cat gb.err)"
"$VC" -v -a gone.img /etc/hostname 2> gone-v.err > /dev/null
grep -q '^virt-cat: debug: /dev/sdz1: could not mount on /data: ' gone-v.err &&
  grep -q '^virt-cat: debug: /dev/mapper/gone-lv: could not mount on /old: ' \
    gone-v.err || { cat gone-v.err; fail "-v: why each one was skipped"; }
ok "fstab devices that are not there: one line, the reasons under -v"

# --- A FAT charset on a cold boot (every module of vfat is loaded) -----
expect_eq "vfat iocharset=iso8859-1, cold boot" "$(printf 'BOOT\nfedora')" \
  "$(GBOX_SNAPSHOT=0 "$VL" -a esp.img -m /dev/sda1:/:iocharset=iso8859-1 /EFI)"
ok "vfat with iocharset=iso8859-1 on a cold boot"

expect_eq "the images are unchanged" "$sums_before" \
  "$(sha256sum "$T/fed.img" "$T/esp.img" "$T/win.img")"
ok "read-only commands left the images unchanged"
check_no_qemu
