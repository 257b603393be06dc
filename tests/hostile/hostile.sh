# guestbox - helpers for the hostile-input tests (tests/hostile/).
# Sourced after tests/functions.sh and tests/images.sh.
# Copyright (C) 2026 the guestbox authors
# SPDX-License-Identifier: GPL-2.0-or-later

# Every run is bounded: a command that takes longer is a hang.
: "${HOSTILE_BOUND:=120}"

# The read-only commands that exist in this build: NAME PATH.
hostile_commands () {
  local c
  for c in cat/virt-cat ls/virt-ls df/virt-df inspect/virt-inspector; do
    [ -x "$top_builddir/$c" ] && echo "$(basename "$c") $top_builddir/$c"
  done
  return 0
}

# The arguments a read-only command is tried with on any image.
hostile_args () {
  case $1 in
    virt-cat) echo /etc/hostname ;;
    virt-ls) echo -lR / ;;
    *) ;;
  esac
}

# run_bounded LABEL CMD...: run CMD with stdout through "head -c 1M"
# (a huge output ends in SIGPIPE, never fills the disk), bounded in
# time, measuring its peak RSS (qemu included: it is a waited-for
# descendant).  Sets RC, SECS, RSS_MB, ERRLINES; stdout in $T/out,
# stderr in $T/err.
run_bounded () {
  local label=$1 t0 t1
  shift
  t0=$(date +%s.%N)
  { local r=0
    timeout -k 5 "$HOSTILE_BOUND" /usr/bin/time -f %M -o "$T/rss" \
      "$@" 2>"$T/err" </dev/null || r=$?
    echo $r > "$T/rc"; } | head -c 1M > "$T/out"
  t1=$(date +%s.%N)
  RC=$(cat "$T/rc")
  SECS=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
  RSS_MB=$(awk '/^[0-9]+$/ { printf "%d", $1 / 1024 }' "$T/rss" 2>/dev/null)
  ERRLINES=$(wc -l < "$T/err")
  [ "$RC" != 124 ] && [ "$RC" != 137 ] || {
    cat "$T/err" >&2; fail "$label: still running after ${HOSTILE_BOUND}s"; }
}

# classify: error (exit 1, exactly one stderr line of the command's
# error format), ok (exit 0, silent stderr), warning (exit 0, a few
# warning lines), sigpipe (killed by SIGPIPE
# writing to a closed output, silent stderr), or bad.
classify () {
  local name=$1
  if [ "$RC" = 1 ] && [ "$ERRLINES" = 1 ] && \
     grep -q "^$name: error: " "$T/err"; then
    echo error
  elif [ "$RC" = 0 ] && [ "$ERRLINES" = 0 ]; then
    echo ok
  elif [ "$RC" = 0 ] && [ "$ERRLINES" -le 8 ] && \
       ! grep -qv "^$name: warning: " "$T/err"; then
    echo warning
  elif [ "$RC" = 141 ] && [ "$ERRLINES" = 0 ]; then
    echo sigpipe
  else
    echo bad
  fi
}

# A results table row: printed, and appended to $HOSTILE_TABLE if set.
table_row () {
  local row="| $1 | $2 | $3 | $4 s | $5 MB |"
  echo "row: $row"
  if [ -n "${HOSTILE_TABLE:-}" ]; then echo "$row" >> "$HOSTILE_TABLE"; fi
  return 0
}

# A FIFO that records being opened: the proof that no process (qemu,
# qemu-img) opened a host file named by an image.  fifo_trap PATH;
# fifo_opened PATH says yes/no and releases the watcher.
fifo_trap () {
  rm -f "$1" "$1.opened"
  mkfifo "$1"
  ( : > "$1"; echo opened > "$1.opened" ) &
  cleanup_fn "exec 9<>'$1'; exec 9>&-"
}
fifo_opened () {
  if [ -e "$1.opened" ]; then echo yes; else
    exec 9<>"$1"; sleep 0.2; exec 9>&-
    rm -f "$1.opened"
    echo no
  fi
}

# fifo_traps_fired: the traps (among $HOSTILE_FIFOS) opened so far,
# without releasing them (so they keep recording).
HOSTILE_FIFOS="backing datafile extent embedded"
fifo_traps_fired () {
  local f
  for f in $HOSTILE_FIFOS; do
    [ ! -e "$T/$f.fifo.opened" ] || echo "$f"
  done
  return 0
}

# setup_fifo_traps: make the host files named by the headers of
# make_hostile_images ($T/NAME.fifo) FIFOs that record an open.
# check_fifo_traps (at the end): fails if any was opened, and
# releases them.
setup_fifo_traps () {
  local f
  for f in $HOSTILE_FIFOS; do fifo_trap "$T/$f.fifo"; done
}
check_fifo_traps () {
  local f
  for f in $HOSTILE_FIFOS; do
    [ "$(fifo_opened "$T/$f.fifo")" = no ] ||
      fail "a host file named by an image ($f) was opened"
  done
  ok "no host file named by an image header was ever opened"
}

# make_hostile_images DIR: the hostile images (tests/hostile/README.md)
# in DIR.  The headers that name host files name $T/NAME.fifo (see
# setup_fifo_traps, to call once the images exist).  Needs mkfs.ext4,
# qemu-img, sfdisk, debugfs and python3.
make_hostile_images () {
  local I=$1 W=$T/hostile-build
  rm -rf "$W"
  mkdir -p "$W" "$I"

  : > "$I/empty.img"
  head -c 511 /dev/urandom > "$I/511-bytes.img"
  head -c 8M /dev/urandom > "$I/random.img"

  qemu-img create -q -f qcow2 "$I/truncated.qcow2" 64M
  truncate -s 100 "$I/truncated.qcow2"

  # Headers naming host files.
  qemu-img create -q -f qcow2 -b /etc/shadow -F raw "$I/backing-shadow.img" 16M
  qemu-img create -q -f qcow2 -u -b "$T/backing.fifo" -F raw "$I/backing-fifo.img" 16M
  # qemu-img wants the data file to exist when it makes the image.
  rm -f "$T/datafile.fifo"
  echo x > "$T/datafile.fifo"
  qemu-img create -q -f qcow2 -o data_file="$T/datafile.fifo" "$I/datafile-fifo.qcow2" 16M
  printf '# Disk DescriptorFile\nversion=1\nCID=fffffffe\nparentCID=ffffffff\ncreateType="monolithicFlat"\nRW 32768 FLAT "%s" 0\n' \
    "$T/extent.fifo" > "$I/vmdk-descriptor.img"
  python3 - "$I/vmdk-embedded.img" "$T/embedded.fifo" <<'PY'
import struct, sys
hdr = bytearray(512)
hdr[0:4] = b"KDMV"
# version 1, flags 3, capacity 0, grain 128, descriptor at sector 1.
struct.pack_into("<IIQQQQ", hdr, 4, 1, 3, 0, 128, 1, 1)
desc = ('# Disk DescriptorFile\nversion=1\nCID=fffffffe\nparentCID=ffffffff\n'
        'createType="monolithicFlat"\nRW 2048 FLAT "%s" 0\n' % sys.argv[2])
open(sys.argv[1], "wb").write(bytes(hdr) + desc.encode().ljust(512, b"\0") +
                              bytes(1 << 20))
PY

  # Partition tables.
  truncate -s 16M "$I/mbr-beyond-end.img"
  python3 - "$I/mbr-beyond-end.img" <<'PY'
import struct, sys
f = open(sys.argv[1], "r+b")
# Two partitions: one far past the end, one overlapping it and wrapping.
e1 = struct.pack("<B3sB3sII", 0x80, b"\0\0\0", 0x83, b"\0\0\0", 2048, 0x7fffffff)
e2 = struct.pack("<B3sB3sII", 0, b"\0\0\0", 0x83, b"\0\0\0", 0xfffffff0, 0x100)
f.seek(446); f.write(e1 + e2); f.seek(510); f.write(b"\x55\xaa")
PY

  make_linux_tree "$W/root" hostileguest
  echo '/dev/sda1 / ext4 defaults 0 1' > "$W/root/etc/fstab"
  ext4_image "$W/part.img" 24 "$W/root"
  gpt_disk "$I/gpt-bad-crc.img" 32 "$W/part.img"
  python3 - "$I/gpt-bad-crc.img" <<'PY'
import os, sys
f = open(sys.argv[1], "r+b")
size = os.path.getsize(sys.argv[1])
for lba in (1, size // 512 - 1):        # primary and backup headers
    f.seek(lba * 512 + 16); crc = f.read(4)
    f.seek(lba * 512 + 16); f.write(bytes(b ^ 0xff for b in crc))
PY

  # Filesystems.
  echo '/dev/sda / ext4 defaults 0 1' > "$W/root/etc/fstab"
  ext4_image "$I/ext4-bad-superblock.img" 24 "$W/root"
  # Keep the magic (so it is probed and mounted), break the geometry.
  printf '\x40\x00\x00\x00' | dd of="$I/ext4-bad-superblock.img" bs=1 seek=1048 conv=notrunc status=none
  printf '\xff\xff\xff\xff' | dd of="$I/ext4-bad-superblock.img" bs=1 seek=1028 conv=notrunc status=none

  mkdir -p "$W/root/data/a/b"
  ext4_image "$I/ext4-dir-cycle.img" 24 "$W/root"
  debugfs -w -R "ln /data /data/a/b/loop" "$I/ext4-dir-cycle.img" >/dev/null 2>&1
  debugfs -R "ls /data/a/b" "$I/ext4-dir-cycle.img" 2>/dev/null | grep -q loop ||
    fail "debugfs could not make the directory cycle"
  rm -rf "$W/root/data/a"

  rm "$W/root/etc/hostname"
  ln -s hostname2 "$W/root/etc/hostname"
  ln -s hostname "$W/root/etc/hostname2"
  ext4_image "$I/symlink-loops.img" 24 "$W/root"
  mv "$W/root/etc" "$W/etc.saved"
  ln -s /etc "$W/root/etc"
  ext4_image "$I/etc-symlink-loop.img" 24 "$W/root"
  rm "$W/root/etc"; mv "$W/etc.saved" "$W/root/etc"
  rm "$W/root/etc/hostname" "$W/root/etc/hostname2"
  truncate -s 2G "$W/root/etc/hostname"
  ext4_image "$I/hostname-2G.img" 32 "$W/root"
  rm -rf "$W"
}
