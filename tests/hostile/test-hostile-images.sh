#!/bin/bash -
# guestbox - hostile disk images against every read-only command: each
# run ends within a bound with either a clean result or exactly one
# error line, leaves no qemu and no temp dir, and never changes the
# image or opens a host file the image names.
# Copyright (C) 2026 the guestbox authors
# SPDX-License-Identifier: GPL-2.0-or-later

set -e
. "${top_srcdir:=$(dirname "$0")/../..}/tests/functions.sh"
. "$top_srcdir/tests/images.sh"
. "$top_srcdir/tests/hostile/hostile.sh"
requires_appliance
requires mkfs.ext4 qemu-img sfdisk debugfs python3 /usr/bin/time
make_workdir
I=$T/img
mkdir "$I"

# --- The images (tests/hostile/README.md), and the host files their
# headers name made FIFOs that record any open. ---
make_hostile_images "$I"
setup_fifo_traps

sums=$(cd "$I" && sha256sum *)

# --- What each cell must give (anything else: error or ok, one line). ---
expected () {
  local img=$1 cmd=$2
  case $img:$cmd in
    hostname-2G.img:virt-cat) echo sigpipe ;;
    hostname-2G.img:*) echo ok ;;
    ext4-dir-cycle.img:virt-cat) echo ok ;;
    symlink-loops.img:virt-cat) echo error ;;
    gpt-bad-crc.img:*|ext4-dir-cycle.img:*|symlink-loops.img:*) echo any ;;
    *:virt-cat|*:virt-ls) echo error ;;
    *) echo any ;;
  esac
}

worst=0
while read -r name cmd; do
  for f in $(cd "$I" && ls); do
    # shellcheck disable=SC2046
    run_bounded "$name $f" "$cmd" -a "$I/$f" $(hostile_args "$name")
    got=$(classify "$name")
    want=$(expected "$f" "$name")
    case $want:$got in
      any:error|any:ok|any:warning|ok:warning) ;;
      "$got:$got") ;;
      *) cat "$T/err" >&2
         fail "$name $f: $got (exit $RC, $ERRLINES stderr lines), expected $want" ;;
    esac
    check_no_qemu
    table_row "$f" "$name" "$got: $(head -c 100 "$T/err" | head -n1)" "$SECS" "$RSS_MB"
    worst=$(awk -v a="$worst" -v b="$SECS" 'BEGIN { print (b > a) ? b : a }')
  done
done < <(hostile_commands)
ok "every command x image: bounded, one error line or a clean result (worst ${worst}s)"

# Cells with a known right answer.
run_bounded "hostname-2G" "$VIRT_CAT" -a "$I/hostname-2G.img" /etc/hostname
[ "$(stat -c %s "$T/out")" = 1048576 ] && cmp -s -n 1048576 "$T/out" /dev/zero ||
  fail "2 GiB /etc/hostname: not 1 MiB of zeros"
ok "virt-cat of a 2 GiB sparse /etc/hostname streams zeros and stops on a closed pipe"
check_no_qemu
expect_error "backing file naming /etc/shadow" \
  "^virt-cat: error: .*backing-shadow.img.*/etc/shadow.*--format=qcow2" \
  "$VIRT_CAT" -a "$I/backing-shadow.img" /etc/hostname
expect_error "qcow2 external data file" "^virt-cat: error: .*external data file.*--format" \
  "$VIRT_CAT" -a "$I/datafile-fifo.qcow2" /etc/hostname
expect_error "vmdk text descriptor" "^virt-cat: error: .*vmdk descriptor.*--format=vmdk" \
  "$VIRT_CAT" -a "$I/vmdk-descriptor.img" /etc/hostname
expect_error "vmdk embedded descriptor" "^virt-cat: error: .*embedded descriptor.*--format=vmdk" \
  "$VIRT_CAT" -a "$I/vmdk-embedded.img" /etc/hostname
# Explicitly raw: the header is just data, nothing else is opened.
expect_error "qcow2 header with --format=raw is only data" \
  "^virt-cat: error: .*(no operating system|mount)" \
  "$VIRT_CAT" --format=raw -a "$I/backing-fifo.img" /etc/hostname
expect_error "symlink loop" "^virt-cat: error: .*/etc/hostname.*symbolic links" \
  "$VIRT_CAT" -a "$I/symlink-loops.img" /etc/hostname
check_fifo_traps

expect_eq "images unchanged" "$sums" "$(cd "$I" && sha256sum *)"
