#!/bin/bash -
# guestbox - virt-filesystems on a multi-partition MBR disk (ext4,
# vfat, swap and NTFS in an extended partition, an empty partition), an
# LVM disk and a GPT disk with btrfs subvolumes, attached together:
# what the layouts say, then byte for byte against the libguestfs tool
# (four runs of it: the long CSV with UUIDs, the aligned -h text, the
# plain list, and -h with --csv, an error).
# Copyright (C) 2026 the guestbox authors
# SPDX-License-Identifier: GPL-2.0-or-later

set -e
. "${top_srcdir:=$(dirname "$0")/..}/tests/functions.sh"
. "$top_srcdir/tests/images.sh"
. "$top_srcdir/tests/inspector-images.sh"
. "$top_srcdir/tests/fs-images.sh"
requires_appliance
requires mkfs.ext4 mkfs.vfat mcopy sfdisk mkswap mkntfs mkfs.btrfs btrfs
make_workdir
VF=$top_builddir/filesystems/virt-filesystems

fs_images || skip_or_fail "cannot make the btrfs image (needs a loop mount)"
cd "$T"
disks=(-a multi.img -a lvm.img -a btrfs.img)

# What the partition tables and the LVM layout say (no reference tool).
out=$("$VF" "${disks[@]}" --partitions --long --no-title --csv)
expect_eq "partitions: MBR ids, sizes, parents" "/dev/sda1,partition,83,16777216,/dev/sda
/dev/sda2,partition,0c,16777216,/dev/sda
/dev/sda3,partition,05,1024,/dev/sda
/dev/sda4,partition,83,4194304,/dev/sda
/dev/sda5,partition,82,8388608,/dev/sda
/dev/sda6,partition,07,16777216,/dev/sda
/dev/sdb1,partition,83,16777216,/dev/sdb
/dev/sdb2,partition,8e,57671680,/dev/sdb
/dev/sdc1,partition,,134217728,/dev/sdc" "$out"
out=$("$VF" "${disks[@]}" --lvs --vgs --pvs --blkdevs -l --csv)
echo "$out" | grep -q '^/dev/vg0/data,lv,8388608,/dev/vg0$' &&
  echo "$out" | grep -q '^/dev/vg0/root,lv,25165824,/dev/vg0$' &&
  echo "$out" | grep -q '^/dev/vg0,vg,54525952,/dev/sdb2$' &&
  echo "$out" | grep -q '^/dev/sdb2,pv,54525952,$' &&
  echo "$out" | grep -q '^/dev/sdc,device,138412032,$' ||
  fail "LVM and devices: $out"
ok "LVM and devices"
out=$("$VF" "${disks[@]}" --extra)
expect_eq "--extra" "/dev/sda1
/dev/sda2
/dev/sda4
/dev/sda5
/dev/sda6
/dev/sdb1
/dev/sdc1
btrfsvol:/dev/sdc1/root
btrfsvol:/dev/sdc1/home
/dev/vg0/data
/dev/vg0/root" "$out"
# A btrfs whose default subvolume is "root": the device stands for it,
# so only "home" is listed after it (as libguestfs filters it).
truncate -s 128M "$T/dflt.img"
mkfs.btrfs -q -f -L dflt "$T/dflt.img" >/dev/null
mkdir "$T/mnt"
mount -o loop "$T/dflt.img" "$T/mnt"
btrfs -q subvolume create "$T/mnt/root" >/dev/null
btrfs -q subvolume create "$T/mnt/home" >/dev/null
btrfs -q subvolume set-default "$T/mnt/root"
umount "$T/mnt"
expect_eq "btrfs with a default subvolume" "/dev/sda
btrfsvol:/dev/sda/home" "$("$VF" -a dflt.img)"

# --json: one object a row with every field, the same rows and values
# as the long CSV (compared with libguestfs below), valid JSON.
requires python3
"$VF" "${disks[@]}" --all --long --uuid --csv --no-title > all.csv
"$VF" "${disks[@]}" --all --json > all.jsonl
python3 - all.csv all.jsonl <<'PY' || fail "--json differs from the CSV"
import csv, json, sys
rows = list(csv.reader(open(sys.argv[1])))
objs = [json.loads(l) for l in open(sys.argv[2])]
def s(v): return "" if v is None else str(v)
got = [[o["name"], o["type"], s(o["vfs_type"]), s(o["vfs_label"]),
        s(o["mbr"]), s(o["size"]), ",".join(o["parents"]), s(o["uuid"])]
       for o in objs]
if got != rows or len(rows) < 20:
    print("csv:", rows, "\njson:", got)
    sys.exit(1)
# Numbers are numbers; a size the CSV leaves empty is null.
assert all(type(o["size"]) is int or o["size"] is None for o in objs)
assert sum(type(o["size"]) is int for o in objs) >= 20
PY
ok "--json: $(wc -l < all.jsonl) rows, the same as the CSV"
expect_eq "--json with -h" "virt-filesystems: error: --json cannot be used with -h or --csv" \
  "$("$VF" -a dflt.img --json -h 2>&1 | head -1)"
check_no_qemu

requires_libguestfs virt-filesystems
# The libguestfs appliance may name the disks' physical volumes in the
# order the kernel found the disks, not in the order given: LVM is
# compared on its own disk.
compare_lg "--all --long --uuid --csv (LVM)" virt-filesystems -a lvm.img \
  --all --long --uuid --csv
# Given the MBR disk first, libguestfs 1.48 names the second disk's
# btrfs subvolumes after the first disk's sda1 (btrfsvol:/dev/sda1/root
# with sda1's label): btrfs is compared on its own disk too.
compare_lg "--all --long -h (MBR)" virt-filesystems \
  -a multi.img --all --long -h
compare_lg "--all --long -h (GPT, btrfs)" virt-filesystems \
  -a btrfs.img --all --long -h
compare_lg "default (--filesystems)" virt-filesystems "${disks[@]}"
compare_lg "-h with --csv (an error)" virt-filesystems "${disks[@]}" \
  --all -l -h --csv
check_no_qemu
