#!/bin/bash -
# guestbox - images from VirtualBox (vdi), Hyper-V (vhdx, vhd) and
# VMware (vmdk monolithic sparse and stream-optimized) open without
# --format; the variants that name other files (differencing VDI, VHD
# and VHDX, a vmdk delta link, a vmdk descriptor) are refused with the
# message given for a qcow2 backing file; --blocksize 4096.
# Copyright (C) 2026 the guestbox authors
# SPDX-License-Identifier: GPL-2.0-or-later

set -e
. "${top_srcdir:=$(dirname "$0")/..}/tests/functions.sh"
. "$top_srcdir/tests/images.sh"
requires_appliance
requires mkfs.ext4 sfdisk qemu-img python3
make_workdir

make_linux_tree "$T/tree" formathost
printf '/dev/sda1 / ext4 defaults 0 1\n' > "$T/tree/etc/fstab"
ext4_image "$T/root.img" 24 "$T/tree" ROOT
mbr_disk "$T/disk.img" 32 "$T/root.img"
rm -f "$T/root.img"

# Each format opens, probed, and the guest's file is read.
for f in vdi:vdi vhdx:vhdx vpc:vhd vmdk:vmdk vmdk,subformat=streamOptimized:stream.vmdk; do
  fmt=${f%%:*} ext=${f#*:} opts=
  case $fmt in *,*) opts="-o ${fmt#*,}"; fmt=${fmt%%,*} ;; esac
  qemu-img convert -O $fmt $opts "$T/disk.img" "$T/disk.$ext"
  out=$("$VIRT_CAT" -a "$T/disk.$ext" /etc/hostname 2>"$T/err") ||
    fail "$ext: $(cat "$T/err")"
  expect_eq "$ext opens without --format" formathost "$out"
done
check_no_qemu

# The variants that name other files.  (qemu-img cannot make them:
# the headers are patched.)
cp "$T/disk.vdi" "$T/diff.vdi"
printf '\004' | dd of="$T/diff.vdi" bs=1 seek=76 conv=notrunc status=none
cp "$T/disk.vhd" "$T/diff.vhd"
printf '\000\000\000\004' | dd of="$T/diff.vhd" bs=1 seek=60 conv=notrunc status=none
cp "$T/disk.vhdx" "$T/diff.vhdx"
python3 - "$T/diff.vhdx" <<'EOP'
import struct, sys, uuid
f = open(sys.argv[1], 'r+b')
def rd(off, n):
    f.seek(off); return f.read(n)
rt = rd(192 * 1024, 4096)
assert rt[:4] == b'regi'
md_guid = uuid.UUID('8B7CA206-4790-4B9A-B8FE-575F050F886E').bytes_le
params = uuid.UUID('CAA16737-FA36-4D43-B3B6-33F0AA44E76B').bytes_le
for i in range(struct.unpack_from('<I', rt, 8)[0]):
    e = rt[16 + 32 * i: 48 + 32 * i]
    if e[:16] == md_guid:
        md_off = struct.unpack_from('<Q', e, 16)[0]
md = rd(md_off, 65536)
assert md[:8] == b'metadata'
for i in range(struct.unpack_from('<H', md, 10)[0]):
    e = md[32 + 32 * i: 64 + 32 * i]
    if e[:16] == params:
        off = struct.unpack_from('<I', e, 16)[0]
        flags = struct.unpack_from('<I', rd(md_off + off + 4, 4))[0]
        f.seek(md_off + off + 4); f.write(struct.pack('<I', flags | 2))
EOP
python3 - "$T/disk.vmdk" "$T/delta.vmdk" <<'EOP'
import struct, sys
data = bytearray(open(sys.argv[1], 'rb').read())
off = struct.unpack_from('<Q', data, 28)[0] * 512
desc = data[off:off + 512].split(b'\0')[0]
desc = desc.replace(b'createType=', b'parentFileNameHint="base.vmdk"\ncreateType=', 1)
data[off:off + len(desc) + 1] = desc + b'\0'
open(sys.argv[2], 'wb').write(data)
EOP
printf '# Disk DescriptorFile\nversion=1\ncreateType="monolithicFlat"\nRW 65536 FLAT "disk.img" 0\n' > "$T/flat.vmdk"
for f in diff.vdi:vdi diff.vhd:vpc diff.vhdx:vhdx delta.vmdk:vmdk flat.vmdk:vmdk; do
  expect_error "${f%%:*} is refused" \
    "^virt-cat: error: .*${f%%:*}: the image \\(probed as ${f#*:}\\) refers to another file .*\\(--format=${f#*:}\\)" \
    "$VIRT_CAT" -a "$T/${f%%:*}" /etc/hostname
done

# --blocksize 4096: a disk made with 4096-byte sectors (its MBR says
# the partition starts at sector 256: 1 MiB, or 128 KiB in 512-byte
# sectors) is read only when the appliance sees that sector size.
mkfs.ext4 -q -F -b 4096 -L ROOT -d "$T/tree" "$T/root4k.img" 24M >/dev/null
truncate -s 32M "$T/disk4k.img"
python3 - "$T/disk4k.img" <<'EOP'
import struct, sys
f = open(sys.argv[1], 'r+b')
entry = struct.pack('<B3sB3sII', 0, b'\xfe\xff\xff', 0x83, b'\xfe\xff\xff',
                    256, (32 * 1024 * 1024 - 1024 * 1024) // 4096)
f.seek(446); f.write(entry)
f.seek(510); f.write(b'\x55\xaa')
EOP
dd if="$T/root4k.img" of="$T/disk4k.img" bs=1M seek=1 conv=notrunc status=none
rm -f "$T/root4k.img"
rc=0; "$VIRT_CAT" -a "$T/disk4k.img" /etc/hostname >/dev/null 2>&1 || rc=$?
expect_eq "4096-byte sectors without --blocksize: no guest found" 1 $rc
for form in "--blocksize 4096" "--blocksize=4096"; do
  out=$("$VIRT_CAT" $form -a "$T/disk4k.img" /etc/hostname 2>"$T/err") ||
    fail "$form: $(cat "$T/err")"
  expect_eq "virt-cat $form" formathost "$out"
done
out=$("$top_builddir/df/virt-df" --csv --blocksize 4096 -a "$T/disk4k.img" 2>"$T/err") ||
  fail "virt-df --blocksize: $(cat "$T/err")"
echo "$out" | grep -q '^disk4k.img,/dev/sda1,' || fail "virt-df --blocksize 4096: $out"
ok "virt-df --blocksize 4096"
check_no_qemu
