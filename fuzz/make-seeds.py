#!/usr/bin/env python3
# guestbox - write the fuzzers' seed corpora (fuzz/seeds/NAME/): valid
# protocol messages, small real host files, typical parser inputs.
# Copyright (C) 2026 the guestbox authors
# SPDX-License-Identifier: GPL-2.0-or-later
#
#   python3 make-seeds.py [--mkhive PATH] [SEEDDIR]
#
# The registry hives (seeds/hive/) are written by hivex itself: an
# empty hive from tests/mkhive, filled with `hivexregedit --merge`.

import os
import struct
import subprocess
import sys
import tempfile

here = os.path.dirname(os.path.abspath(__file__))
args = sys.argv[1:]
mkhive = os.path.join(here, "..", "tests", "mkhive")
if args[:1] == ["--mkhive"]:
    mkhive = args[1]
    args = args[2:]
out = args[0] if args else os.path.join(here, "seeds")

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

# Hostile flows (fuzz-hostile.c): the first byte picks the flow.
def part(num, start, size, ebr, mbr_type):
    return (u32(num) + hyper(start) + hyper(size) + hyper(ebr) +
            u32(mbr_type) + u32(0) + string("") + string("") + string("") +
            hyper(0))


MiB = 1 << 20
layout = header(350, 1, 1) + string("dos") + hyper(200 * MiB) + u32(512) + \
    string("0x1") + u32(4) + b"\xeb\0\0\0" + u32(4) + \
    part(1, MiB, 40 * MiB, 0, 0x83) + part(2, 41 * MiB, 100 * MiB, 0, 5) + \
    part(5, 42 * MiB, 30 * MiB, 41 * MiB, 0x83) + \
    part(6, 73 * MiB, 30 * MiB, 72 * MiB, 0x82)
sums = header(104, 1, 1) + u32(1) + string("hostname") + \
    string("d41d8cd98f00b204e9800998ecf8427e") + u32(0) + hyper(1)
hostile = [
    bytes([0x00]) + framed(readdir),
    bytes([0x01]) + framed(sums),
    bytes([0x03]) + framed(layout),
    bytes([0x43]) + framed(layout),
    bytes([0x04]) + framed(header(40, 1, 1)) + framed(chunk) + framed(end),
]
for i, s in enumerate(hostile):
    write("hostile", i, s)

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
# Executable headers: a 64-bit LSB ELF (x86-64), a PE32+ (x86-64).
write("inspect", 6, b"\6\x7fELF\2\1\1" + bytes(9) + struct.pack("<HH", 3, 62)
      + bytes(44))
write("inspect", 7, b"\6MZ" + bytes(0x3a) + struct.pack("<I", 0x40)
      + b"PE\0\0" + struct.pack("<H", 0x8664) + bytes(18)
      + struct.pack("<H", 0x20b) + bytes(64))


# Registry hives (fuzz-hive.c): the first byte says which hive file the
# rest is (0 = SOFTWARE, 1 = SYSTEM, 2 = both).  A key is a path below
# the hive's root and a list of (name, .reg value) pairs.
def reg_string(s):
    return '"%s"' % s.replace("\\", "\\\\").replace('"', '\\"')


def reg_hex(b, kind=""):
    return "hex%s:%s" % (kind, ",".join("%02x" % c for c in b))


def reg_sz(s):
    return reg_hex((s + "\0").encode("utf-16-le"), "(1)")


def reg_expand(s):
    return reg_hex((s + "\0").encode("utf-16-le"), "(2)")


def reg_multi(l):
    return reg_hex(("\0".join(l) + "\0\0").encode("utf-16-le"), "(7)")


def dword(v):
    return "dword:%08x" % v


def hive(keys):
    prefix = "HKEY_LOCAL_MACHINE\\H"
    text = ["Windows Registry Editor Version 5.00", ""]
    seen = set()
    for path, values in keys:
        parts = path.split("\\")
        for i in range(1, len(parts) + 1):
            k = "\\".join(parts[:i])
            if k in seen and i < len(parts):
                continue
            seen.add(k)
            text.append("[%s\\%s]" % (prefix, k))
            if i == len(parts):
                text += ["%s=%s" % (reg_string(n), v) for n, v in values]
            text.append("")
    with tempfile.TemporaryDirectory() as d:
        h, r = os.path.join(d, "hive"), os.path.join(d, "hive.reg")
        with open(r, "w", encoding="utf-8") as f:
            f.write("\n".join(text))
        subprocess.run([mkhive, h], check=True)
        subprocess.run(["hivexregedit", "--merge", "--prefix", prefix, h, r],
                       check=True)
        with open(h, "rb") as f:
            return f.read()


CV = "Microsoft\\Windows NT\\CurrentVersion"
UN = "Microsoft\\Windows\\CurrentVersion\\Uninstall"
UN32 = "WOW6432Node\\" + UN
MBR_C = bytes.fromhex("78563412") + struct.pack("<Q", 1048576)
# GPT partition GUIDs 6f3a8d2c-1b4e-4c5d-9e7f-0a1b2c3d4e5f and
# 03020100-0504-0706-0809-0a0b0c0d0e0f (fuzz-hive.c's partition list
# holds them), mixed-endian as Windows stores them.
GPT_D = b"DMIO:ID:" + bytes.fromhex("2c8d3a6f4e1b5d4c9e7f0a1b2c3d4e5f")
GPT_X = b"DMIO:ID:" + bytes(range(16))

server2019 = [
    (CV, [("ProductName", reg_string("Windows Server 2019 Datacenter")),
          ("CurrentMajorVersionNumber", dword(10)),
          ("CurrentMinorVersionNumber", dword(0)),
          ("CurrentVersion", reg_string("6.3")),
          ("CurrentBuildNumber", reg_string("17763")),
          ("InstallationType", reg_string("Server"))]),
    (UN + "\\7-Zip", [("DisplayName", reg_string("7-Zip 19.00 (x64)")),
                      ("DisplayVersion", reg_string("19.00")),
                      ("Publisher", reg_string("Igor Pavlov")),
                      ("URLInfoAbout", reg_string("https://www.7-zip.org/"))]),
    (UN + "\\KB123456", [("Comments", reg_string("a hidden update"))]),
    (UN32 + "\\{0F3C-NPP}", [("DisplayName", reg_string("Notepad++ (32-bit)")),
                             ("DisplayVersion", reg_string("8.5.8")),
                             ("Publisher", reg_string("Notepad++ Team"))]),
]
win7 = [
    (CV, [("ProductName", reg_string("Windows 7 Professional")),
          ("CurrentVersion", reg_string("6.1")),
          ("CurrentBuild", reg_string("7601")),
          ("InstallationType", reg_expand("Client")),
          ("DigitalProductId", reg_hex(bytes(range(32))))]),
    (UN + "\\App", [("DisplayName", reg_expand("caf\u00e9 \u2603 app")),
                    ("DisplayVersion", dword(3)),
                    ("Publisher", reg_multi(["a", "b"])),
                    ("Comments", reg_sz("line1\nline2\t\x01\x1b[31m"))]),
    (UN + "\\Empty", [("DisplayName", reg_string(""))]),
]
system = [
    ("Select", [("Current", dword(1)), ("Default", dword(1))]),
    ("ControlSet001\\Control\\ComputerName\\ComputerName",
     [("ComputerName", reg_string("WIN-GBOXTEST"))]),
    ("ControlSet001\\Services\\Tcpip\\Parameters",
     [("Hostname", reg_string(""))]),
    ("MountedDevices", [("\\DosDevices\\C:", reg_hex(MBR_C)),
                        ("\\DosDevices\\D:", reg_hex(GPT_D)),
                        ("\\DosDevices\\E:", reg_hex(GPT_X)),
                        ("\\DosDevices\\F:", reg_string("not binary")),
                        ("\\DosDevices\\GG:", reg_hex(GPT_D)),
                        ("\\??\\Volume{6f3a8d2c}", reg_hex(GPT_D))]),
]
system2 = [
    ("Select", [("Current", dword(2))]),
    ("ControlSet001", []),
    ("ControlSet002\\Services\\Tcpip\\Parameters",
     [("Hostname", reg_string("gbox-host"))]),
    ("MountedDevices", [("\\DosDevices\\d:", reg_hex(GPT_D))]),
]
win11 = [
    (CV, [("ProductName", reg_string("Windows 10 Pro")),
          ("CurrentMajorVersionNumber", dword(10)),
          ("CurrentMinorVersionNumber", dword(0)),
          ("CurrentBuildNumber", reg_string("22631")),
          ("InstallationType", reg_string("Client"))]),
    (UN + "\\Git_is1", [("DisplayName", reg_string("Git")),
                        ("DisplayVersion", reg_string("2.44.0"))]),
]
# Inputs of fixed findings: a version DWORD of 0x7fffffff overflowed
# major * 10 + minor; a minor of 11 read as version 6.1 (5.11 -> win7);
# one drive letter twice; an empty DisplayName listed as a program; no
# drive letters without the control set.
bad_versions = [
    (CV, [("ProductName", reg_string("Windows Server")),
          ("CurrentMajorVersionNumber", dword(0x7fffffff)),
          ("CurrentMinorVersionNumber", dword(0xffffffff))]),
]
alias = [(CV, [("CurrentVersion", reg_string("5.11")),
               ("CurrentBuild", reg_string("99999999999999999999999"))])]
twice = [("MountedDevices", [("\\DosDevices\\e:", reg_hex(GPT_X)),
                             ("\\DosDevices\\D:", reg_hex(GPT_D)),
                             ("\\DosDevices\\d:", reg_hex(GPT_D))])]
hives = [
    (0, server2019), (0, win7), (1, system), (1, system2),
    (2, win11 + system), (0, bad_versions), (4, alias),
    (1, [("ControlSet001", [])] + twice), (5, twice),
]
for i, (sel, keys) in enumerate(hives):
    write("hive", i, bytes([sel]) + hive(keys))


def repeated(keys, path, n, m):
    """A hive where the subkeys of PATH are its child N times, which has
    its first value M times (new hive bins for the two lists)."""
    h = bytearray(hive(keys))
    u16 = lambda o: struct.unpack_from("<H", h, o)[0]
    u32 = lambda o: struct.unpack_from("<I", h, o)[0]

    def child(nk, name):                # nk: offsets in the file
        lf = u32(nk + 0x20) + 0x1000
        for i in range(u16(lf + 6)):
            c = u32(lf + 8 + 8 * i) + 0x1000
            if h[c + 0x50:c + 0x50 + u16(c + 0x4c)].decode() == name:
                return c
        raise KeyError(name)

    def cell(payload):                  # one cell in a new hive bin
        size = (len(payload) + 4 + 7) & ~7
        page = (size + 0x20 + 0xfff) & ~0xfff
        b = bytearray(page)
        b[0:4] = b"hbin"
        struct.pack_into("<II", b, 4, len(h) - 0x1000, page)
        struct.pack_into("<i", b, 0x20, -size)
        b[0x24:0x24 + len(payload)] = payload
        if page - 0x20 - size:
            struct.pack_into("<i", b, 0x20 + size, page - 0x20 - size)
        off = len(h) + 0x20 - 0x1000
        h.extend(b)
        struct.pack_into("<I", h, 0x28, len(h) - 0x1000)
        return off

    parent = node = u32(0x24) + 0x1000
    for name in path.split("\\") + [keys[-1][0].split("\\")[-1]]:
        parent, node = node, child(node, name)
    first = u32(u32(node + 0x2c) + 0x1000 + 4)
    struct.pack_into("<II", h, parent + 0x18, n, 0)
    struct.pack_into("<I", h, parent + 0x20,
                     cell(b"lf" + struct.pack("<H", n) +
                          struct.pack("<II", node - 0x1000, 0) * n))
    struct.pack_into("<II", h, node + 0x28, m,
                     cell(struct.pack("<I", first) * m))
    return bytes(h)                     # (the harness fixes the checksum)


# Inspection walked every value of an Uninstall entry for each of the
# names it looks up: 3000 entries of 5000 values were 90 million
# values for a 57 KB hive (a 1 MB one: hours).
write("hive", len(hives), b"\0" + repeated(
    [(UN + "\\App", [("DisplayName", reg_string("x"))])], UN, 3000, 5000))
write("hive", len(hives) + 1, b"\0" + repeated(
    [(UN + "\\App", [("DisplayName", reg_string("x"))])], UN, 2000, 40))
hives += [None, None]

# Bit 3: the bytes are also /boot.ini.
boot_ini = [
    b"[boot loader]\r\ntimeout=30\r\n"
    b"default=multi(0)disk(0)rdisk(0)partition(1)\\WINDOWS\r\n"
    b"[operating systems]\r\nmulti(0)disk(0)rdisk(0)partition(1)\\WINDOWS="
    b'"Microsoft Windows XP Professional" /fastdetect\r\n',
    b"[boot loader]\ndefault=multi(0)disk(0)rdisk(0)partition(2)\\WINNT\n",
    b"default=\\\ndefault=C:\\..\\Windows\n",
]
for j, b in enumerate(boot_ini):
    write("hive", len(hives) + j, bytes([0x08 | j]) + b)

# A libFuzzer dictionary (fuzz.mk passes it): cell signatures and the
# key and value names inspection looks up.
words = [b"regf", b"hbin", b"nk", b"vk", b"sk", b"lf", b"lh", b"li", b"ri",
         b"db", b"\xff\xff\xff\x7f", b"\x00\x00\x00\x80",
         b"\x04\x00\x00\x80", b"\x80\x00\x00\x00",
         b"\\DosDevices\\", b"DMIO:ID:"]
words += [w.encode() for w in (
    "Microsoft", "Windows NT", "CurrentVersion", "ProductName",
    "CurrentMajorVersionNumber", "CurrentMinorVersionNumber",
    "CurrentBuildNumber", "CurrentBuild", "InstallationType", "Server",
    "Windows", "Uninstall", "WOW6432Node", "DisplayName", "DisplayVersion",
    "Publisher", "URLInfoAbout", "Comments", "Select", "Current",
    "ControlSet001", "Services", "Tcpip", "Parameters", "Hostname",
    "Control", "ComputerName", "MountedDevices")]
with open(os.path.join(out, "hive.dict"), "w") as f:
    for w in words:
        f.write('"%s"\n' % "".join(chr(c) if 32 <= c < 127 and c not in b'"\\'
                                    else "\\x%02x" % c for c in w))
