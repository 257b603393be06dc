#!/bin/bash -
# guestbox - hostile disk images against every read-only command: each
# run ends within a bound with either a clean result or exactly one
# error line, leaves no qemu and no temp dir, and never changes the
# image or opens a host file the image names.
# Copyright (C) 2026 the guestbox authors
# SPDX-License-Identifier: GPL-2.0-or-later

set -e
. "$top_srcdir/tests/functions.sh"
. "$top_srcdir/tests/images.sh"
. "$top_srcdir/tests/hostile/hostile.sh"
requires_appliance
requires mkfs.ext4 qemu-img sfdisk debugfs python3 /usr/bin/time
make_workdir
I=$T/img
mkdir "$I"

# --- The images. ---
: > "$I/empty.img"
head -c 511 /dev/urandom > "$I/511-bytes.img"
head -c 8M /dev/urandom > "$I/random.img"

qemu-img create -q -f qcow2 "$I/truncated.qcow2" 64M
truncate -s 100 "$I/truncated.qcow2"

# Headers naming host files.  The host files are made FIFOs that
# record any open (fifo_trap), once the images exist.
qemu-img create -q -f qcow2 -b /etc/shadow -F raw "$I/backing-shadow.img" 16M
qemu-img create -q -f qcow2 -u -b "$T/backing.fifo" -F raw "$I/backing-fifo.img" 16M
fifo_trap "$T/backing.fifo"
echo x > "$T/datafile.fifo"
qemu-img create -q -f qcow2 -o data_file="$T/datafile.fifo" "$I/datafile-fifo.qcow2" 16M
fifo_trap "$T/datafile.fifo"
fifo_trap "$T/extent.fifo"
printf '# Disk DescriptorFile\nversion=1\nCID=fffffffe\nparentCID=ffffffff\ncreateType="monolithicFlat"\nRW 32768 FLAT "%s" 0\n' \
  "$T/extent.fifo" > "$I/vmdk-descriptor.img"
fifo_trap "$T/embedded.fifo"
python3 - "$I/vmdk-embedded.img" "$T/embedded.fifo" <<'PY'
import struct, sys
hdr = bytearray(512)
hdr[0:4] = b"KDMV"
# version 1, flags 3, capacity 0, grain 128, descriptor at sector 1.
struct.pack_into("<IIQQQQ", hdr, 4, 1, 3, 0, 128, 1, 1)
desc = ('# Disk DescriptorFile\nversion=1\nCID=fffffffe\nparentCID=ffffffff\n'
        'createType="monolithicFlat"\nRW 2048 FLAT "%s" 0\n' % sys.argv[2])
open(sys.argv[1], "wb").write(bytes(hdr) + desc.encode().ljust(512, b"\0") +
                              bytes(1 << 20))
PY

# Partition tables.
truncate -s 16M "$I/mbr-beyond-end.img"
python3 - "$I/mbr-beyond-end.img" <<'PY'
import struct, sys
f = open(sys.argv[1], "r+b")
# Two partitions: one far past the end, one overlapping it and wrapping.
e1 = struct.pack("<B3sB3sII", 0x80, b"\0\0\0", 0x83, b"\0\0\0", 2048, 0x7fffffff)
e2 = struct.pack("<B3sB3sII", 0, b"\0\0\0", 0x83, b"\0\0\0", 0xfffffff0, 0x100)
f.seek(446); f.write(e1 + e2); f.seek(510); f.write(b"\x55\xaa")
PY

make_linux_tree "$T/root" hostileguest
echo '/dev/sda1 / ext4 defaults 0 1' > "$T/root/etc/fstab"
ext4_image "$T/part.img" 24 "$T/root"
gpt_disk "$I/gpt-bad-crc.img" 32 "$T/part.img"
python3 - "$I/gpt-bad-crc.img" <<'PY'
import os, sys
f = open(sys.argv[1], "r+b")
size = os.path.getsize(sys.argv[1])
for lba in (1, size // 512 - 1):        # primary and backup headers
    f.seek(lba * 512 + 16); crc = f.read(4)
    f.seek(lba * 512 + 16); f.write(bytes(b ^ 0xff for b in crc))
PY

# Filesystems.
echo '/dev/sda / ext4 defaults 0 1' > "$T/root/etc/fstab"
ext4_image "$I/ext4-bad-superblock.img" 24 "$T/root"
# Keep the magic (so it is probed and mounted), break the geometry.
printf '\x40\x00\x00\x00' | dd of="$I/ext4-bad-superblock.img" bs=1 seek=1048 conv=notrunc status=none
printf '\xff\xff\xff\xff' | dd of="$I/ext4-bad-superblock.img" bs=1 seek=1028 conv=notrunc status=none

mkdir -p "$T/root/data/a/b"
ext4_image "$I/ext4-dir-cycle.img" 24 "$T/root"
debugfs -w -R "ln /data /data/a/b/loop" "$I/ext4-dir-cycle.img" >/dev/null 2>&1
debugfs -R "ls /data/a/b" "$I/ext4-dir-cycle.img" 2>/dev/null | grep -q loop ||
  fail "debugfs could not make the directory cycle"
rm -rf "$T/root/data/a"

rm "$T/root/etc/hostname"
ln -s hostname2 "$T/root/etc/hostname"
ln -s hostname "$T/root/etc/hostname2"
ext4_image "$I/symlink-loops.img" 24 "$T/root"
mv "$T/root/etc" "$T/etc.saved"
ln -s /etc "$T/root/etc"
ext4_image "$I/etc-symlink-loop.img" 24 "$T/root"
rm "$T/root/etc"; mv "$T/etc.saved" "$T/root/etc"
rm "$T/root/etc/hostname" "$T/root/etc/hostname2"
truncate -s 2G "$T/root/etc/hostname"
ext4_image "$I/hostname-2G.img" 32 "$T/root"

sums=$(cd "$I" && sha256sum *)

# --- What each cell must give (anything else: error or ok, one line). ---
expected () {
  local img=$1 cmd=$2
  case $img:$cmd in
    hostname-2G.img:virt-cat) echo sigpipe ;;
    hostname-2G.img:*) echo ok ;;
    ext4-dir-cycle.img:virt-cat) echo ok ;;
    symlink-loops.img:virt-cat) echo error ;;
    gpt-bad-crc.img:*|ext4-dir-cycle.img:*|symlink-loops.img:*) echo any ;;
    *:virt-cat|*:virt-ls) echo error ;;
    *) echo any ;;
  esac
}

worst=0
while read -r name cmd; do
  for f in $(cd "$I" && ls); do
    # shellcheck disable=SC2046
    run_bounded "$name $f" "$cmd" -a "$I/$f" $(hostile_args "$name")
    got=$(classify "$name")
    want=$(expected "$f" "$name")
    case $want:$got in
      any:error|any:ok|any:warning|ok:warning) ;;
      "$got:$got") ;;
      *) cat "$T/err" >&2
         fail "$name $f: $got (exit $RC, $ERRLINES stderr lines), expected $want" ;;
    esac
    check_no_qemu
    table_row "$f" "$name" "$got: $(head -c 100 "$T/err" | head -n1)" "$SECS" "$RSS_MB"
    worst=$(awk -v a="$worst" -v b="$SECS" 'BEGIN { print (b > a) ? b : a }')
  done
done < <(hostile_commands)
ok "every command x image: bounded, one error line or a clean result (worst ${worst}s)"

# Cells with a known right answer.
run_bounded "hostname-2G" "$VIRT_CAT" -a "$I/hostname-2G.img" /etc/hostname
[ "$(stat -c %s "$T/out")" = 1048576 ] && cmp -s -n 1048576 "$T/out" /dev/zero ||
  fail "2 GiB /etc/hostname: not 1 MiB of zeros"
ok "virt-cat of a 2 GiB sparse /etc/hostname streams zeros and stops on a closed pipe"
check_no_qemu
expect_error "backing file naming /etc/shadow" \
  "^virt-cat: error: .*backing-shadow.img.*/etc/shadow.*--format=qcow2" \
  "$VIRT_CAT" -a "$I/backing-shadow.img" /etc/hostname
expect_error "qcow2 external data file" "^virt-cat: error: .*external data file.*--format" \
  "$VIRT_CAT" -a "$I/datafile-fifo.qcow2" /etc/hostname
expect_error "vmdk text descriptor" "^virt-cat: error: .*vmdk descriptor.*--format=vmdk" \
  "$VIRT_CAT" -a "$I/vmdk-descriptor.img" /etc/hostname
expect_error "vmdk embedded descriptor" "^virt-cat: error: .*embedded descriptor.*--format=vmdk" \
  "$VIRT_CAT" -a "$I/vmdk-embedded.img" /etc/hostname
# Explicitly raw: the header is just data, nothing else is opened.
expect_error "qcow2 header with --format=raw is only data" \
  "^virt-cat: error: .*(no operating system|mount)" \
  "$VIRT_CAT" --format=raw -a "$I/backing-fifo.img" /etc/hostname
expect_error "symlink loop" "^virt-cat: error: .*/etc/hostname.*symbolic links" \
  "$VIRT_CAT" -a "$I/symlink-loops.img" /etc/hostname
for fifo in backing datafile extent embedded; do
  [ "$(fifo_opened "$T/$fifo.fifo")" = no ] ||
    fail "a host file named by an image ($fifo) was opened"
done
ok "no host file named by an image header was ever opened"

expect_eq "images unchanged" "$sums" "$(cd "$I" && sha256sum *)"
