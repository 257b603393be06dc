#!/bin/bash -
# guestbox - virt-ls end to end on a directory holding every file type:
# plain, -l (the format of `ls -la`), -R, -lR, --csv; and on vfat.
# Copyright (C) 2026 the guestbox authors
# SPDX-License-Identifier: GPL-2.0-or-later

set -e
. "${top_srcdir:=$(dirname "$0")/..}/tests/functions.sh"
. "$top_srcdir/tests/images.sh"
requires_appliance
requires mkfs.ext4 mkfifo mkfs.vfat mcopy
make_workdir
export TZ=UTC LC_ALL=C

u=$(id -u) g=$(id -g)
R=$T/root
mkdir -p "$R/etc" "$R/usr/bin" "$R/d/sub"
ln -s usr/bin "$R/bin"
cp /bin/true "$R/usr/bin/"
echo lsguest > "$R/etc/hostname"
echo '/dev/sda / ext4 defaults 0 1' > "$R/etc/fstab"
(
  cd "$R/d"
  printf hello > file
  : > empty; chmod 600 empty
  printf '#!/bin/sh\n' > exec; chmod 755 exec
  ln -s file link
  ln -s /etc/hostname abslink
  mkfifo fifo
  ln file hard
  echo x > "with space"
  mkdir sticky; chmod 1777 sticky
  printf y > suid; chmod 4755 suid
  echo z > sub/inner
  chmod 755 . sub
  find . -exec touch -h -d '2024-01-02 03:04:05 UTC' {} +
  # Recent files show the time of day instead of the year.
  touch -d "$(date -u -d '-1 day' '+%Y-%m-%d') 10:00:00 UTC" file hard
)
recent=$(date -u -d '-1 day' '+%b %e')
ext4_image "$T/disk.img" 32 "$R"

out=$("$VIRT_LS" -a "$T/disk.img" /d)
expect_eq "plain listing, sorted" "abslink
empty
exec
fifo
file
hard
link
sticky
sub
suid
with space" "$out"
check_no_qemu

# -l prints what `ls -la` prints: numeric owners, 1 KiB ext4 blocks.
# The line for ".." (the root, its time set by mkfs) is checked apart.
# total: 1 KiB blocks of ., .., exec, file, hard, sticky, sub, suid and
# "with space" (symlinks are inline, fifo and empty have none).
out=$("$VIRT_LS" -l -a "$T/disk.img" /d)
expect_eq "-l" "total 9
drwxr-xr-x 4 $u $g 1024 Jan  2  2024 .
lrwxrwxrwx 1 $u $g   13 Jan  2  2024 abslink -> /etc/hostname
-rw------- 1 $u $g    0 Jan  2  2024 empty
-rwxr-xr-x 1 $u $g   10 Jan  2  2024 exec
prw-r--r-- 1 $u $g    0 Jan  2  2024 fifo
-rw-r--r-- 2 $u $g    5 $recent 10:00 file
-rw-r--r-- 2 $u $g    5 $recent 10:00 hard
lrwxrwxrwx 1 $u $g    4 Jan  2  2024 link -> file
drwxrwxrwt 2 $u $g 1024 Jan  2  2024 sticky
drwxr-xr-x 2 $u $g 1024 Jan  2  2024 sub
-rwsr-xr-x 1 $u $g    1 Jan  2  2024 suid
-rw-r--r-- 1 $u $g    2 Jan  2  2024 with space" "$(echo "$out" | grep -v ' \.\.$')"
echo "$out" | grep -qE "^drwxr-xr-x 6 [0-9]+ [0-9]+ 1024 [A-Z][a-z]{2} [ 0-9]{2} [0-9:]{5} \.\.$" ||
  fail "-l: the '..' line (root: lost+found, etc, usr, d): $(echo "$out" | grep ' \.\.$')"
ok "-l: the '..' line"
check_no_qemu

out=$("$VIRT_LS" -R -a "$T/disk.img" /d)
expect_eq "-R" "/abslink
/empty
/exec
/fifo
/file
/hard
/link
/sticky
/sub
/sub/inner
/suid
/with space" "$out"
check_no_qemu

out=$("$VIRT_LS" -lR -a "$T/disk.img" /d)
expect_eq "-lR" "d 0755       1024 /d
l 0777         13 /d/abslink -> /etc/hostname
- 0600          0 /d/empty
- 0755         10 /d/exec
p 0644          0 /d/fifo
- 0644          5 /d/file
- 0644          5 /d/hard
l 0777          4 /d/link -> file
d 1777       1024 /d/sticky
d 0755       1024 /d/sub
- 0644          2 /d/sub/inner
- 4755          1 /d/suid
- 0644          2 /d/with space" "$out"
check_no_qemu

out=$("$VIRT_LS" --csv -lR -a "$T/disk.img" /d/sub)
expect_eq "--csv -lR" "d,0755,1024,/d/sub
-,0644,2,/d/sub/inner" "$out"
check_no_qemu

# --json: one object a file with every field; numbers as numbers.
out=$("$VIRT_LS" --json -lR --checksum=sha256 -a "$T/disk.img" /d/sub)
expect_eq "--json -lR" \
"{\"path\":\"/d/sub\",\"type\":\"d\",\"mode\":493,\"size\":1024,\"uid\":$u,\"gid\":$g,\"atime\":1704164645,\"mtime\":1704164645,\"ctime\":CTIME,\"dev\":2048,\"ino\":INO,\"nlink\":2,\"rdev\":0,\"blocks\":2}
{\"path\":\"/d/sub/inner\",\"type\":\"-\",\"mode\":420,\"size\":2,\"uid\":$u,\"gid\":$g,\"atime\":1704164645,\"mtime\":1704164645,\"ctime\":CTIME,\"dev\":2048,\"ino\":INO,\"nlink\":1,\"rdev\":0,\"blocks\":2,\"checksum\":\"$(printf 'z\n' | sha256sum | cut -d' ' -f1)\"}" \
  "$(printf '%s\n' "$out" | sed -E 's/"ctime":[0-9]+/"ctime":CTIME/; s/"ino":[0-9]+/"ino":INO/')"
expect_eq "--json without -lR" \
  "virt-ls: error: --csv, -h, --uids, --times, --extra-stats, --checksum and --json can only be used with -lR" \
  "$("$VIRT_LS" --json -a "$T/disk.img" /d 2>&1 | head -1)"
check_no_qemu

# vfat on an explicit -m.  Under "/" the libguestfs tool prints the paths
# without a leading slash (and under /d as "/name"); so do we.
mkdir -p "$T/fat/DIR"
echo a > "$T/fat/a.txt"; echo bb > "$T/fat/DIR/b.txt"
vfat_image "$T/fat.img" 8 "$T/fat"
out=$("$VIRT_LS" -R -a "$T/fat.img" -m /dev/sda /)
expect_eq "vfat -R" "DIR
DIR/b.txt
a.txt" "$out"
check_no_qemu

expect_error "missing directory" "^virt-ls: error: .*/nonexistent.*No such file" \
  "$VIRT_LS" -a "$T/disk.img" /nonexistent
