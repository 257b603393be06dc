#!/bin/bash -
# guestbox - a directory of 100 000 entries and a 1 GiB file through
# virt-ls and virt-cat: right output, and the command's own peak memory
# (VmHWM, qemu excluded) stays bounded: the names of a directory are
# held (sorted), so they cost a bounded amount each; the file is
# streamed in chunks, so its peak is that of a tiny file.
# Copyright (C) 2026 the guestbox authors
# SPDX-License-Identifier: GPL-2.0-or-later

set -e
. "${top_srcdir:=$(dirname "$0")/../..}/tests/functions.sh"
. "$top_srcdir/tests/images.sh"
requires_appliance
requires mkfs.ext4 e2fsck debugfs /usr/bin/time
MKBIGDIR=$top_builddir/tests/mkbigdir
[ -x "$MKBIGDIR" ] || fail "$MKBIGDIR is not built (make -C tests mkbigdir)"
make_workdir

# The image: mkfs.ext4 -d makes the small tree and an empty /huge, then
# mkbigdir fills /huge in one linear pass (mkfs.ext4 -d links entries in
# quadratic time: 9 minutes for 100 000).
: "${HUGE_DIR_ENTRIES:=100000}"
N=$HUGE_DIR_ENTRIES
t0=$(date +%s.%N)
make_linux_tree "$T/root" bigguest
echo '/dev/sda / ext4 defaults 0 1' > "$T/root/etc/fstab"
mkdir "$T/root/huge" "$T/root/small"
touch "$T/root/small/a" "$T/root/small/b"
truncate -s 1G "$T/root/data/big"
mkfs.ext4 -q -F -N $((N + 4096)) -d "$T/root" "$T/disk.img" 256M > /dev/null
"$MKBIGDIR" "$T/disk.img" /huge "$N"
# A valid filesystem as written (no repair needed) ...
e2fsck -fn "$T/disk.img" > "$T/fsck.out" 2>&1 ||
  { cat "$T/fsck.out" >&2; fail "e2fsck -fn after mkbigdir"; }
# ... then indexed as an htree, as a real big directory is.
rc=0
e2fsck -fyD "$T/disk.img" > "$T/fsck.out" 2>&1 || rc=$?
[ $rc -le 1 ] || { cat "$T/fsck.out" >&2; fail "e2fsck -fyD: exit status $rc"; }
e2fsck -fn "$T/disk.img" > "$T/fsck.out" 2>&1 ||
  { cat "$T/fsck.out" >&2; fail "e2fsck -fn after e2fsck -fyD"; }
flags=$(debugfs -R 'stat /huge' "$T/disk.img" 2>/dev/null |
        sed -n 's/.*Flags: \(0x[0-9a-f]*\).*/\1/p')
[ -n "$flags" ] && [ $((flags & 0x1000)) != 0 ] ||
  fail "/huge is not an htree directory (flags '$flags')"
secs=$(echo "$(date +%s.%N) $t0" | awk '{ printf "%.1f", $1 - $2 }')
ok "ext4 image with $N entries in /huge (htree, e2fsck clean) built in $secs s"

# peak_kb OUTFILE CMD...: run CMD (stdout to OUTFILE) under
# /usr/bin/time -v, sampling CMD's own VmHWM until it exits; sets
# PEAK_KB (CMD alone), TIME_KB (time's "Maximum resident set size":
# the largest of CMD and its waited-for children, so qemu) and SECS.
peak_kb () {
  local out=$1 pid child= hwm rc=0
  shift
  "$TIME" -v -o "$T/time" "$@" > "$out" 2> "$T/err" &
  pid=$!
  PEAK_KB=0
  while kill -0 $pid 2>/dev/null; do
    [ -n "$child" ] || child=$(pgrep -P $pid 2>/dev/null || true)
    if [ -n "$child" ]; then
      hwm=$(awk '/^VmHWM:/ { print $2 }' /proc/$child/status 2>/dev/null || true)
      [ -n "$hwm" ] && [ "$hwm" -gt "$PEAK_KB" ] && PEAK_KB=$hwm
    fi
    sleep 0.02
  done
  wait $pid || rc=$?
  [ $rc = 0 ] || { cat "$T/err" "$T/time" >&2; fail "$*: exit status $rc"; }
  [ "$PEAK_KB" -gt 0 ] || fail "$*: VmHWM never sampled"
  TIME_KB=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$T/time")
  SECS=$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$T/time")
}
TIME=/usr/bin/time

# A first run may (re)build the appliance in-process: not measured.
"$VIRT_LS" -a "$T/disk.img" /small > /dev/null
peak_kb "$T/small.out" "$VIRT_LS" -a "$T/disk.img" /small
small=$PEAK_KB
expect_eq "virt-ls of 2 entries" "a b" "$(echo $(cat "$T/small.out"))"
echo "virt-ls /small (2 entries): $SECS, peak RSS $small KiB (VmHWM), $TIME_KB KiB with qemu (time -v)"
peak_kb "$T/huge.out" "$VIRT_LS" -a "$T/disk.img" /huge
huge=$PEAK_KB
echo "virt-ls /huge ($N entries): $SECS, peak RSS $huge KiB (VmHWM), $TIME_KB KiB with qemu (time -v)"
expect_eq "virt-ls of $N entries: count" "$N" "$(wc -l < "$T/huge.out")"
expect_eq "virt-ls of $N entries: sorted, first and last" \
  "file-0000001 file-$(printf %07d "$N")" \
  "$(head -n1 "$T/huge.out") $(tail -n1 "$T/huge.out")"
seq -f 'file-%07g' "$N" | cmp -s - "$T/huge.out" ||
  fail "virt-ls of $N entries: not every name, in order"
# The names are sorted, so they are held: a struct gbox_dirent (a
# 16-field stat, name and link pointers: 144 bytes) and two small heap
# strings (32 bytes each) are about 210 bytes a name, the array grows
# by doubling, and one reply page (at most 4 MiB) is held while it is
# decoded: measured 270 bytes a name (26 MiB for 100 000).  The bound,
# 512 bytes a name plus 16 MiB (65 MiB for 100 000), scales with N and
# leaves room for allocator slack, yet catches a per-name cost twice
# the expected one, and anything O(N) per name or per page (a copy of
# the list per page: +100 MiB here) by far.
bound=$((N / 2 + 16384))
[ $((huge - small)) -lt $bound ] ||
  fail "virt-ls of a huge directory: peak RSS grew by $(( (huge - small) / 1024 )) MiB (bound $((bound / 1024)) MiB)"
ok "virt-ls huge directory: memory grows by $(( (huge - small) / 1024 )) MiB for $N names (bound $((bound / 1024)) MiB)"

peak_kb "$T/hugel.out" "$VIRT_LS" -a "$T/disk.img" -lR /huge
hugel=$PEAK_KB
echo "virt-ls -lR /huge ($N entries): $SECS, peak RSS $hugel KiB (VmHWM), $TIME_KB KiB with qemu (time -v)"
expect_eq "virt-ls -lR of $N entries: count" "$((N + 1))" "$(wc -l < "$T/hugel.out")"
expect_eq "virt-ls -lR of $N entries: last line" \
  "- 0644          0 /huge/file-$(printf %07d "$N")" "$(tail -n1 "$T/hugel.out")"
# -lR holds the same entries (and prints them as it goes): same bound.
[ $((hugel - small)) -lt $bound ] ||
  fail "virt-ls -lR of a huge directory: peak RSS grew by $(( (hugel - small) / 1024 )) MiB (bound $((bound / 1024)) MiB)"
ok "virt-ls -lR huge directory: memory grows by $(( (hugel - small) / 1024 )) MiB (bound $((bound / 1024)) MiB)"

# A hostile directory of more than one reply page where one name holds
# a NUL byte: readdir shows it cut short ("file"), which cannot be
# stat'ed, so it is skipped; the next page must still start right
# after the last name sent (no entry twice, none lost).  Linear and
# without checksums, so that one byte of the image changes the name.
M=30000
mkdir "$T/root2" "$T/root2/huge"
mkfs.ext4 -q -F -O ^metadata_csum,^dir_index -N $((M + 100)) \
  -d "$T/root2" "$T/nul.img" 64M > /dev/null
"$MKBIGDIR" "$T/nul.img" /huge "$M"
offs=$(grep -obUa 'file-0000005' "$T/nul.img" | cut -d: -f1)
[ "$(echo "$offs" | wc -w)" = 1 ] || fail "file-0000005 found $(echo "$offs" | wc -w) times in nul.img"
printf '\0' | dd of="$T/nul.img" bs=1 seek=$((offs + 4)) conv=notrunc status=none
"$VIRT_LS" -a "$T/nul.img" -m /dev/sda /huge > "$T/nul.out"
seq -f 'file-%07g' "$M" | grep -vx file-0000005 | cmp -s - "$T/nul.out" ||
  fail "virt-ls of $M entries, one with a NUL byte: $(wc -l < "$T/nul.out") lines, $(sort "$T/nul.out" | uniq -d | wc -l) twice"
ok "virt-ls of $M entries, one with a NUL byte: the other $((M - 1)), each once, in order"

peak_kb "$T/small.out" "$VIRT_CAT" -a "$T/disk.img" /etc/hostname
small=$PEAK_KB
peak_kb /dev/null "$VIRT_CAT" -a "$T/disk.img" /data/big
big=$PEAK_KB
echo "virt-cat peak RSS: 11-byte file $small KiB, 1 GiB file $big KiB ($SECS)"
[ $((big - small)) -lt 8192 ] ||
  fail "virt-cat of 1 GiB: peak RSS grew by $(( (big - small) / 1024 )) MiB (not streamed)"
ok "virt-cat of 1 GiB streams in constant memory (+$(( (big - small) / 1024 )) MiB)"
check_no_qemu
