#!/usr/bin/env python3
# guestbox - make Windows dynamic disks (LDM) holding given filesystem
# images, for the tests.
# Copyright (C) 2026 the guestbox authors
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Hand-written because nothing in Debian creates LDM metadata: only
# Windows' own disk manager writes it (ldmtool and the kernel only read
# it).  This writes the documented on-disk format (the Linux kernel's
# Documentation/admin-guide/ldm.rst and block/partitions/ldm.c, and
# libldm, which ldmtool is built on): an MBR whose one partition has
# type 0x42 and covers the disk, the PRIVHEAD in sector 6 and its two
# copies in the 1 MiB database at the end of the disk, four TOCBLOCKs,
# and the VMDB followed by 128-byte VBLK records: the disk group, each
# disk, and for each volume one component and one partition per disk
# it lies on.  Everything is big-endian; numbers in records are
# length-prefixed.  Identifiers (GUIDs, disk signatures) are derived
# from the names, so the same arguments give the same bytes.
#
# Usage:
#   mkldm.py GROUP DISK.img[,DISK2.img...] NAME=FS.img[@N] [NAME=FS.img[@N]]...
#
# Volume NAME holds FS.img: on the first disk (a simple volume), or
# spread over the first N disks (a spanned volume: the image is cut in
# N parts of whole MiB, the last part takes the rest).  Volumes follow
# each other on each disk from 1 MiB; each disk gets the size it needs
# plus the 1 MiB database.  The volumes become, with ldmtool,
# /dev/mapper/ldm_vol_GROUP_NAME.

import os
import struct
import sys
import uuid

SECTOR = 512
MIB = 1024 * 1024
DB_SECTORS = 2048              # the LDM database: the last 1 MiB
DATA_START = 2048              # volumes from 1 MiB
VBLK_SIZE = 128
VBLK_FIRST = 512               # VBLKs follow the VMDB's sector
NS = uuid.UUID("6c646d2d-6775-6573-7462-6f782d746573")


def guid(*names):
    return uuid.uuid5(NS, "/".join(names))


def var(n):
    """A number as LDM stores it: one length byte, then big-endian."""
    b = n.to_bytes(max(1, (n.bit_length() + 7) // 8), "big")
    return bytes([len(b)]) + b


def vstr(s):
    b = s.encode() if isinstance(s, str) else s
    assert len(b) < 256
    return bytes([len(b)]) + b


class Db:
    """The VBLK records of one disk group, and their counts."""

    def __init__(self):
        self.records = []
        self.counts = {"vol": 0, "comp": 0, "part": 0, "disk": 0}

    def add(self, kind, vtype, flags, data):
        # Record header: status, flags, type (revision << 4 | kind),
        # size of what follows.
        rec = struct.pack(">HBBI", 0, flags, vtype, len(data)) + data
        assert len(rec) <= VBLK_SIZE - 16, "record too long"
        self.records.append(rec)
        if kind:
            self.counts[kind] += 1


def disk_group(db, oid, name, dg_guid):
    # Disk group, revision 3: id, name, GUID as text, 12 fixed bytes.
    data = var(oid) + vstr(name) + vstr(str(dg_guid)) + bytes(12)
    db.add(None, 0x35, 0, data)


def disk(db, oid, name, disk_guid):
    # Disk, revision 4: id, name, binary GUID, 29 fixed bytes.
    data = var(oid) + vstr(name) + disk_guid.bytes + bytes(29)
    db.add("disk", 0x44, 0, data)


def volume(db, oid, name, ncomps, sectors, vol_guid):
    # Volume, revision 5: id, name, type "gen", an empty string, state,
    # type 3 (gen), ..., children, commit and id, size, partition type
    # 7 (NTFS), the volume GUID.
    data = (var(oid) + vstr(name) + vstr("gen") + vstr("")
            + b"ACTIVE".ljust(14, b"\0")
            + bytes([3, 0, 1]) + bytes(3) + bytes([0])
            + var(ncomps) + bytes(8) + bytes(8)
            + var(sectors) + bytes(4) + bytes([7]) + vol_guid.bytes)
    db.add("vol", 0x51, 0, data)


def component(db, oid, name, nparts, parent):
    # Component, revision 3: id, name, state, type 2 (spanned or
    # simple), zeros, number of partitions, commit, zeros, parent volume.
    data = (var(oid) + vstr(name) + vstr("ACTIVE") + bytes([2])
            + bytes(4) + var(nparts) + bytes(8) + bytes(8)
            + var(parent) + bytes(1))
    db.add("comp", 0x32, 0, data)


def partition(db, oid, name, start, vol_offset, sectors, parent, disk_id,
              index):
    # Partition, revision 3 with an index (flag 0x08): id, name, zeros,
    # commit, start on the disk's data area and offset in the volume
    # (sectors), size, parent component, disk, index in the component.
    data = (var(oid) + vstr(name) + bytes(4) + bytes(8)
            + struct.pack(">QQ", start, vol_offset) + var(sectors)
            + var(parent) + var(disk_id) + var(index))
    db.add("part", 0x33, 0x08, data)


def privhead(disk_guid, host_guid, dg_guid, dg_name, disk_sectors):
    config_start = disk_sectors - DB_SECTORS
    ph = bytearray(SECTOR)
    ph[0:8] = b"PRIVHEAD"
    struct.pack_into(">IHH", ph, 8, 0x2c5, 2, 12)      # version 2.12
    ph[0x30:0x30 + 36] = str(disk_guid).encode()
    ph[0x70:0x70 + 36] = str(host_guid).encode()
    ph[0xb0:0xb0 + 36] = str(dg_guid).encode()
    ph[0xf0:0xf0 + len(dg_name)] = dg_name.encode()
    struct.pack_into(">QQQQQQIIQQ", ph, 0x11b,
                     DATA_START, config_start - DATA_START,
                     config_start, DB_SECTORS,
                     2, 1, 1, 1, 0x5c9, 0xe0)
    return bytes(ph)


def tocblock():
    toc = bytearray(SECTOR)
    toc[0:8] = b"TOCBLOCK"
    struct.pack_into(">I", toc, 8, 1)
    struct.pack_into(">I", toc, 16, 0)
    # Two bitmaps: "config" (the VMDB, at sector 17 of the database)
    # and "log".
    struct.pack_into(">8sHQQQ", toc, 0x24, b"config", 0, 0x11, 0x5c9, 0)
    struct.pack_into(">8sHQQQ", toc, 0x46, b"log", 0, 0x6da, 0xe0, 0)
    return bytes(toc)


def vmdb_and_vblks(db, dg_name, dg_guid):
    recs = list(db.records)
    # Every VBLK slot in the sectors the VMDB counts is read by the
    # kernel, so the list is padded with empty records to whole sectors.
    per_sector = SECTOR // VBLK_SIZE
    while len(recs) % per_sector:
        recs.append(None)
    first_slot = VBLK_FIRST // VBLK_SIZE
    last = first_slot + len(recs)
    out = bytearray(VBLK_FIRST + len(recs) * VBLK_SIZE)
    out[0:4] = b"VMDB"
    struct.pack_into(">IIIHHH", out, 4, last, VBLK_SIZE, VBLK_FIRST,
                     1, 4, 10)
    out[0x16:0x16 + len(dg_name)] = dg_name.encode()
    out[0x35:0x35 + 36] = str(dg_guid).encode()
    c = db.counts
    struct.pack_into(">QQIIII", out, 0x75, 5, 5,
                     c["vol"], c["comp"], c["part"], c["disk"])
    for i, rec in enumerate(recs):
        off = VBLK_FIRST + i * VBLK_SIZE
        # VBLK header: magic, sequence, record id, entry, entries.
        if rec is None:
            struct.pack_into(">4sIIHH", out, off, b"VBLK",
                             first_slot + i, 0, 0, 0)
        else:
            struct.pack_into(">4sIIHH", out, off, b"VBLK",
                             first_slot + i, i + 1, 0, 1)
            out[off + 16:off + 16 + len(rec)] = rec
    return bytes(out)


def mbr(disk_sectors, signature):
    m = bytearray(SECTOR)
    struct.pack_into("<I", m, 0x1b8, signature)
    # One partition of type 0x42 from sector 63 to the end, as Windows
    # makes it; CHS fields at their maximum.
    m[0x1be:0x1be + 16] = struct.pack("<B3sB3sII", 0, b"\x01\x01\x00", 0x42,
                                      b"\xfe\xff\xff", 63, disk_sectors - 63)
    m[0x1fe:0x200] = b"\x55\xaa"
    return bytes(m)


def main(argv):
    if len(argv) < 4:
        sys.exit("usage: mkldm.py GROUP DISK.img[,DISK.img...] "
                 "NAME=FS.img[@N]...")
    dg_name = argv[1]
    disks = argv[2].split(",")
    vols = []
    for spec in argv[3:]:
        name, _, rest = spec.partition("=")
        path, _, n = rest.partition("@")
        n = int(n or 1)
        if not name or not path or n < 1 or n > len(disks):
            sys.exit("mkldm.py: bad volume: " + spec)
        size = os.path.getsize(path)
        if size % SECTOR or size < n * MIB:
            sys.exit("mkldm.py: %s: size not a multiple of 512 or too small"
                     % path)
        vols.append((name, path, n, size))

    dg_guid = guid(dg_name)
    host_guid = guid(dg_name, "host")
    disk_guids = [guid(dg_name, "disk", str(i)) for i in range(len(disks))]
    # Extents: (disk index, start sector in its data area, volume offset,
    # sectors, source file, source offset).
    used = [0] * len(disks)
    layout = []
    for name, path, n, size in vols:
        sectors = size // SECTOR
        piece = (sectors // n) // 2048 * 2048
        extents = []
        off = 0
        for d in range(n):
            s = piece if d < n - 1 else sectors - off
            extents.append((d, used[d], off, s, path))
            used[d] += (s + 2047) // 2048 * 2048
            off += s
        layout.append((name, sectors, extents))

    db = Db()
    oid = 1
    disk_group(db, oid, dg_name, dg_guid)
    disk_ids = []
    for i in range(len(disks)):
        oid += 1
        disk_ids.append(oid)
        disk(db, oid, "Disk%d" % (i + 1), disk_guids[i])
    for vi, (name, sectors, extents) in enumerate(layout):
        vol_id = oid + 1
        comp_id = oid + 2
        oid += 2
        volume(db, vol_id, name, 1, sectors, guid(dg_name, "vol", name))
        component(db, comp_id, "%s-01" % name, len(extents), vol_id)
        for idx, (d, start, voff, s, _) in enumerate(extents):
            oid += 1
            partition(db, oid, "Disk%d-%02d" % (d + 1, vi + 1), start, voff,
                      s, comp_id, disk_ids[d], idx)
    db_bytes = vmdb_and_vblks(db, dg_name, dg_guid)

    for i, path in enumerate(disks):
        disk_sectors = DATA_START + (used[i] + 2047) // 2048 * 2048 + \
            DB_SECTORS
        config = disk_sectors - DB_SECTORS
        sig = int.from_bytes(disk_guids[i].bytes[:4], "little")
        ph = privhead(disk_guids[i], host_guid, dg_guid, dg_name,
                      disk_sectors)
        toc = tocblock()
        with open(path, "wb") as f:
            f.truncate(disk_sectors * SECTOR)
            f.seek(0)
            f.write(mbr(disk_sectors, sig))
            f.seek(6 * SECTOR)
            f.write(ph)
            for s in (1, 2, 2045, 2046):
                f.seek((config + s) * SECTOR)
                f.write(toc)
            f.seek((config + 17) * SECTOR)
            f.write(db_bytes)
            for s in (1856, 2047):
                f.seek((config + s) * SECTOR)
                f.write(ph)
            for name, sectors, extents in layout:
                for d, start, voff, s, src in extents:
                    if d != i:
                        continue
                    with open(src, "rb") as fs:
                        fs.seek(voff * SECTOR)
                        f.seek((DATA_START + start) * SECTOR)
                        left = s * SECTOR
                        while left:
                            buf = fs.read(min(left, MIB))
                            if not buf:
                                break
                            # Keep the image sparse where the source is.
                            if buf.count(0) == len(buf):
                                f.seek(len(buf), 1)
                            else:
                                f.write(buf)
                            left -= len(buf)


if __name__ == "__main__":
    main(sys.argv)
