#!/bin/bash -
# guestbox - libvirt guests through libvirt's test driver
# (test:///ABSOLUTE/PATH/node.xml, no daemon): virt-df with no -a
# audits every guest (compared byte for byte with libguestfs's virt-df
# on the same definition), --uuid, --json, -d on virt-df and virt-cat,
# a writing command refused on a running guest, unknown guests.
# Copyright (C) 2026 the guestbox authors
# SPDX-License-Identifier: GPL-2.0-or-later

set -e
. "${top_srcdir:=$(dirname "$0")/..}/tests/functions.sh"
. "$top_srcdir/tests/images.sh"
requires_appliance
requires mkfs.ext4 dumpe2fs sfdisk qemu-img virsh python3
make_workdir
VIRT_DF=$top_builddir/df/virt-df
VIRT_EDIT=$top_builddir/edit/virt-edit
cd "$T"

# alpha (shut off): a GPT disk with an ext4 root and a raw ext4 disk,
# and an empty CD-ROM drive (skipped).  beta (running): one qcow2 disk.
make_linux_tree tree alpha
echo '/dev/sda1 / ext4 defaults 0 1' > tree/etc/fstab
ext4_image root.img 24 tree
gpt_disk alpha-1.img 32 root.img
mkdir data; echo data > data/marker
ext4_image alpha-2.img 12 data
make_linux_tree btree beta
echo '/dev/sda / ext4 defaults 0 1' > btree/etc/fstab
ext4_image beta.raw 20 btree
qemu-img convert -q -f raw -O qcow2 beta.raw beta.qcow2
cat > node.xml <<EOF
<node>
  <domain type='test'>
    <name>beta</name>
    <uuid>2b7c0c31-5f7e-4d8a-9b1e-0c4f0e6b2a02</uuid>
    <memory>65536</memory>
    <os><type>hvm</type></os>
    <devices>
      <disk type='file' device='disk'>
        <driver name='qemu' type='qcow2'/>
        <source file='$T/beta.qcow2'/>
        <target dev='vda' bus='virtio'/>
      </disk>
    </devices>
  </domain>
  <domain type='test' xmlns:test='http://libvirt.org/schemas/domain/test/1.0'>
    <name>alpha</name>
    <uuid>1a6b0b20-4e6d-4c79-8a0d-fb3e0d5a1901</uuid>
    <memory>65536</memory>
    <os><type>hvm</type></os>
    <devices>
      <disk type='file' device='disk'>
        <driver name='qemu' type='raw'/>
        <source file='$T/alpha-1.img'/>
        <target dev='vda' bus='virtio'/>
      </disk>
      <disk type='file' device='disk'>
        <driver name='qemu' type='raw'/>
        <source file='$T/alpha-2.img'/>
        <target dev='vdb' bus='virtio'/>
      </disk>
      <disk type='file' device='cdrom'>
        <target dev='hdc' bus='ide'/>
        <readonly/>
      </disk>
    </devices>
    <test:runstate>5</test:runstate>
  </domain>
</node>
EOF
uri=test://$T/node.xml
expect_eq "libvirt's view of the definition" "beta running
alpha shut off" "$(virsh -c "$uri" list --all | awk 'NR > 2 && NF { print $2, $3, $4 }' | sed 's/ *$//')"

inode_csv () {                  # NAME DEVICE IMAGE
  local total free
  total=$(dumpe2fs -h "$3" 2>/dev/null | sed -n 's/^Inode count: *//p')
  free=$(dumpe2fs -h "$3" 2>/dev/null | sed -n 's/^Free inodes: *//p')
  awk -v n="$1" -v d="$2" -v t="$total" -v f="$free" 'BEGIN {
    printf "%s,%s,%d,%d,%d,%.1f\n", n, d, t, t - f, f, 100 - 100 * f / t }'
}

# Every guest of the connection, in name order, each with its own
# /dev/sda...: alpha's second disk is its /dev/sdb, listed first as a
# whole-disk filesystem (libguestfs's order).
out=$("$VIRT_DF" -c "$uri" -i --csv)
expect_eq "virt-df with no -a: every guest" "VirtualMachine,Filesystem,Inodes,IUsed,IFree,IUse%
$(inode_csv alpha /dev/sdb alpha-2.img)
$(inode_csv alpha /dev/sda1 root.img)
$(inode_csv beta /dev/sda beta.raw)" "$out"
out=$("$VIRT_DF" -c "$uri" -i --csv --uuid | cut -d, -f1,2)
expect_eq "--uuid" "VirtualMachine,Filesystem
1a6b0b20-4e6d-4c79-8a0d-fb3e0d5a1901,/dev/sdb
1a6b0b20-4e6d-4c79-8a0d-fb3e0d5a1901,/dev/sda1
2b7c0c31-5f7e-4d8a-9b1e-0c4f0e6b2a02,/dev/sda" "$out"
out=$("$VIRT_DF" -c "$uri" --json | python3 -c 'import json, sys
for l in sys.stdin:
    r = json.loads(l); print(r["guest"], r["domain"], r["uuid"], r["filesystem"], r["type"])')
expect_eq "--json names the guest, its domain and UUID" "alpha alpha 1a6b0b20-4e6d-4c79-8a0d-fb3e0d5a1901 /dev/sdb ext4
alpha alpha 1a6b0b20-4e6d-4c79-8a0d-fb3e0d5a1901 /dev/sda1 ext4
beta beta 2b7c0c31-5f7e-4d8a-9b1e-0c4f0e6b2a02 /dev/sda ext4" "$out"

# -d: one guest (a word that is no file is a guest name, as in
# libguestfs); -d on another command.
out=$("$VIRT_DF" -c "$uri" -i --csv beta)
expect_eq "virt-df -d" "VirtualMachine,Filesystem,Inodes,IUsed,IFree,IUse%
$(inode_csv beta /dev/sda beta.raw)" "$out"
expect_eq "virt-cat -d (by UUID)" "alpha
data" "$("$VIRT_CAT" -c "$uri" -d 1a6b0b20-4e6d-4c79-8a0d-fb3e0d5a1901 /etc/hostname \
          && "$VIRT_CAT" -c "$uri" -d alpha -m /dev/sdb /marker)"

# Writing to a running guest's disks is refused, the image untouched.
sum=$(sha256sum < beta.qcow2)
expect_error "virt-edit on a running guest" \
  "^virt-edit: error: .*'beta' is running" \
  "$VIRT_EDIT" -c "$uri" -d beta -e 's/beta/gamma/' /etc/hostname
expect_eq "the running guest's disk is unchanged" "$sum" "$(sha256sum < beta.qcow2)"
rc=0; "$VIRT_CAT" -c "$uri" -d nosuch /etc/hostname > out 2> err || rc=$?
expect_eq "unknown guest: exit 1, one error line" \
  "1 1 virt-cat: error: no libvirt domain called 'nosuch': Domain not found" \
  "$rc $(wc -l < err) $(cat err)"
check_no_qemu

# The same rows as libguestfs's virt-df on the same definition.
requires_libguestfs virt-df
compare_lg "virt-df -c $uri" virt-df -c "$uri"
check_no_qemu
