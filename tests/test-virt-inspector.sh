#!/bin/bash -
# guestbox - virt-inspector end to end: Debian, Alpine (two OSes on one
# disk), Fedora (rpmdb.sqlite), Arch (pacman), Ubuntu (no dpkg
# database), a root with /usr and /boot on their own partitions, a
# Windows guest on NTFS (hives built here), RHEL 7 (Berkeley DB
# rpmdb), CoreOS (os-release in a separate /usr), Ubuntu whose fstab
# names devices that are not there, a disk with no OS, hostile guests
# (100 MB os-release, 1 MB dpkg field, /etc symlink loop, junk hive);
# every XML validated against our schema and libguestfs's, --json,
# --no-applications, --no-icon, --extra, --xpath, --each over 50
# images (some broken).
# Copyright (C) 2026 the guestbox authors
# SPDX-License-Identifier: GPL-2.0-or-later

set -e
. "${top_srcdir:=$(dirname "$0")/..}/tests/functions.sh"
. "$top_srcdir/tests/images.sh"
. "$top_srcdir/tests/inspector-images.sh"
requires_appliance
requires mkfs.ext4 mkfs.vfat mcopy sfdisk xmllint python3 hivexregedit mkntfs \
  rpm rpmbuild db5.3_load
make_workdir
[ -n "${KEEP_XML:-}" ] && cleanup_fn "cp $T/*.xml $KEEP_XML/ 2>/dev/null"

VI=$top_builddir/inspect/virt-inspector
RNG=$top_srcdir/inspect/virt-inspector.rng
# The schema Debian's guestfs-tools ships: default reports validate
# against it too.
LGRNG=/usr/share/doc/guestfs-tools/virt-inspector.rng.gz
[ -r "$LGRNG" ] || skip_or_fail "$LGRNG is not installed (guestfs-tools)"
zcat "$LGRNG" > "$T/lg.rng"

# q XML QUERY: run an XPath query over a saved report (no appliance).
# Attributes come out as libguestfs prints them (' dev="/dev/sda1"'):
# only their values are compared.
q () { "$VI" --xpath "$2" < "$1" | sed -E 's/^ [a-z_]+="(.*)"$/\1/'; }

validate () {
  xmllint --noout --relaxng "$RNG" "$1" 2>"$T/xmllint.err" ||
    { cat "$T/xmllint.err"; fail "$1 does not validate against the schema"; }
  xmllint --noout --relaxng "$T/lg.rng" "$1" 2>"$T/xmllint.err" ||
    { cat "$T/xmllint.err"; fail "$1 does not validate against libguestfs's schema"; }
  ok "$(basename "$1") validates against our virt-inspector.rng and libguestfs's"
}

# check XML ROOT TABLE: each line "XPATH-under-the-OS|EXPECTED" (one
# result a line, written with \n).
check () {
  local xml=$1 root=$2 path exp
  while IFS='|' read -r path exp; do
    [ -n "$path" ] || continue
    exp=$(printf '%b' "$exp")
    local base="/operatingsystems/operatingsystem[root='$root']" query
    case $path in
      count\(*|string-length\(*|string\(*)   # f(PATH) -> f(BASE/PATH)
        query="${path%%(*}($base/${path#*(}" ;;
      *) query="$base/$path" ;;
    esac
    if [ "$exp" = ">0" ]; then
      local got
      got=$(q "$xml" "$query")
      [ "${got%.*}" -gt 0 ] 2>/dev/null || fail "$root: $path: got '$got', want > 0"
      ok "$root: $path: $got"
    else
      expect_eq "$root: $path" "$exp" "$(q "$xml" "$query")"
    fi
  done
}

# --- Fixtures ---------------------------------------------------------
debian_tree "$T/deb"
alpine_tree "$T/alp"
fedora_tree "$T/fed"
arch_tree "$T/arch"
ubuntu_tree "$T/ubu"
split_trees "$T/sr" "$T/su" "$T/sb"

ext4_image "$T/deb.img" 24 "$T/deb"
ext4_image "$T/alp.img" 24 "$T/alp"
gpt_disk "$T/disk1.img" 50 "$T/deb.img" "$T/alp.img"
for d in fed arch ubu; do
  ext4_image "$T/$d.img" 24 "$T/$d"
  mbr_disk "$T/$d-disk.img" 26 "$T/$d.img"
  rm "$T/$d.img"
done
rm "$T/deb.img" "$T/alp.img"

# Split guest: root, /usr, /boot and swap on one MBR disk.
ext4_image "$T/sr.img" 16 "$T/sr" splitroot
ext4_image "$T/su.img" 16 "$T/su" splitusr
rm -f "$T/sb.img"
mkfs.ext4 -q -F -U 5e1f0000-0000-4000-8000-0000000000b0 -d "$T/sb" "$T/sb.img" 8M
truncate -s 4M "$T/sw.img"
mkswap -q -L splitswap "$T/sw.img" >/dev/null
truncate -s 48M "$T/split.img"
printf 'start=2048, size=32768, type=83\nstart=34816, size=32768, type=83\nstart=67584, size=16384, type=83\nstart=83968, size=8192, type=82\n' |
  sfdisk -q -X dos "$T/split.img" >/dev/null
dd if="$T/sr.img" of="$T/split.img" bs=512 seek=2048 conv=notrunc status=none
dd if="$T/su.img" of="$T/split.img" bs=512 seek=34816 conv=notrunc status=none
dd if="$T/sb.img" of="$T/split.img" bs=512 seek=67584 conv=notrunc status=none
dd if="$T/sw.img" of="$T/split.img" bs=512 seek=83968 conv=notrunc status=none
rm "$T/sr.img" "$T/su.img" "$T/sb.img" "$T/sw.img"

# LVM guest (the volume group made by our own appliance, tests/mklvm):
# /boot on sdf1, a PV on sdf2 holding vg0/root and vg0/data, named in
# fstab as /dev/mapper/vg0-root and /dev/vg0/data.
debian_tree "$T/lvroot"
printf '/dev/mapper/vg0-root / ext4 defaults 0 1\n/dev/vg0/data /data ext4 defaults 0 2\nLABEL=LVBOOT /boot ext4 defaults 0 2\n' \
  > "$T/lvroot/etc/fstab"
echo lvmhost > "$T/lvroot/etc/hostname"
mkdir -p "$T/lvroot/data" "$T/lvdata" "$T/lvboot"
echo "data" > "$T/lvdata/marker"
ext4_image "$T/lvroot.img" 20 "$T/lvroot" LVROOT
ext4_image "$T/lvdata.img" 8 "$T/lvdata" LVDATA
ext4_image "$T/lvboot.img" 8 "$T/lvboot" LVBOOT
truncate -s 64M "$T/lvm.img"
printf 'start=2048, size=16384, type=83\nstart=18432, type=8e\n' |
  sfdisk -q -X dos "$T/lvm.img" >/dev/null
dd if="$T/lvboot.img" of="$T/lvm.img" bs=512 seek=2048 conv=notrunc status=none
"$top_builddir/tests/mklvm" "$T/lvm.img" /dev/sda2 vg0 root:20 data:8
check_no_qemu
pv=$((18432 * 512 + 1048576))
dd if="$T/lvroot.img" of="$T/lvm.img" bs=1M seek=$((pv / 1048576)) conv=notrunc status=none
dd if="$T/lvdata.img" of="$T/lvm.img" bs=1M seek=$((pv / 1048576 + 20)) conv=notrunc status=none
rm "$T/lvroot.img" "$T/lvdata.img" "$T/lvboot.img"

# Windows: NTFS in an MBR partition at 1 MiB of a disk whose signature
# MountedDevices names for C:.
have_windows=0
if windows_ntfs "$T/win.img" 24 0x1badcafe 1048576; then
  truncate -s 26M "$T/win-disk.img"
  printf 'label: dos\nlabel-id: 0x1badcafe\nstart=2048, type=7\n' |
    sfdisk -q "$T/win-disk.img" >/dev/null
  dd if="$T/win.img" of="$T/win-disk.img" bs=1M seek=1 conv=notrunc status=none
  rm "$T/win.img"
  have_windows=1
else
  echo "note: cannot mount NTFS with ntfs-3g on this host (FUSE): Windows checks skipped"
fi

disks=(-a "$T/disk1.img" -a "$T/fed-disk.img" -a "$T/arch-disk.img"
       -a "$T/ubu-disk.img" -a "$T/split.img" -a "$T/lvm.img")
# The LVM disk is the 6th (sdf: its /boot is /dev/sdf1), Windows the 7th.
[ $have_windows = 1 ] && disks+=(-a "$T/win-disk.img")

# --- One run over every guest -----------------------------------------
"$VI" "${disks[@]}" > "$T/all.xml" 2> "$T/all.err" ||
  { cat "$T/all.err"; fail "virt-inspector on all fixtures"; }
check_no_qemu
[ ! -s "$T/all.err" ] || { cat "$T/all.err"; fail "unexpected warnings"; }
ok "no warnings on well-formed guests"
validate "$T/all.xml"

nos=7; [ $have_windows = 1 ] && nos=8
expect_eq "number of operating systems" "$nos" \
  "$(q "$T/all.xml" 'count(/operatingsystems/operatingsystem)')"
expect_eq "roots in order" \
  "$(printf '/dev/sda1\n/dev/sda2\n/dev/sdb1\n/dev/sdc1\n/dev/sdd1\n/dev/sde1'
     [ $have_windows = 1 ] && printf '\n/dev/sdg1'
     printf '\n/dev/vg0/root')" \
  "$(q "$T/all.xml" '/operatingsystems/operatingsystem/root/text()')"

check "$T/all.xml" /dev/sda1 <<'EOF'
name/text()|linux
arch/text()|x86_64
distro/text()|debian
product_name/text()|12.4
major_version/text()|12
minor_version/text()|4
package_format/text()|deb
package_management/text()|apt
hostname/text()|debhost
osinfo/text()|debian12
mountpoints/mountpoint[@dev='/dev/sda1']/text()|/
count(filesystems/filesystem)|1
filesystems/filesystem/@dev|/dev/sda1
filesystems/filesystem/type/text()|ext4
applications/application/name/text()|base-files\nheld-pkg\nlibc6\nlibedit2\nodd-status\nvim
applications/application[name='libc6']/version/text()|2.36
applications/application[name='libc6']/release/text()|9+deb12u4
applications/application[name='libc6']/source_package/text()|glibc
applications/application[name='libc6']/summary/text()|GNU C Library: Shared libraries
applications/application[name='libc6']/description/text()|Contains the standard libraries.\n.\nSecond paragraph.
applications/application[name='libedit2']/version/text()|3.1
applications/application[name='libedit2']/release/text()|20221030-2
applications/application[name='libedit2']/source_package/text()|libedit
string(applications/application[name='libedit2']/description)|Command line editor library provides generic line editing,\nhistory, and tokenization functions.\n.\nIt slightly resembles GNU readline.\n.\nThis is the third paragraph: <tags> & "quotes".
applications/application[name='odd-status']/epoch/text()|1
applications/application[name='odd-status']/version/text()|2.0~rc1
applications/application[name='odd-status']/release/text()|0.1
count(applications/application[name='held-pkg']/release)|0
string-length(icon)|>0
applications/application[name='vim']/epoch/text()|2
applications/application[name='vim']/version/text()|9.0.1378
applications/application[name='vim']/source_package/text()|vim
applications/application[name='base-files']/url/text()|https://tracker.debian.org/pkg/base-files
count(applications/application[name='removed-pkg'])|0
EOF

check "$T/all.xml" /dev/sda2 <<'EOF'
distro/text()|alpinelinux
product_name/text()|Alpine Linux v3.18
major_version/text()|3
minor_version/text()|18
package_format/text()|apk
package_management/text()|apk
hostname/text()|alphost
osinfo/text()|alpinelinux3.18
arch/text()|x86_64
applications/application/name/text()|busybox\nmusl
applications/application[name='busybox']/version/text()|1.36.1
applications/application[name='busybox']/release/text()|5
applications/application[name='musl']/url/text()|https://musl.libc.org/
applications/application[name='musl']/description/text()|the musl c library
EOF

check "$T/all.xml" /dev/sdb1 <<'EOF'
distro/text()|fedora
product_name/text()|Fedora Linux 39 (Server Edition)
major_version/text()|39
minor_version/text()|0
package_format/text()|rpm
package_management/text()|dnf
hostname/text()|fedhost.example.org
osinfo/text()|fedora39
applications/application/name/text()|bash\ngpg-pubkey\nshadow-utils
applications/application[name='bash']/version/text()|5.2.26
applications/application[name='bash']/release/text()|1.fc39
applications/application[name='bash']/arch/text()|noarch
applications/application[name='bash']/url/text()|https://www.gnu.org/software/bash
applications/application[name='shadow-utils']/url/text()|(none)
count(applications/application/publisher)|0
count(applications/application/source_package)|0
applications/application[name='shadow-utils']/epoch/text()|2
applications/application[name='gpg-pubkey']/version/text()|18b8e74c
string-length(icon)|>0
EOF

check "$T/all.xml" /dev/sdc1 <<'EOF'
distro/text()|archlinux
product_name/text()|Arch Linux
major_version/text()|0
package_format/text()|pacman
package_management/text()|pacman
hostname/text()|archhost
osinfo/text()|archlinux
applications/application/name/text()|bash\nglibc
applications/application[name='glibc']/epoch/text()|1
applications/application[name='glibc']/version/text()|2.38
applications/application[name='glibc']/release/text()|3
applications/application[name='bash']/url/text()|https://www.gnu.org/software/bash/
EOF

check "$T/all.xml" /dev/sdd1 <<'EOF'
distro/text()|ubuntu
product_name/text()|Ubuntu 22.04.3 LTS
major_version/text()|22
minor_version/text()|4
osinfo/text()|ubuntu22.04
count(applications)|1
count(applications/application)|0
EOF

check "$T/all.xml" /dev/sde1 <<'EOF'
distro/text()|debian
major_version/text()|11
hostname/text()|splithost
arch/text()|x86_64
mountpoints/mountpoint/text()|/\n/usr\n/boot
mountpoints/mountpoint[text()='/usr']/@dev|/dev/sde2
mountpoints/mountpoint[text()='/boot']/@dev|/dev/sde3
filesystems/filesystem/@dev|/dev/sde1\n/dev/sde2\n/dev/sde3\n/dev/sde4
filesystems/filesystem[@dev='/dev/sde1']/label/text()|splitroot
filesystems/filesystem[@dev='/dev/sde3']/uuid/text()|5e1f0000-0000-4000-8000-0000000000b0
filesystems/filesystem[@dev='/dev/sde4']/type/text()|swap
EOF

check "$T/all.xml" /dev/vg0/root <<'EOF'
distro/text()|debian
hostname/text()|lvmhost
mountpoints/mountpoint/text()|/\n/boot\n/data
mountpoints/mountpoint/@dev|/dev/vg0/root\n/dev/sdf1\n/dev/vg0/data
filesystems/filesystem/@dev|/dev/sdf1\n/dev/vg0/data\n/dev/vg0/root
filesystems/filesystem[@dev='/dev/vg0/root']/label/text()|LVROOT
count(applications/application)|6
EOF

if [ $have_windows = 1 ]; then
  check "$T/all.xml" /dev/sdg1 <<'EOF'
name/text()|windows
distro/text()|windows
arch/text()|x86_64
product_name/text()|Windows Server 2019 Datacenter
product_variant/text()|Server
major_version/text()|10
minor_version/text()|0
count(build_id)|0
windows_systemroot/text()|/Windows
windows_current_control_set/text()|ControlSet001
hostname/text()|WIN-GBOXTEST
osinfo/text()|win2k19
filesystems/filesystem/type/text()|ntfs
filesystems/filesystem/label/text()|WINSYS
drive_mappings/drive_mapping/@name|C
drive_mappings/drive_mapping[@name='C']/text()|/dev/sdg1
applications/application/name/text()|7-Zip\nEmptyName\n{0F3C-NPP}
applications/application/display_name/text()|7-Zip 19.00 (x64)\nNotepad++ (32-bit x86)
applications/application[name='7-Zip']/install_path/text()|C:\\Program Files\\7-Zip\\
string(applications/application[name='{0F3C-NPP}']/description)|Notepad++ & <friends>
count(icon)|0
applications/application[name='7-Zip']/version/text()|19.00
applications/application[name='7-Zip']/publisher/text()|Igor Pavlov
applications/application[name='7-Zip']/url/text()|https://www.7-zip.org/
EOF
fi

# --- --no-applications, --json ----------------------------------------
"$VI" --no-applications -a "$T/disk1.img" > "$T/noapps.xml"
check_no_qemu
validate "$T/noapps.xml"
expect_eq "--no-applications: no applications element" 0 \
  "$(q "$T/noapps.xml" 'count(//applications)')"
expect_eq "--no-applications: the OSes are still there" 2 \
  "$(q "$T/noapps.xml" 'count(//operatingsystem)')"

"$VI" --json -a "$T/disk1.img" > "$T/disk1.json"
check_no_qemu
out=$(python3 - "$T/disk1.json" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
for os in d["operatingsystems"]:
    print(os["root"], os["distro"], os["major_version"], os["minor_version"],
          os["hostname"], ",".join(m["mountpoint"] + "=" + m["dev"] for m in os["mountpoints"]),
          ",".join(a["name"] for a in os["applications"]))
EOF
)
expect_eq "--json" "/dev/sda1 debian 12 4 debhost /=/dev/sda1 base-files,held-pkg,libc6,libedit2,odd-status,vim
/dev/sda2 alpinelinux 3 18 alphost /=/dev/sda2 busybox,musl" "$out"

# --xpath with disks: the query runs over the report.
expect_eq "--xpath with -a" "debhost
alphost" "$("$VI" -a "$T/disk1.img" --no-applications --xpath '//hostname/text()')"
check_no_qemu

# --- btrfs: root and /home on subvolumes (libguestfs names) -----------
if btrfs_fedora "$T/btrfs.img" 128; then
  mbr_disk "$T/btrfs-disk.img" 130 "$T/btrfs.img"
  rm "$T/btrfs.img"
  "$VI" -a "$T/btrfs-disk.img" > "$T/btrfs.xml"
  check_no_qemu
  validate "$T/btrfs.xml"
  expect_eq "btrfs: the root" "btrfsvol:/dev/sda1/root" \
    "$(q "$T/btrfs.xml" '//operatingsystem/root/text()')"
  check "$T/btrfs.xml" btrfsvol:/dev/sda1/root <<'EOF'
distro/text()|fedora
major_version/text()|39
hostname/text()|fedhost.example.org
mountpoints/mountpoint/text()|/\n/home
mountpoints/mountpoint/@dev|btrfsvol:/dev/sda1/root\nbtrfsvol:/dev/sda1/home
filesystems/filesystem/@dev|btrfsvol:/dev/sda1/home\nbtrfsvol:/dev/sda1/root
filesystems/filesystem/type/text()|btrfs\nbtrfs
filesystems/filesystem/label/text()|fedora\nfedora
count(applications/application)|3
EOF
else
  echo "note: cannot loop-mount btrfs on this host: btrfs checks skipped"
fi

# --- RHEL 7 (Berkeley DB rpmdb), CoreOS, fstab devices not there ------
rhel7_tree "$T/rh7"
ext4_image "$T/rh7.img" 24 "$T/rh7"
mbr_disk "$T/rh7-disk.img" 26 "$T/rh7.img"
coreos_trees "$T/cor" "$T/cou"
ext4_image "$T/cor.img" 8 "$T/cor" ROOT
ext4_image "$T/cou.img" 8 "$T/cou" USR-A
truncate -s 18M "$T/coreos.img"
printf 'start=2048, size=16384, type=83\nstart=18432, size=16384, type=83\n' |
  sfdisk -q -X dos "$T/coreos.img" >/dev/null
dd if="$T/cou.img" of="$T/coreos.img" bs=512 seek=2048 conv=notrunc status=none
dd if="$T/cor.img" of="$T/coreos.img" bs=512 seek=18432 conv=notrunc status=none
ubuntu_missing_tree "$T/um" /dev/sdc1
ext4_image "$T/um.img" 24 "$T/um"
mbr_disk "$T/um-disk.img" 26 "$T/um.img"
rm "$T/rh7.img" "$T/cor.img" "$T/cou.img" "$T/um.img"
"$VI" -a "$T/rh7-disk.img" -a "$T/coreos.img" -a "$T/um-disk.img" \
  > "$T/more.xml" 2> "$T/more.err" ||
  { cat "$T/more.err"; fail "virt-inspector on RHEL 7, CoreOS, Ubuntu"; }
check_no_qemu
[ ! -s "$T/more.err" ] || { cat "$T/more.err"; fail "unexpected warnings"; }
validate "$T/more.xml"
check "$T/more.xml" /dev/sda1 <<'EOF'
distro/text()|rhel
major_version/text()|7
minor_version/text()|9
osinfo/text()|rhel7.9
package_format/text()|rpm
applications/application/name/text()|bash\ngpg-pubkey\nshadow-utils
applications/application[name='bash']/url/text()|https://www.gnu.org/software/bash
applications/application[name='shadow-utils']/epoch/text()|2
applications/application[name='shadow-utils']/url/text()|(none)
EOF
check "$T/more.xml" /dev/sdb2 <<'EOF'
name/text()|linux
distro/text()|coreos
product_name/text()|CoreOS 899.13.0
major_version/text()|899
minor_version/text()|13
hostname/text()|coreos.invalid
osinfo/text()|coreos899.13
mountpoints/mountpoint/text()|/\n/usr
mountpoints/mountpoint/@dev|/dev/sdb2\n/dev/sdb1
filesystems/filesystem/@dev|/dev/sdb1\n/dev/sdb2
filesystems/filesystem/label/text()|USR-A\nROOT
count(applications/application)|0
EOF
check "$T/more.xml" /dev/sdc1 <<'EOF'
distro/text()|ubuntu
mountpoints/mountpoint/text()|/\n/data
mountpoints/mountpoint/@dev|/dev/sdc1\n/dev/sdz1
filesystems/filesystem/@dev|/dev/mapper/cryptswap1\n/dev/sdc1\n/dev/sdz1
count(filesystems/filesystem[@dev='/dev/mapper/cryptswap1']/*)|0
count(filesystems/filesystem[@dev='/dev/sdz1']/*)|0
count(mountpoints/mountpoint[text()='/srv'])|0
EOF
expect_eq "operating systems: RHEL 7, CoreOS, Ubuntu" 3 \
  "$(q "$T/more.xml" 'count(//operatingsystem)')"

# --no-icon, --extra.
"$VI" --no-icon --extra -a "$T/rh7-disk.img" > "$T/extra.xml"
check_no_qemu
xmllint --noout --relaxng "$RNG" "$T/extra.xml" 2>"$T/xmllint.err" ||
  { cat "$T/xmllint.err"; fail "--extra does not validate against our schema"; }
check "$T/extra.xml" /dev/sda1 <<'EOF'
count(icon)|0
applications/application[name='bash']/publisher/text()|Fedora Project
applications/application[name='bash']/source_package/text()|bash-5.2.26-1.fc39.src.rpm
EOF

# --- --each: 50 images, some broken, one appliance ---------------------
# Good images are sparse copies of three guests, and random bytes (no
# OS: an empty report); broken ones are an empty file, a truncated
# qcow2 header and a file that does not exist.
mkdir -p "$T/each"
each=()
for i in $(seq -w 1 50); do
  f=$T/each/img$i.img
  case $i in
    07) : > "$f" ;;
    23) { printf 'QFI\xfb\0\0\0\3'; head -c 56 /dev/zero; } > "$f" ;;
    33) head -c 1M /dev/urandom > "$f" ;;
    41) f=$T/each/missing$i.img ;;
    *) case $((10#$i % 3)) in
         0) cp --sparse=always "$T/rh7-disk.img" "$f" ;;
         1) cp --sparse=always "$T/um-disk.img" "$f" ;;
         2) cp --sparse=always "$T/disk1.img" "$f" 2>/dev/null ||
              cp --sparse=always "$T/coreos.img" "$f" ;;
       esac ;;
  esac
  each+=("$f")
done
rc=0
"$VI" --json --no-applications --each "${each[@]}" > "$T/each.jsonl" 2> "$T/each.err" || rc=$?
check_no_qemu
expect_eq "--each: exit status with broken images" 1 "$rc"
out=$(python3 - "$T/each.jsonl" <<'EOF'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
print(len(recs))
bad = [r["image"].rsplit("/", 1)[1] for r in recs if "error" in r]
print(" ".join(bad))
good = [r for r in recs if "error" not in r]
print(len(good), sum(1 for r in good if len(r["operatingsystems"]) >= 1))
print(sorted(set(o["root"] for r in good for o in r["operatingsystems"])))
print(all(recs[i]["image"].endswith(("img%02d.img" % (i + 1), "missing%02d.img" % (i + 1))) for i in range(len(recs))))
EOF
)
expect_eq "--each: one JSON line per image, in order, errors for the broken ones" \
"50
img07.img img23.img missing41.img
47 46
['/dev/sda1', '/dev/sda2']
True" "$out"
[ "$(grep -c '^virt-inspector: error: ' "$T/each.err")" = 3 ] ||
  { cat "$T/each.err"; fail "--each: three error lines expected"; }
ok "--each: three error lines on stderr"

# --shard I/N: the shards of the first 12 images (a broken one among
# them) are disjoint and together give the unsharded records.  The
# images are named relative to their directory: a shard is chosen by a
# hash of the name as given, so that the shards are the same at every
# run (with the temp dir in the names, a shard was empty now and then).
names=("${each[@]##*/}")
for i in 1 2 3; do
  (cd "$T/each" &&
     "$VI" --json --no-applications --each --shard $i/3 \
       "${names[@]:0:12}" > "$T/shard.$i" 2>/dev/null) || true
done
check_no_qemu
expect_eq "--shard 1/3, 2/3, 3/3: the union is the unsharded run" \
  "$(head -n 12 "$T/each.jsonl" | sed "s|$T/each/||g" | sort)" \
  "$(cat "$T"/shard.[123] | sort)"
for i in 1 2 3; do
  [ -s "$T/shard.$i" ] || fail "--shard $i/3 of 12 images is empty"
done
ok "--shard: three non-empty shards"

# XML: one document per image, each valid.
"$VI" --each "${each[0]}" "${each[1]}" > "$T/each.xml"
check_no_qemu
csplit -s -z -f "$T/eachdoc" "$T/each.xml" '/^<?xml /' '{*}'
expect_eq "--each: two XML documents" 2 "$(ls "$T"/eachdoc* | wc -l)"
for d in "$T"/eachdoc*; do
  validate "$d"
done
expect_eq "--each: the image named in a comment" "1" \
  "$(grep -c "^<!-- image: ${each[1]} -->$" "$T/each.xml")"
expect_eq "--each: every image sees its disk as /dev/sda" "/dev/sda1
/dev/sda2" \
  "$(q "$T/eachdoc01" '//operatingsystem/root/text()')"
rm -rf "$T/each"

# --- No operating system ----------------------------------------------
mkdir -p "$T/data/docs"
echo "just data" > "$T/data/docs/readme.txt"
vfat_image "$T/data.img" 16 "$T/data"
mbr_disk "$T/data-disk.img" 18 "$T/data.img"
expect_eq "disk with no OS" '<?xml version="1.0"?>
<operatingsystems/>' "$("$VI" -a "$T/data-disk.img")"
check_no_qemu
expect_eq "disk with no OS (--json)" 0 \
  "$("$VI" --json -a "$T/data-disk.img" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["operatingsystems"]))')"
check_no_qemu
rm -f "$T"/*.img

# --- Hostile guests ---------------------------------------------------
# p1: a 100 MB os-release and a dpkg field of 1 MB; p2: /etc is a
# symlink loop.
debian_tree "$T/h1"
rm "$T/h1/etc/os-release"
head -c 100M /dev/zero | tr '\0' 'A' > "$T/h1/etc/os-release"
echo 12.1 > "$T/h1/etc/debian_version"
{ printf '\nPackage: big\nStatus: install ok installed\nVersion: 1.0-1\nArchitecture: amd64\nDescription: '
  head -c 1M /dev/zero | tr '\0' 'x'
  printf '\n\n'; } >> "$T/h1/var/lib/dpkg/status"
mkdir -p "$T/h2/usr/bin"
ln -s etc "$T/h2/etc"
ln -s usr/bin "$T/h2/bin"
ext4_image "$T/h1.img" 160 "$T/h1"
ext4_image "$T/h2.img" 8 "$T/h2"
gpt_disk "$T/hostile.img" 172 "$T/h1.img" "$T/h2.img"
rm "$T/h1.img" "$T/h2.img"
hostile=(-a "$T/hostile.img")
if [ $have_windows = 1 ] && windows_ntfs "$T/junk.img" 24 0x2badcafe 1048576; then
  # Replace the SOFTWARE hive with junk of the same size.
  ntfs-3g "$T/junk.img" "$T/winmnt"
  head -c 8192 /dev/urandom > "$T/winmnt/Windows/System32/config/SOFTWARE"
  umount "$T/winmnt"
  mbr_disk "$T/junk-disk.img" 26 "$T/junk.img"
  rm "$T/junk.img"
  hostile+=(-a "$T/junk-disk.img")
fi

start=$(date +%s)
rc=0
/usr/bin/time -f '%M' -o "$T/maxrss" "$VI" "${hostile[@]}" \
  > "$T/hostile.xml" 2> "$T/hostile.err" || rc=$?
secs=$(( $(date +%s) - start ))
check_no_qemu
cat "$T/hostile.err"
expect_eq "hostile guests: exit status" 0 "$rc"
validate "$T/hostile.xml"
grep -q '^virt-inspector: warning: /etc/os-release: File too large (ignored)$' "$T/hostile.err" ||
  fail "no warning about the 100 MB os-release"
ok "100 MB os-release: warning"
grep -q '^virt-inspector: warning: /var/lib/dpkg/status: Description: field longer than 1023 bytes, truncated$' "$T/hostile.err" ||
  fail "no warning about the 1 MB dpkg field"
ok "1 MB dpkg field: warning"
grep -q '^virt-inspector: warning: /dev/sda2: /etc: Too many levels of symbolic links (not inspected)$' "$T/hostile.err" ||
  fail "no warning about the /etc loop"
ok "/etc symlink loop: warning"
check "$T/hostile.xml" /dev/sda1 <<'EOF'
distro/text()|debian
major_version/text()|12
minor_version/text()|1
count(applications/application)|7
string-length(applications/application[name='big']/summary)|1023
string-length(applications/application[name='big']/description)|0
EOF
expect_eq "/etc loop: not an OS" 0 \
  "$(q "$T/hostile.xml" 'count(//operatingsystem[root="/dev/sda2"])')"
if [ ${#hostile[@]} = 4 ]; then
  grep -q '^virt-inspector: warning: /Windows/System32/config/SOFTWARE: not a valid registry hive' "$T/hostile.err" ||
    fail "no warning about the junk hive"
  ok "junk hive: warning"
  check "$T/hostile.xml" /dev/sdb1 <<'EOF'
name/text()|windows
hostname/text()|WIN-GBOXTEST
count(product_name)|0
count(applications/application)|0
EOF
fi
# Bounded: the whole run, boot included, in well under a minute even on
# a loaded host, and the command itself stays small.
[ "$secs" -lt 120 ] || fail "hostile guests took $secs s"
ok "hostile guests: $secs s, virt-inspector max RSS $(cat "$T/maxrss") KiB"
[ "$(cat "$T/maxrss")" -lt 400000 ] || fail "virt-inspector used $(cat "$T/maxrss") KiB"

# --- Icons converted as libguestfs converts them -------------------------
# Windows XP (bitmap 143 of explorer.exe) and CirrOS (its text logo):
# the PNG must be the bytes the host's own icoutils and netpbm make from
# the same files, which is what libguestfs does.  A CirrOS whose logo is
# a symlink, and one whose logo is 1025 bytes, get no icon.
if [ $have_windows = 1 ] && command -v wrestool >/dev/null &&
   command -v pbmtext >/dev/null || [ "${REQUIRE_APPLIANCE:-}" = 1 ]; then
  requires wrestool bmptopnm pnmtopng pbmtext
  windows_ntfs "$T/xp.img" 24 0x1badcafe 1048576 xp ||
    fail "cannot build the Windows XP fixture"
  truncate -s 26M "$T/xp-disk.img"
  printf 'label: dos\nlabel-id: 0x1badcafe\nstart=2048, type=7\n' |
    sfdisk -q "$T/xp-disk.img" >/dev/null
  dd if="$T/xp.img" of="$T/xp-disk.img" bs=1M seek=1 conv=notrunc status=none
  rm "$T/xp.img"
  cirros_tree "$T/cir"
  ext4_image "$T/cir.img" 12 "$T/cir"
  mbr_disk "$T/cir-disk.img" 14 "$T/cir.img"
  pbmtext < "$T/cir/usr/share/cirros/logo" | pnmtopng > "$T/cirros.png"
  mv "$T/cir/usr/share/cirros/logo" "$T/cir/usr/share/cirros/logo.txt"
  ln -s logo.txt "$T/cir/usr/share/cirros/logo"
  ext4_image "$T/cir.img" 12 "$T/cir"
  mbr_disk "$T/cirlink-disk.img" 14 "$T/cir.img"
  rm "$T/cir/usr/share/cirros/logo"
  head -c 1025 /dev/zero | tr '\0' 'x' > "$T/cir/usr/share/cirros/logo"
  ext4_image "$T/cir.img" 12 "$T/cir"
  mbr_disk "$T/cirbig-disk.img" 14 "$T/cir.img"
  rm "$T/cir.img"
  windows_explorer "$T/explorer.exe"
  wrestool -x --type=2 --name=143 "$T/explorer.exe" 2>/dev/null |
    bmptopnm 2>/dev/null | pnmtopng > "$T/xp.png" 2>/dev/null
  "$VI" -a "$T/xp-disk.img" -a "$T/cir-disk.img" -a "$T/cirlink-disk.img" \
    -a "$T/cirbig-disk.img" > "$T/icons.xml" 2> "$T/icons.err" ||
    { cat "$T/icons.err"; fail "virt-inspector on the icon fixtures"; }
  check_no_qemu
  validate "$T/icons.xml"
  check "$T/icons.xml" /dev/sda1 <<'EOT'
product_name/text()|Microsoft Windows XP
major_version/text()|5
minor_version/text()|1
osinfo/text()|winxp
EOT
  check "$T/icons.xml" /dev/sdb1 <<'EOT'
distro/text()|cirros
product_name/text()|0.5.2
osinfo/text()|cirros0.5
EOT
  for r in sda1:xp sdb1:cirros; do
    q "$T/icons.xml" "string(//operatingsystem[root='/dev/${r%%:*}']/icon)" |
      base64 -d > "$T/got.png" || fail "${r#*:}: the icon is not base64"
    cmp -s "$T/got.png" "$T/${r#*:}.png" ||
      fail "${r#*:}: the icon differs from the host's conversion"
    ok "${r#*:}: the icon is the host's conversion, $(stat -c %s "$T/got.png") bytes"
  done
  for r in sdc1 sdd1; do
    expect_eq "CirrOS logo on $r (symlink, 1025 bytes): no icon" "cirros:0" \
      "$(q "$T/icons.xml" "string(//operatingsystem[root='/dev/$r']/distro)"):$(q "$T/icons.xml" "count(//operatingsystem[root='/dev/$r']/icon)")"
  done
fi
