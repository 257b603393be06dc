# guestbox - fixture guests for the virt-inspector tests, built from
# directory trees with host tools (mkfs.ext4 -d, mkntfs + ntfs-3g,
# hivexregedit into a hive made by tests/mkhive).  Sourced after
# functions.sh and images.sh.
# Copyright (C) 2026 the guestbox authors
# SPDX-License-Identifier: GPL-2.0-or-later

# base_tree DIR HOSTNAME: directories every Linux fixture has, with a
# real x86-64 binary as /bin/ls (for the architecture).
base_tree () {
  local d=$1
  mkdir -p "$d/etc" "$d/usr/bin" "$d/usr/lib" "$d/var/lib" "$d/boot" "$d/home"
  ln -s usr/bin "$d/bin"
  cp /bin/ls "$d/usr/bin/ls"
  echo "$2" > "$d/etc/hostname"
  printf '# <file system> <dir> <type> <options> <dump> <pass>\nproc /proc proc defaults 0 0\n' \
    > "$d/etc/fstab"
}

# make_png OUT W H: a valid PNG image of W x H pixels.
make_png () {
  python3 - "$@" <<'PYEOF'
import struct, sys, zlib
out, w, h = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
def chunk(t, d):
    return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)
raw = b"".join(b"\0" + bytes([(x * 7 + y * 3) & 0xff for x in range(w)]) for y in range(h))
png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0)) +
       chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))
open(out, "wb").write(png)
PYEOF
}

# debian_tree DIR: Debian 12.4 with a dpkg status of eight paragraphs
# (one package removed, so seven installed, with "Status:" words in
# several orders, multi-paragraph descriptions and an upstream version
# with a hyphen) and the Debian logo.
debian_tree () {
  local d=$1
  base_tree "$d" debhost
  printf 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\nVERSION="12 (bookworm)"\nID=debian\n' \
    > "$d/etc/os-release"
  echo 12.4 > "$d/etc/debian_version"
  echo '/dev/sda1 / ext4 defaults 0 1' > "$d/etc/fstab"
  mkdir -p "$d/var/lib/dpkg"
  cat > "$d/var/lib/dpkg/status" <<'EOF'
Package: base-files
Status: install ok installed
Priority: required
Architecture: amd64
Version: 12.4+deb12u5
Description: Debian base system miscellaneous files
 This package contains the basic filesystem hierarchy.
Homepage: https://tracker.debian.org/pkg/base-files

Package: libc6
Status: install ok installed
Architecture: amd64
Source: glibc
Version: 2.36-9+deb12u4
Description: GNU C Library: Shared libraries
 Contains the standard libraries.
 .
 Second paragraph.

Package: removed-pkg
Status: deinstall ok config-files
Architecture: all
Version: 1.0-1
Description: gone

Package: vim
Status: install ok installed
Architecture: amd64
Source: vim (2:9.0.1378-2)
Version: 2:9.0.1378-2
Description: Vi IMproved - enhanced vi editor

Package: libedit2
Status: installed ok install
Priority: optional
Architecture: amd64
Source: libedit
Version: 3.1-20221030-2
Description: BSD editline and history libraries
 Command line editor library provides generic line editing,
 history, and tokenization functions.
 .
 It slightly resembles GNU readline.
 .
 This is the third paragraph: <tags> & "quotes".
Homepage: https://www.thrysoee.dk/editline/

Package: held-pkg
Status: hold ok installed
Architecture: all
Version: 0.9
Description: a held package

Package: odd-status
Status: installed
Architecture: all
Version: 1:2.0~rc1-0.1
Description: status with one word

EOF
  mkdir -p "$d/usr/share/pixmaps"
  make_png "$d/usr/share/pixmaps/debian-logo.png" 32 32
}

# ubuntu_tree DIR: Ubuntu 22.04 (os-release + lsb-release), no dpkg
# database at all (an empty list, not a failure).
ubuntu_tree () {
  local d=$1
  base_tree "$d" ubuhost
  printf 'PRETTY_NAME="Ubuntu 22.04.3 LTS"\nNAME="Ubuntu"\nVERSION_ID="22.04"\nID=ubuntu\nID_LIKE=debian\n' \
    > "$d/etc/os-release"
  printf 'DISTRIB_ID=Ubuntu\nDISTRIB_RELEASE=22.04\n' > "$d/etc/lsb-release"
}

# ubuntu_missing_tree DIR ROOTDEV: Ubuntu whose fstab names devices
# that are not there (an encrypted swap, a disk not attached).
ubuntu_missing_tree () {
  local d=$1
  ubuntu_tree "$d"
  mkdir -p "$d/data"
  printf '%s / ext4 defaults 0 1\n/dev/mapper/cryptswap1 none swap sw 0 0\n/dev/sdz1 /data ext4 defaults 0 2\nUUID=0bad0bad-0000-4000-8000-000000000000 /srv ext4 defaults 0 2\n' \
    "$2" > "$d/etc/fstab"
}

# coreos_trees ROOT USR: a CoreOS-style guest: the root has no fstab
# and its /etc/os-release points into a separate /usr filesystem.
coreos_trees () {
  local r=$1 u=$2
  mkdir -p "$r/etc/coreos" "$r/root" "$r/home" "$r/usr" "$r/var"
  echo coreos.invalid > "$r/etc/hostname"
  echo 'GROUP=stable' > "$r/etc/coreos/update.conf"
  ln -s ../usr/share/coreos/os-release "$r/etc/os-release"
  mkdir -p "$u/bin" "$u/share/coreos" "$u/local" "$u/lib"
  cp /bin/ls "$u/bin/ls"
  printf 'NAME=CoreOS\nID=coreos\nVERSION=899.13.0\nVERSION_ID=899.13.0\nBUILD_ID=2016-03-23-0120\nPRETTY_NAME="CoreOS 899.13.0"\n' \
    > "$u/share/coreos/os-release"
  ln -s ../share/coreos/os-release "$u/lib/os-release"
}

# alpine_tree DIR: Alpine 3.18.4 with an apk database of two packages.
alpine_tree () {
  local d=$1
  base_tree "$d" alphost
  printf 'NAME="Alpine Linux"\nID=alpine\nVERSION_ID=3.18.4\nPRETTY_NAME="Alpine Linux v3.18"\n' \
    > "$d/etc/os-release"
  echo 3.18.4 > "$d/etc/alpine-release"
  mkdir -p "$d/lib/apk/db"
  printf 'C:Q1abc=\nP:musl\nV:1.2.4-r2\nA:x86_64\nT:the musl c library\nU:https://musl.libc.org/\no:musl\n\nC:Q1def=\nP:busybox\nV:1.36.1-r5\nA:x86_64\nT:Size optimized toolbox\nU:https://busybox.net/\no:busybox\n\n' \
    > "$d/lib/apk/db/installed"
}

# arch_tree DIR: Arch Linux with two pacman packages.
arch_tree () {
  local d=$1
  base_tree "$d" archhost
  printf 'NAME="Arch Linux"\nPRETTY_NAME="Arch Linux"\nID=arch\nBUILD_ID=rolling\n' \
    > "$d/etc/os-release"
  : > "$d/etc/arch-release"
  mkdir -p "$d/var/lib/pacman/local/bash-5.2.015-1" \
           "$d/var/lib/pacman/local/glibc-2.38-3"
  printf '%%NAME%%\nbash\n\n%%VERSION%%\n5.2.015-1\n\n%%DESC%%\nThe GNU Bourne Again shell\n\n%%URL%%\nhttps://www.gnu.org/software/bash/\n\n%%ARCH%%\nx86_64\n\n' \
    > "$d/var/lib/pacman/local/bash-5.2.015-1/desc"
  printf '%%NAME%%\nglibc\n\n%%VERSION%%\n1:2.38-3\n\n%%DESC%%\nGNU C Library\n\n%%ARCH%%\nx86_64\n\n' \
    > "$d/var/lib/pacman/local/glibc-2.38-3/desc"
}

# rpm_packages: three small rpm packages built once with rpmbuild
# into $T/rpms: bash (with a URL), shadow-utils (epoch 2, no URL) and a
# gpg-pubkey entry.
rpm_spec () {
  local top=$T/rpmbuild name=$1 ver=$2 rel=$3 extra=$4 summary=$5
  cat > "$top/SPECS/$name.spec" <<SPEC
Name: $name
Version: $ver
Release: $rel
Summary: $summary
License: GPL-3.0-or-later
BuildArch: noarch
$extra
%description
$summary.

Second paragraph of the description of $name.
%files
SPEC
  rpmbuild -bb --quiet --define "_topdir $top" --define "_rpmdir $T/rpms" \
    --define '_build_name_fmt %%{NAME}.rpm' "$top/SPECS/$name.spec" >/dev/null 2>&1
}
rpm_packages () {
  [ -d "$T/rpms" ] && return 0
  mkdir -p "$T/rpmbuild/SPECS" "$T/rpms"
  rpm_spec bash 5.2.26 1.fc39 'URL: https://www.gnu.org/software/bash
Vendor: Fedora Project' 'The GNU Bourne Again shell' &&
  rpm_spec shadow-utils 4.14.0 2.fc39 'Epoch: 2' 'Utilities for managing accounts' &&
  rpm_spec gpg-pubkey 18b8e74c 62f2920f '' 'Fedora (39) <fedora-39-primary@fedoraproject.org> public key'
}

# rpm_db ROOT DBPATH: the packages of rpm_packages installed (database
# only) into ROOT's rpm database at DBPATH (sqlite, Debian's rpm).
rpm_db () {
  rpm_packages || return 1
  rpm --root "$1" --dbpath "$2" --initdb 2>/dev/null &&
  rpm --root "$1" --dbpath "$2" -i --justdb --nodeps --noscripts --nosignature \
    --ignorearch --ignoreos "$T"/rpms/*.rpm 2>/dev/null
}

# fedora_tree DIR: Fedora 39 with an rpmdb.sqlite of two packages and a
# gpg-pubkey entry (written by rpm), rpm's own configuration as Fedora
# has it, and the Fedora logo.
fedora_tree () {
  local d=$1
  base_tree "$d" fedhost.example.org
  rm "$d/etc/hostname"
  mkdir -p "$d/etc/sysconfig"
  printf 'NETWORKING=yes\nHOSTNAME=fedhost.example.org\n' > "$d/etc/sysconfig/network"
  printf 'NAME="Fedora Linux"\nVERSION="39 (Server Edition)"\nID=fedora\nVERSION_ID=39\nPRETTY_NAME="Fedora Linux 39 (Server Edition)"\n' \
    > "$d/etc/os-release"
  echo 'Fedora release 39 (Thirty Nine)' > "$d/etc/fedora-release"
  printf '#!/usr/bin/python3\n' > "$d/usr/bin/dnf-3"
  ln -s dnf-3 "$d/usr/bin/dnf"
  mkdir -p "$d/usr/lib/sysimage/rpm" "$d/usr/lib/rpm" "$d/var/lib"
  printf '%%_dbpath\t\t/usr/lib/sysimage/rpm\n%%_db_backend\t\tsqlite\n' \
    > "$d/usr/lib/rpm/macros"
  : > "$d/usr/lib/rpm/rpmrc"
  ln -s ../../usr/lib/sysimage/rpm "$d/var/lib/rpm"
  rpm_db "$d" /usr/lib/sysimage/rpm || return 1
  mkdir -p "$d/usr/share/icons/hicolor/96x96/apps"
  make_png "$d/usr/share/icons/hicolor/96x96/apps/fedora-logo-icon.png" 96 96
}

# rhel7_tree DIR: RHEL 7.9 with a Berkeley DB rpm database
# (/var/lib/rpm/Packages, a hash database of header blobs written by
# db5.3_load from the blobs of an rpm-made sqlite database).
rhel7_tree () {
  local d=$1 tmp=$T/rhel7db
  base_tree "$d" rhel7host
  printf 'NAME="Red Hat Enterprise Linux Server"\nVERSION="7.9 (Maipo)"\nID="rhel"\nVERSION_ID="7.9"\nPRETTY_NAME="Red Hat Enterprise Linux Server 7.9 (Maipo)"\n' \
    > "$d/etc/os-release"
  echo 'Red Hat Enterprise Linux Server release 7.9 (Maipo)' > "$d/etc/redhat-release"
  mkdir -p "$tmp" "$d/var/lib/rpm"
  rpm_db "$tmp" /db || return 1
  python3 - "$tmp/db/rpmdb.sqlite" > "$tmp/dump.txt" <<'PYEOF' || return 1
import sqlite3, struct, sys
db = sqlite3.connect(sys.argv[1])
print("VERSION=3\nformat=bytevalue\ntype=hash\nHEADER=END")
for hnum, blob in db.execute("SELECT hnum, blob FROM Packages ORDER BY hnum"):
    print(" " + struct.pack("<I", hnum).hex())
    print(" " + bytes(blob).hex())
print("DATA=END")
PYEOF
  db5.3_load -f "$tmp/dump.txt" "$d/var/lib/rpm/Packages" || return 1
}

# split_trees ROOT USR BOOT: a root whose /usr and /boot are separate
# filesystems (found by LABEL= and UUID= in fstab); os-release only in
# /usr/lib.
split_trees () {
  local r=$1 u=$2 b=$3
  mkdir -p "$r/etc" "$r/usr" "$r/boot" "$r/var/lib"
  ln -s usr/bin "$r/bin"
  echo splithost > "$r/etc/hostname"
  ln -s ../usr/lib/os-release "$r/etc/os-release"
  printf 'LABEL=splitroot / ext4 defaults 0 1\nLABEL=splitusr /usr ext4 defaults 0 2\nUUID=5e1f0000-0000-4000-8000-0000000000b0 /boot ext4 defaults 0 2\nLABEL=splitswap none swap sw 0 0\n' \
    > "$r/etc/fstab"
  mkdir -p "$u/bin" "$u/lib"
  cp /bin/ls "$u/bin/ls"
  printf 'PRETTY_NAME="Debian GNU/Linux 11 (bullseye)"\nNAME="Debian GNU/Linux"\nVERSION_ID="11"\nID=debian\n' \
    > "$u/lib/os-release"
  mkdir -p "$b/grub"
  echo "set default=0" > "$b/grub/grub.cfg"
}

# cirros_tree DIR: a CirrOS-like guest: /etc/cirros/version and the
# text logo libguestfs draws as its icon.
cirros_tree () {
  local d=$1
  base_tree "$d" cirroshost
  mkdir -p "$d/etc/cirros" "$d/usr/share/cirros"
  echo 0.5.2 > "$d/etc/cirros/version"
  cat > "$d/usr/share/cirros/logo" <<'EOF'
   ____               ____  ____
  / __/ __ ____ ____ / __ \/ __/
 / /__ / // __// __// /_/ /\ \
 \___//_//_/  /_/   \____/___/
    http://cirros-cloud.net
EOF
  echo '/dev/sda1 / ext4 defaults 0 1' > "$d/etc/fstab"
}

# windows_explorer OUT: a PE32 file whose resources hold bitmaps 143
# (48x48, as in Windows XP's explorer.exe) and 6801 (54x162, as in
# Windows 7's), each a different pattern; with NOBITMAPS=1 none.
windows_explorer () {
  NOBITMAPS=${NOBITMAPS:-0} python3 - "$1" <<'EOF'
import os, struct, sys

def dib(w, h, seed):
    row = (w * 3 + 3) & ~3
    px = bytearray()
    for y in range(h):
        for x in range(w):
            px += bytes(((x * 5 + seed) & 255, (y * 3 + seed * 7) & 255,
                         ((x ^ y) + seed) & 255))
        px += b"\0" * (row - w * 3)
    return struct.pack("<IiiHHIIiiII", 40, w, h, 1, 24, 0, len(px),
                       2835, 2835, 0, 0) + px

bitmaps = [] if os.environ["NOBITMAPS"] == "1" else \
    [(143, dib(48, 48, 1)), (6801, dib(54, 162, 2))]
# The resource tree: type 2 (bitmap) -> name -> language 1033 -> data.
n, rva = len(bitmaps), 0x1000
l2 = 24
l3 = l2 + 16 + 8 * n
de = l3 + 24 * n
off = de + 16 * n
tree = struct.pack("<IIHHHHII", 0, 0, 0, 0, 0, 1, 2, 0x80000000 | l2)
tree += struct.pack("<IIHHHH", 0, 0, 0, 0, 0, n)
for i, (name, _) in enumerate(bitmaps):
    tree += struct.pack("<II", name, 0x80000000 | (l3 + 24 * i))
for i in range(n):
    tree += struct.pack("<IIHHHHII", 0, 0, 0, 0, 0, 1, 1033, de + 16 * i)
blobs = b""
for _, b in bitmaps:
    tree += struct.pack("<IIII", rva + off, len(b), 0, 0)
    pad = b"\0" * (-len(b) % 8)
    blobs += b + pad
    off += len(b) + len(pad)
rsrc = tree + blobs
raw = (len(rsrc) + 511) & ~511
dos = bytearray(64)
dos[0:2] = b"MZ"
struct.pack_into("<I", dos, 0x3c, 64)
coff = struct.pack("<HHIIIHH", 0x14c, 1, 0, 0, 0, 224, 0x0102)
opt = struct.pack("<HBBIIIIIIIIIHHHHHHIIIIHHIIIIII", 0x10b, 0, 0, 0, raw,
                  0, 0, 0, 0, 0x400000, 0x1000, 0x200, 5, 1, 0, 0, 5, 1,
                  0, 0x1000 + ((raw + 0xfff) & ~0xfff), 0x200, 0, 2, 0,
                  0x100000, 0x1000, 0x100000, 0x1000, 0, 16)
dirs = bytearray(128)
struct.pack_into("<II", dirs, 16, rva, len(rsrc))
sect = struct.pack("<8sIIIIIIHHI", b".rsrc", len(rsrc), rva, raw, 0x200,
                   0, 0, 0, 0, 0x40000040)
head = bytes(dos) + b"PE\0\0" + coff + opt + bytes(dirs) + sect
head += b"\0" * (0x200 - len(head))
open(sys.argv[1], "wb").write(head + rsrc + b"\0" * (raw - len(rsrc)))
EOF
}

# windows_ntfs OUT_IMAGE SIZE_MB MBR_SIG PART_START_BYTES [VERSION]: an
# NTFS filesystem with /Windows/System32/config/{SOFTWARE,SYSTEM} hives
# and cmd.exe.  C: is mapped to (MBR_SIG, PART_START_BYTES) in
# MountedDevices.  VERSION: 2019 (Windows Server 2019, the default), 7
# (Windows 7, 6.1: SysWOW64/explorer.exe with the bitmaps, and an
# explorer.exe without) or xp (Windows XP, 5.1: explorer.exe with the
# bitmaps).  Needs ntfs-3g to mount the image on the host (FUSE):
# returns 1 when that is not possible.
windows_ntfs () {
  local out=$1 mb=$2 sig=$3 start=$4 ver=${5:-2019} w=$T/win mnt=$T/winmnt
  local sigle offle
  rm -f "$out"
  truncate -s "${mb}M" "$out"
  mkntfs -F -Q -q -L WINSYS "$out" >/dev/null 2>&1 || return 1
  "$top_builddir/tests/mkhive" "$T/SOFTWARE" || return 1
  "$top_builddir/tests/mkhive" "$T/SYSTEM" || return 1
  cat > "$T/software.reg" <<'EOF'
Windows Registry Editor Version 5.00

[HKEY_LOCAL_MACHINE\SOFTWARE\Microsoft]

[HKEY_LOCAL_MACHINE\SOFTWARE\Microsoft\Windows NT]

[HKEY_LOCAL_MACHINE\SOFTWARE\Microsoft\Windows NT\CurrentVersion]
"ProductName"="Windows Server 2019 Datacenter"
"CurrentMajorVersionNumber"=dword:0000000a
"CurrentMinorVersionNumber"=dword:00000000
"CurrentVersion"="6.3"
"CurrentBuildNumber"="17763"
"InstallationType"="Server"
"EditionID"="ServerDatacenter"

[HKEY_LOCAL_MACHINE\SOFTWARE\Microsoft\Windows]

[HKEY_LOCAL_MACHINE\SOFTWARE\Microsoft\Windows\CurrentVersion]

[HKEY_LOCAL_MACHINE\SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall]

[HKEY_LOCAL_MACHINE\SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall\7-Zip]
"DisplayName"="7-Zip 19.00 (x64)"
"DisplayVersion"="19.00"
"Publisher"="Igor Pavlov"
"URLInfoAbout"="https://www.7-zip.org/"
"InstallLocation"="C:\\Program Files\\7-Zip\\"

[HKEY_LOCAL_MACHINE\SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall\KB123456]
"Comments"="a hidden update (no DisplayName)"

[HKEY_LOCAL_MACHINE\SOFTWARE\WOW6432Node]

[HKEY_LOCAL_MACHINE\SOFTWARE\WOW6432Node\Microsoft]

[HKEY_LOCAL_MACHINE\SOFTWARE\WOW6432Node\Microsoft\Windows]

[HKEY_LOCAL_MACHINE\SOFTWARE\WOW6432Node\Microsoft\Windows\CurrentVersion]

[HKEY_LOCAL_MACHINE\SOFTWARE\WOW6432Node\Microsoft\Windows\CurrentVersion\Uninstall]

[HKEY_LOCAL_MACHINE\SOFTWARE\WOW6432Node\Microsoft\Windows\CurrentVersion\Uninstall\{0F3C-NPP}]
"DisplayName"="Notepad++ (32-bit x86)"
"DisplayVersion"="8.5.8"
"Publisher"="Notepad++ Team"
"InstallLocation"="C:\\Program Files (x86)\\Notepad++"
"Comments"="Notepad++ & <friends>"

[HKEY_LOCAL_MACHINE\SOFTWARE\WOW6432Node\Microsoft\Windows\CurrentVersion\Uninstall\EmptyName]
"DisplayName"=""
"DisplayVersion"="1.0"
EOF
  case $ver in
    7) sed -i -e 's/^"ProductName"=.*/"ProductName"="Windows 7 Professional"/' \
              -e '/^"CurrentM/d' -e 's/^"CurrentVersion"=.*/"CurrentVersion"="6.1"/' \
              -e 's/^"CurrentBuildNumber"=.*/"CurrentBuildNumber"="7601"/' \
              -e 's/^"InstallationType"=.*/"InstallationType"="Client"/' \
              -e 's/^"EditionID"=.*/"EditionID"="Professional"/' "$T/software.reg" ;;
    xp) sed -i -e 's/^"ProductName"=.*/"ProductName"="Microsoft Windows XP"/' \
              -e '/^"CurrentM/d' -e 's/^"CurrentVersion"=.*/"CurrentVersion"="5.1"/' \
              -e 's/^"CurrentBuildNumber"=.*/"CurrentBuildNumber"="2600"/' \
              -e '/^"InstallationType"=/d' -e '/^"EditionID"=/d' "$T/software.reg" ;;
  esac
  # MountedDevices data for an MBR partition: the disk signature and
  # the partition's byte offset, little-endian.
  sigle=$(printf '%08x' "$sig" | sed 's/\(..\)\(..\)\(..\)\(..\)/\4,\3,\2,\1/')
  offle=$(printf '%016x' "$start" | sed 's/\(..\)\(..\)\(..\)\(..\)\(..\)\(..\)\(..\)\(..\)/\8,\7,\6,\5,\4,\3,\2,\1/')
  cat > "$T/system.reg" <<EOF
Windows Registry Editor Version 5.00

[HKEY_LOCAL_MACHINE\\SYSTEM\\Select]
"Current"=dword:00000001

[HKEY_LOCAL_MACHINE\\SYSTEM\\ControlSet001]

[HKEY_LOCAL_MACHINE\\SYSTEM\\ControlSet001\\Control]

[HKEY_LOCAL_MACHINE\\SYSTEM\\ControlSet001\\Control\\ComputerName]

[HKEY_LOCAL_MACHINE\\SYSTEM\\ControlSet001\\Control\\ComputerName\\ComputerName]
"ComputerName"="WIN-GBOXTEST"

[HKEY_LOCAL_MACHINE\\SYSTEM\\ControlSet001\\Services]

[HKEY_LOCAL_MACHINE\\SYSTEM\\ControlSet001\\Services\\Tcpip]

[HKEY_LOCAL_MACHINE\\SYSTEM\\ControlSet001\\Services\\Tcpip\\Parameters]
"Hostname"="WIN-GBOXTEST"

[HKEY_LOCAL_MACHINE\\SYSTEM\\MountedDevices]
"\\\\DosDevices\\\\C:"=hex:$sigle,$offle
"\\\\DosDevices\\\\E:"=hex:de,ad,be,ef,00,00,10,00,00,00,00,00
EOF
  hivexregedit --merge --prefix 'HKEY_LOCAL_MACHINE\SOFTWARE' "$T/SOFTWARE" "$T/software.reg" || return 1
  hivexregedit --merge --prefix 'HKEY_LOCAL_MACHINE\SYSTEM' "$T/SYSTEM" "$T/system.reg" || return 1
  mkdir -p "$mnt"
  ntfs-3g "$out" "$mnt" 2>/dev/null || return 1
  mkdir -p "$mnt/Windows/System32/config" "$mnt/Program Files"
  cp "$T/SOFTWARE" "$T/SYSTEM" "$mnt/Windows/System32/config/"
  # cmd.exe: a PE32+ x86-64 header is all the architecture needs.
  python3 - "$mnt/Windows/System32/cmd.exe" <<'EOF'
import struct, sys
pe = bytearray(512)
pe[0:2] = b"MZ"
struct.pack_into("<I", pe, 0x3c, 0x80)
pe[0x80:0x84] = b"PE\0\0"
struct.pack_into("<HHIIIHH", pe, 0x84, 0x8664, 0, 0, 0, 0, 0xf0, 0x22)
struct.pack_into("<H", pe, 0x98, 0x20b)       # PE32+
struct.pack_into("<H", pe, 0x98 + 68, 3)      # subsystem: console
open(sys.argv[1], "wb").write(bytes(pe))
EOF
  case $ver in
    7) mkdir -p "$mnt/Windows/SysWOW64"
       windows_explorer "$mnt/Windows/SysWOW64/explorer.exe" &&
         NOBITMAPS=1 windows_explorer "$mnt/Windows/explorer.exe" ||
         { umount "$mnt"; return 1; } ;;
    xp) windows_explorer "$mnt/Windows/explorer.exe" ||
         { umount "$mnt"; return 1; } ;;
  esac
  umount "$mnt"
}

# btrfs_fedora OUT_IMAGE SIZE_MB: a Fedora-like guest on btrfs with
# subvolumes "root" (/) and "home" (/home), as Fedora installs it.
# Needs a loop mount on the host (the image is our own): returns 1 when
# that is not possible.
btrfs_fedora () {
  local out=$1 mb=$2 mnt=$T/btrfsmnt uuid
  rm -f "$out"
  truncate -s "${mb}M" "$out"
  mkfs.btrfs -q -f -L fedora "$out" >/dev/null 2>&1 || return 1
  uuid=$(blkid -o value -s UUID "$out") || return 1
  mkdir -p "$mnt"
  mount -o loop "$out" "$mnt" 2>/dev/null || return 1
  if btrfs -q subvolume create "$mnt/root" >/dev/null &&
     btrfs -q subvolume create "$mnt/home" >/dev/null; then
    fedora_tree "$mnt/root"
    printf 'UUID=%s / btrfs subvol=root,compress=zstd:1 0 0\nUUID=%s /home btrfs subvol=home,compress=zstd:1 0 0\n' \
      "$uuid" "$uuid" > "$mnt/root/etc/fstab"
    mkdir -p "$mnt/home/user"
    echo hi > "$mnt/home/user/notes"
    umount "$mnt"
  else
    umount "$mnt"
    return 1
  fi
}

# fedora_gpt OUT_IMAGE ESP_UUID: Fedora's default layout on a GPT disk:
# a BIOS boot partition (1 MiB, no filesystem), ext4 /boot, and btrfs
# (btrfs_fedora: subvolumes root and home, compress=zstd:1) with an
# fstab naming /boot by UUID and a /boot/efi (vfat, ESP_UUID) that
# lives on another disk.  Returns 1 when the btrfs cannot be built.
fedora_gpt () {
  local out=$1 esp_uuid=$2 mnt=$T/fedmnt buuid
  btrfs_fedora "$T/fed-btrfs.img" 128 || return 1
  mkdir -p "$T/fedboot/grub2" "$T/fedboot/efi" "$mnt"
  echo 'set default=0' > "$T/fedboot/grub2/grub.cfg"
  ext4_image "$T/fed-boot.img" 32 "$T/fedboot" boot
  buuid=$(blkid -o value -s UUID "$T/fed-boot.img")
  mount -o loop "$T/fed-btrfs.img" "$mnt" 2>/dev/null || return 1
  printf 'UUID=%s /boot ext4 defaults 1 2\nUUID=%s /boot/efi vfat umask=0077,shortname=winnt 0 2\n' \
    "$buuid" "$esp_uuid" >> "$mnt/root/etc/fstab"
  echo fedhost > "$mnt/root/etc/hostname"
  mkdir -p "$mnt/root/boot/efi" "$mnt/root/etc/dnf"
  printf '[main]\ngpgcheck=True\n' > "$mnt/root/etc/dnf/dnf.conf"
  umount "$mnt"
  rm -f "$out"
  truncate -s 200M "$out"
  printf 'start=2048, size=2048, type=21686148-6449-6E6F-744E-656564454649\nstart=4096, size=65536, type=linux\nstart=69632, size=262144, type=linux\n' |
    sfdisk -q -X gpt "$out" >/dev/null
  dd if="$T/fed-boot.img" of="$out" bs=512 seek=4096 conv=notrunc,sparse status=none
  dd if="$T/fed-btrfs.img" of="$out" bs=512 seek=69632 conv=notrunc,sparse status=none
  rm -f "$T/fed-boot.img" "$T/fed-btrfs.img"
}

# esp_gpt OUT_IMAGE VOLUME_ID: a GPT disk with one EFI system partition
# of 64 MiB, FAT32 as mkfs.fat makes it (512-byte clusters at this
# size), holding EFI/fedora/grub.cfg and EFI/BOOT/BOOTX64.EFI.
esp_gpt () {
  local out=$1 id=$2
  rm -f "$T/esp.fat" "$out"
  mkfs.fat -F 32 -i "$id" -n ESP -C "$T/esp.fat" 65536 >/dev/null
  mmd -i "$T/esp.fat" ::/EFI ::/EFI/fedora ::/EFI/BOOT
  printf 'search --fs-uuid --set=dev\nconfigfile ($dev)/grub2/grub.cfg\n' > "$T/esp-grub.cfg"
  mcopy -i "$T/esp.fat" "$T/esp-grub.cfg" ::/EFI/fedora/grub.cfg
  head -c 3000 /dev/zero | tr '\0' 'x' > "$T/esp-boot.efi"
  mcopy -i "$T/esp.fat" "$T/esp-boot.efi" ::/EFI/BOOT/BOOTX64.EFI
  truncate -s 66M "$out"
  printf 'start=2048, size=131072, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B\n' |
    sfdisk -q -X gpt "$out" >/dev/null
  dd if="$T/esp.fat" of="$out" bs=512 seek=2048 conv=notrunc,sparse status=none
  rm -f "$T/esp.fat" "$T/esp-grub.cfg" "$T/esp-boot.efi"
}

# windows_disk OUT_IMAGE USER: windows_ntfs in an MBR partition at
# 1 MiB of a disk whose signature is the one MountedDevices maps C: to,
# with the files a Windows guest has under
# Windows/System32/drivers/etc and Users/USER/Documents.  Returns 1
# when NTFS cannot be built here (ntfs-3g through FUSE).
windows_disk () {
  local out=$1 user=$2 mnt=$T/windiskmnt
  windows_ntfs "$T/win-part.img" 40 0x1badcafe 1048576 || return 1
  mkdir -p "$mnt"
  ntfs-3g "$T/win-part.img" "$mnt" 2>/dev/null || return 1
  mkdir -p "$mnt/Windows/System32/drivers/etc" \
           "$mnt/Users/$user/Documents" "$mnt/Users/Public"
  printf '# Copyright (c) 1993-2009 Microsoft Corp.\r\n127.0.0.1       localhost\r\n' \
    > "$mnt/Windows/System32/drivers/etc/hosts"
  printf 'Read me.\r\nSecond line.\r\n' > "$mnt/Users/$user/Documents/readme.txt"
  printf 'notes\r\n' > "$mnt/Users/$user/Documents/Notes Today.txt"
  printf '[.ShellClassInfo]\r\n' > "$mnt/Users/Public/desktop.ini"
  umount "$mnt"
  # ntfs-3g may still be writing the image after the unmount.
  for _ in $(seq 50); do fuser -s "$T/win-part.img" 2>/dev/null || break; sleep 0.1; done
  rm -f "$out"
  truncate -s 42M "$out"
  printf 'label: dos\nlabel-id: 0x1badcafe\nstart=2048, type=7\n' |
    sfdisk -q "$out" >/dev/null
  dd if="$T/win-part.img" of="$out" bs=1M seek=1 conv=notrunc,sparse status=none
  rm -f "$T/win-part.img"
}
