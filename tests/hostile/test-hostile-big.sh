#!/bin/bash -
# guestbox - a directory of 100 000 entries and a 1 GiB file through
# virt-ls and virt-cat: right output, and the command's own peak memory
# (VmHWM, qemu excluded) stays bounded: the file is streamed in chunks,
# so its peak is that of a tiny file.
# Copyright (C) 2026 the guestbox authors
# SPDX-License-Identifier: GPL-2.0-or-later

set -e
. "$top_srcdir/tests/functions.sh"
. "$top_srcdir/tests/images.sh"
requires_appliance
requires mkfs.ext4
make_workdir

# mkfs.ext4 -d fills a directory in quadratic time: 100 000 entries take
# minutes, so make check uses fewer (HUGE_DIR_ENTRIES=100000 by hand).
: "${HUGE_DIR_ENTRIES:=10000}"
make_linux_tree "$T/root" bigguest
echo '/dev/sda / ext4 defaults 0 1' > "$T/root/etc/fstab"
mkdir "$T/root/huge" "$T/root/small"
( cd "$T/root/huge" && seq -f 'file-%07g' "$HUGE_DIR_ENTRIES" | xargs touch )
touch "$T/root/small/a" "$T/root/small/b"
truncate -s 1G "$T/root/data/big"
mkfs.ext4 -q -F -N $((HUGE_DIR_ENTRIES + 4096)) -d "$T/root" "$T/disk.img" 256M

# peak_kb OUTFILE CMD...: run CMD (stdout to OUTFILE), sampling its own
# VmHWM until it exits; sets PEAK_KB and RC.
peak_kb () {
  local out=$1 pid hwm
  shift
  "$@" > "$out" 2> "$T/err" &
  pid=$!
  PEAK_KB=0
  while kill -0 $pid 2>/dev/null; do
    hwm=$(awk '/^VmHWM:/ { print $2 }' /proc/$pid/status 2>/dev/null || true)
    [ -n "$hwm" ] && [ "$hwm" -gt "$PEAK_KB" ] && PEAK_KB=$hwm
    sleep 0.05
  done
  RC=0
  wait $pid || RC=$?
  [ $RC = 0 ] || { cat "$T/err" >&2; fail "$*: exit status $RC"; }
}

# A first run may (re)build the appliance in-process: not measured.
"$VIRT_LS" -a "$T/disk.img" /small > /dev/null
peak_kb "$T/small.out" "$VIRT_LS" -a "$T/disk.img" /small
small=$PEAK_KB
peak_kb "$T/huge.out" "$VIRT_LS" -a "$T/disk.img" /huge
huge=$PEAK_KB
expect_eq "virt-ls of $HUGE_DIR_ENTRIES entries: count" "$HUGE_DIR_ENTRIES" "$(wc -l < "$T/huge.out")"
expect_eq "virt-ls of $HUGE_DIR_ENTRIES entries: sorted, first and last" \
  "file-0000001 file-$(printf %07d "$HUGE_DIR_ENTRIES")" \
  "$(head -n1 "$T/huge.out") $(tail -n1 "$T/huge.out")"
echo "virt-ls peak RSS: 2 entries $((small / 1024)) MB, $HUGE_DIR_ENTRIES entries $((huge / 1024)) MB"
# The names are sorted, so they are held: about 100 bytes each, bounded.
[ $((huge - small)) -lt $((HUGE_DIR_ENTRIES / 1024 * 300 + 8192)) ] ||
  fail "virt-ls of a huge directory: peak RSS grew by $(( (huge - small) / 1024 )) MB"
ok "virt-ls huge directory: memory grows by $(( (huge - small) / 1024 )) MB for $HUGE_DIR_ENTRIES names"
peak_kb "$T/hugel.out" "$VIRT_LS" -a "$T/disk.img" -lR /huge
hugel=$PEAK_KB
expect_eq "virt-ls -lR of $HUGE_DIR_ENTRIES entries: count" "$((HUGE_DIR_ENTRIES + 1))" "$(wc -l < "$T/hugel.out")"
echo "virt-ls -lR peak RSS: $((hugel / 1024)) MB"

peak_kb "$T/small.out" "$VIRT_CAT" -a "$T/disk.img" /etc/hostname
small=$PEAK_KB
peak_kb /dev/null "$VIRT_CAT" -a "$T/disk.img" /data/big
big=$PEAK_KB
echo "virt-cat peak RSS: 11-byte file $((small / 1024)) MB, 1 GiB file $((big / 1024)) MB"
[ $((big - small)) -lt 8192 ] ||
  fail "virt-cat of 1 GiB: peak RSS grew by $(( (big - small) / 1024 )) MB (not streamed)"
ok "virt-cat of 1 GiB streams in constant memory (+$(( (big - small) / 1024 )) MB)"
check_no_qemu
