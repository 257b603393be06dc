#!/usr/bin/env python3
# guestbox - write the fuzzers' seed corpora (fuzz/seeds/NAME/): valid
# protocol messages, small real host files, typical parser inputs.
# Copyright (C) 2026 the guestbox authors
# SPDX-License-Identifier: GPL-2.0-or-later
#
#   python3 make-seeds.py [SEEDDIR]

import os
import struct
import sys

out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "seeds")

PROGRAM, VERSION = 0x47424F58, 1
PROGRESS_FLAG, CANCEL_FLAG = 0xFFFF5555, 0xFFFFEEEE


def u32(v):
    return struct.pack(">I", v & 0xFFFFFFFF)


def hyper(v):
    return struct.pack(">q", v)


def string(s):
    b = s if isinstance(s, bytes) else s.encode()
    return u32(len(b)) + b + b"\0" * ((4 - len(b) % 4) % 4)


def strlist(l):
    return u32(len(l)) + b"".join(string(s) for s in l)


def header(proc, direction, serial, status=0):
    return b"".join(u32(v) for v in
                    (PROGRAM, VERSION, proc, direction, serial, status, 0, 0))


def framed(b):
    return u32(len(b)) + b


def write(name, i, data):
    d = os.path.join(out, name)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "seed-%02d" % i), "wb") as f:
        f.write(data)


def stat(mode, size):
    return b"".join(hyper(v) for v in
                    (1, 2, mode, 1, 0, 0, 0, size, 4096, 8, 0, 0, 0, 0, 0, 0))


# Replies.  The first byte chooses the calls (see fuzz-reply.c); the
# library numbers its calls from 1 after the launch flag.
version = header(1, 1, 1) + u32(1) + string("guestboxd 0.1") + \
    strlist(["alpha", "beta"])
err = header(1, 1, 1, 1) + string("ENOENT") + string("/etc: No such file")
dirent = string("hostname") + stat(0o100644, 9) + string("") + \
    string("link") + stat(0o120777, 4) + string("target")
readdir = header(36, 1, 1) + u32(2) + dirent + u32(0)
chunk = u32(0) + string(b"hello\n")
end = u32(0) + u32(0)
cancel = u32(1) + u32(0)
seeds = [
    bytes([0x00]) + framed(version) + framed(header(1, 1, 2) + u32(1) +
                                         string("x") + strlist([])),
    bytes([0x00]) + framed(err),
    bytes([0x11]) + framed(readdir),
    bytes([0x22]) + framed(header(40, 1, 1)) + framed(chunk) + framed(end),
    bytes([0x22]) + framed(header(40, 1, 1)) + framed(chunk) + framed(cancel) +
    framed(header(40, 1, 1, 1) + string("EIO") + string("read error")),
    bytes([0x22]) + u32(PROGRESS_FLAG) + u32(40) + u32(1) + hyper(1) + hyper(2) +
    framed(header(40, 1, 1)) + framed(end),
    bytes([0x77]) + framed(readdir.replace(u32(0), u32(1), 0)),
]
for i, s in enumerate(seeds):
    write("reply", i, s)

# Calls (after the length word).
calls = [
    header(1, 0, 1),
    header(36, 0, 2) + string("/etc") + hyper(0),
    header(40, 0, 3) + string("/etc/hostname"),
    header(41, 0, 4) + string("/tmp/x") + u32(0o644),
    header(36, 0, 5) + string("/etc\0x") + hyper(0),
]
for i, s in enumerate(calls):
    write("request", i, s)

write("fstab", 0, b"# /etc/fstab\nUUID=1234-abcd / ext4 errors=remount-ro 0 1\n"
      b"LABEL=root /boot ext4 defaults 0 2\n/dev/vda2 none swap sw 0 0\n"
      b"PARTUUID=0d1e2f30-01 /home\\040dir xfs defaults 0 0\n"
      b"tmpfs /tmp tmpfs defaults 0 0\n/dev/hdb1 /srv btrfs subvol=@srv 0 0\n")

for i, p in enumerate(["/bin/true", "/lib/x86_64-linux-gnu/libdl.so.2"]):
    try:
        with open(p, "rb") as f:
            write("elf", i, f.read(65536))
    except OSError:
        pass

k = sorted(f for f in os.listdir("/boot") if f.startswith("vmlinuz-")) \
    if os.path.isdir("/boot") else []
if k:
    try:
        with open(os.path.join("/boot", k[-1]), "rb") as f:
            write("kernel", 0, f.read(32768))
    except OSError:
        pass

write("moddep", 0,
      b"kernel/fs/ext4/ext4.ko: kernel/fs/mbcache.ko kernel/fs/jbd2/jbd2.ko "
      b"kernel/lib/crc16.ko\nkernel/fs/mbcache.ko:\nkernel/fs/jbd2/jbd2.ko:\n"
      b"kernel/lib/crc16.ko:\nkernel/drivers/scsi/virtio_scsi.ko: "
      b"kernel/drivers/virtio/virtio.ko\nkernel/drivers/virtio/virtio.ko:\n"
      b"kernel/a.ko: kernel/b.ko\nkernel/b.ko: kernel/a.ko\n"
      b"\n@@\nsoftdep ext4 pre: crc32c\nsoftdep vfat post: nls_ascii\n"
      b"\n@@\nalias crc32c crc32c_generic\nalias fs-vfat vfat\n"
      b"\n@@\nkernel/fs/fat/vfat.ko\nkernel/drivers/block/loop.ko\n"
      b"\n@@\nvfat.alias=fs-vfat\0loop.alias=block-major-7\0")

write("cpio", 0, b"d /usr/bin\nf /usr/bin/x hello\nl /bin usr/bin\n"
      b"l /lib64/ld.so ../lib/x86_64-linux-gnu/ld.so\nf init #!/bin/sh\n"
      b"d a/./b\nd a/../b\nf /usr/bin/x other\n")

write("inspect", 0, b"\0Package: bash\nStatus: install ok installed\nVersion: 5.2-1\n"
      b"Architecture: amd64\nDescription: shell\n second line\n\nPackage: x\n"
      b"Status: deinstall ok config-files\nVersion: 1:2.3-4\n")
write("inspect", 1, b"\1P:musl\nV:1.2.4-r0\nA:x86_64\nT:the C library\n"
      b"U:https://musl.libc.org\n\nP:busybox\nV:1.36-r1\n")
write("inspect", 2, b"\2%NAME%\nlinux\n\n%VERSION%\n6.1-1\n\n%DESC%\nkernel\n\n"
      b"%ARCH%\nx86_64\n\n%URL%\nhttps://kernel.org\n")
write("inspect", 3, b"\3\x8e\xad\xe8\x01\0\0\0\0\0\0\0\x02\0\0\0\x10"
      b"\0\0\x03\xe8\0\0\0\x06\0\0\0\0\0\0\0\x01\0\0\x03\xe9\0\0\0\x06"
      b"\0\0\0\x05\0\0\0\x01bash\0\x35.2\0\0\0\0\0\0\0\0\0\0")
write("inspect", 4, b"\4NAME=\"Debian GNU/Linux\"\nVERSION_ID='12'\nID=debian\n"
      b"PRETTY_NAME=\"Debian \\\"bookworm\\\"\"\n# comment\nexport X=1\n")
write("inspect", 5, b"\5" + "12.4 caf\u00e9\x07\x1b[31m".encode())
