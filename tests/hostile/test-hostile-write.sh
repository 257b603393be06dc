#!/bin/bash -
# guestbox - hostile disk images against every command that writes
# (virt-edit, virt-zerofree, virt-sparsify in both modes, virt-resize),
# each on a fresh copy of the image: each run ends within a bound with
# either a clean result or exactly one error line, leaves no qemu, no
# temp dir and no output that looks complete, never opens a host file
# the image names, and writes nothing when it fails; what it writes when
# it succeeds still passes e2fsck.
# Copyright (C) 2026 the guestbox authors
# SPDX-License-Identifier: GPL-2.0-or-later

set -e
. "${top_srcdir:=$(dirname "$0")/../..}/tests/functions.sh"
. "$top_srcdir/tests/images.sh"
. "$top_srcdir/tests/hostile/hostile.sh"
requires_appliance
requires mkfs.ext4 qemu-img sfdisk debugfs dumpe2fs e2fsck perl python3 /usr/bin/time
make_workdir
I=$T/img
W=$T/w
mkdir "$I" "$W"

EDIT=$top_builddir/edit/virt-edit
ZEROFREE=$top_builddir/zerofree/virt-zerofree
SPARSIFY=$top_builddir/sparsify/virt-sparsify
RESIZE=$top_builddir/resize/virt-resize
for c in "$EDIT" "$ZEROFREE" "$SPARSIFY" "$RESIZE"; do
  [ -x "$c" ] || fail "$c is not built"
done

make_hostile_images "$I"
setup_fifo_traps

# One more image for the commands that write: an ext4 guest without a
# free block (debugfs fills it with a file larger than its free space).
make_linux_tree "$T/root" hostileguest
echo '/dev/sda / ext4 defaults 0 1' > "$T/root/etc/fstab"
ext4_image "$I/ext4-full.img" 24 "$T/root"
rm -rf "$T/root"
blocks=$(dumpe2fs -h "$I/ext4-full.img" 2>/dev/null | awk -F: '/^Free blocks/ { print $2 + 64 }')
bsize=$(dumpe2fs -h "$I/ext4-full.img" 2>/dev/null | awk -F: '/^Block size/ { print $2 + 0 }')
head -c $((blocks * bsize)) /dev/zero | tr '\0' x > "$T/filler"
debugfs -w -R "write $T/filler /filler" "$I/ext4-full.img" >/dev/null 2>&1 || true
rm -f "$T/filler"
[ "$(dumpe2fs -h "$I/ext4-full.img" 2>/dev/null | awk -F: '/^Free blocks/ { print $2 + 0 }')" = 0 ] &&
  e2fsck -fn "$I/ext4-full.img" >/dev/null 2>&1 ||
  fail "debugfs could not fill ext4-full.img"
# An ext4 marked not clean (as if its guest had crashed): zerofree
# refuses it, virt-sparsify's copy fills it instead.
make_linux_tree "$T/root" hostileguest
echo '/dev/sda / ext4 defaults 0 1' > "$T/root/etc/fstab"
ext4_image "$I/ext4-not-clean.img" 24 "$T/root"
rm -rf "$T/root"
debugfs -w -R "ssv state 0" "$I/ext4-not-clean.img" >/dev/null 2>&1
dumpe2fs -h "$I/ext4-not-clean.img" 2>/dev/null | grep -q "^Filesystem state: *not clean" ||
  fail "debugfs could not mark ext4-not-clean.img not clean"

# And filesystems in an MBR partition, for virt-resize to get past the
# partition table: a sound one (symlink loops inside), the directory
# cycle (e2fsck -fy repairs it on the copy before resize2fs), a broken
# superblock (refused before the output is touched), and an ext4 with
# an incompatible feature unknown to e2fsck (a sound superblock, so the
# plan passes; it fails at e2fsck, after the output was wiped).
for fs in symlink-loops ext4-dir-cycle ext4-bad-superblock; do
  mbr_disk "$I/mbr-$fs.img" 32 "$I/$fs.img"
done
mkdir "$T/root"
ext4_image "$T/unknown.img" 24 "$T/root"
rm -rf "$T/root"
debugfs -w -R "feature FEATURE_I31" "$T/unknown.img" 2>/dev/null | grep -q FEATURE_I31 ||
  fail "debugfs could not set an unknown feature"
mbr_disk "$I/mbr-ext4-unknown-feature.img" 32 "$T/unknown.img"
rm -f "$T/unknown.img"
sums=$(cd "$I" && sha256sum *)

# --- Helpers. ---

# The ext filesystem of an image: at byte 0 (a bare filesystem) or at
# 1 MiB (the first partition of these images, and of what virt-resize
# makes of them: the first partition keeps its place).  fs_check IMG
# says none (no ext superblock magic at either place), pass or fail
# (e2fsck -fn).
fs_check () {
  local img=$1 off
  for off in 0 1048576; do
    [ "$(od -An -tx1 -j $((off + 1080)) -N2 "$img" 2>/dev/null | tr -d ' ')" = 53ef ] ||
      continue
    if [ "$off" = 0 ]; then
      e2fsck -fn "$img" >/dev/null 2>&1 && echo pass || echo fail
    else
      dd if="$img" of="$W/fs.part" bs=1M skip=1 conv=sparse status=none
      e2fsck -fn "$W/fs.part" >/dev/null 2>&1 && echo pass || echo fail
      rm -f "$W/fs.part"
    fi
    return 0
  done
  echo none
}

# guest_cat IMG PATH: a file of that ext filesystem (debugfs).
guest_cat () {
  if [ "$(od -An -tx1 -j1080 -N2 "$1" | tr -d ' ')" = 53ef ]; then
    debugfs -R "cat $2" "$1" 2>/dev/null
  else
    dd if="$1" of="$W/fs.part" bs=1M skip=1 conv=sparse status=none
    debugfs -R "cat $2" "$W/fs.part" 2>/dev/null
    rm -f "$W/fs.part"
  fi
}

# A partition table (MBR signature or GPT header) on IMG?
has_table () {
  [ "$(od -An -tx1 -j510 -N2 "$1" 2>/dev/null | tr -d ' ')" = 55aa ] ||
    [ "$(od -An -c -j512 -N8 "$1" 2>/dev/null | tr -d ' ')" = EFIPART ]
}

sha () { sha256sum < "$1" | cut -d' ' -f1; }

# The baseline of every image: e2fsck before anything runs.
declare -A fsck_before
for f in $(cd "$I" && ls); do
  fsck_before[$f]=$(fs_check "$I/$f")
done

# The cells with a known answer (the others: any clean result or one
# error line).
expected () {
  case $2:$1 in
    backing-*:*|datafile-*:*|vmdk-*:*|empty.img:*|truncated.qcow2:*) echo error ;;
    hostname-2G.img:edit*) echo error ;;          # larger than 1 GiB
    ext4-full.img:edit) echo error ;;             # no room
    ext4-full.img:edit-nochange) echo ok ;;
    ext4-dir-cycle.img:edit*|mbr-ext4-dir-cycle.img:edit*) echo ok ;;
    ext4-not-clean.img:zerofree) echo error ;;    # refused, not repaired
    ext4-not-clean.img:sparsify) echo ok ;;       # filled instead
    mbr-symlink-loops.img:resize*) echo ok ;;
    mbr-ext4-unknown-feature.img:resize-expand) echo error ;;
    *:resize*) has_table "$I/$2" && echo any || echo error ;;
    *) echo any ;;
  esac
}

# --- One cell: COLUMN IMAGE [FORMAT]. ---
# The command runs on $W/IMAGE, a fresh sparse copy; virt-sparsify's
# copy and virt-resize write $W/out.img.
worst=0
cells=0
run_cell () {
  local col=$1 f=$2 fmt=${3:-} in=$W/$2 out=$W/out.img name got fired
  local before label=$2 want_fs want fo=()
  [ -z "$fmt" ] || { fo=(--format="$fmt"); label="$f --format=$fmt"; }
  rm -rf "${W:?}"/*
  cp --sparse=always "$I/$f" "$in"
  before=$(sha "$in")
  case $col in
    edit-nochange)
      name=virt-edit
      run_bounded "$col $label" "$EDIT" "${fo[@]}" -a "$in" -e 's/a/b/' /etc/hostname ;;
    edit)
      name=virt-edit
      run_bounded "$col $label" "$EDIT" "${fo[@]}" -a "$in" -e 's/e/E/' /etc/hostname ;;
    zerofree)
      name=virt-zerofree
      run_bounded "$col $label" "$ZEROFREE" "${fo[@]}" -a "$in" ;;
    sparsify)
      name=virt-sparsify
      run_bounded "$col $label" "$SPARSIFY" "${fo[@]}" "$in" "$out" ;;
    sparsify-in-place)
      name=virt-sparsify
      run_bounded "$col $label" "$SPARSIFY" "${fo[@]}" --in-place "$in" ;;
    resize|resize-expand)
      name=virt-resize
      # Twice the size, at least 16 MiB: room for a surplus partition.
      local sz
      sz=$(( $(stat -c %s "$in") * 2 ))
      [ "$sz" -ge $((16 << 20)) ] || sz=$((16 << 20))
      truncate -s "$sz" "$out"
      if [ "$col" = resize ]; then
        run_bounded "$col $label" "$RESIZE" "${fo[@]}" "$in" "$out"
      else
        run_bounded "$col $label" "$RESIZE" "${fo[@]}" --expand /dev/sda1 "$in" "$out"
      fi ;;
  esac
  got=$(classify "$name")
  # --in-place on something that cannot discard: exit 3, one error line.
  if [ "$got" = bad ] && [ "$col" = sparsify-in-place ] && [ "$RC" = 3 ] &&
     [ "$ERRLINES" = 1 ] && grep -q "^$name: error: " "$T/err"; then
    got=unsupported
  fi
  case $got in
    ok|error|warning|unsupported) ;;
    *) cat "$T/err" >&2
       fail "$col $label: $got (exit $RC, $ERRLINES stderr lines)" ;;
  esac
  if [ -z "$fmt" ]; then
    want=$(expected "$col" "$f")
    [ "$want" = any ] || [ "$want" = "$got" ] ||
      { cat "$T/err" >&2; fail "$col $label: $got, expected $want"; }
  fi
  check_no_qemu
  fired=$(fifo_traps_fired)
  [ -z "$fired" ] || fail "$col $label: a host file named by an image was opened: $fired"

  # Writes.
  case $col:$got in
    *:error|*:unsupported)
      [ "$(sha "$in")" = "$before" ] ||
        fail "$col $label: failed ($(head -n1 "$T/err")) but changed the image" ;;
  esac
  case $col in
    sparsify|resize*)
      [ "$(sha "$in")" = "$before" ] || fail "$col $label: changed its input" ;;
  esac
  [ -z "$(ls "$W" | grep '^out\.img\.tmp')" ] ||
    fail "$col $label: left $(ls "$W" | grep '^out\.img\.tmp')"
  case $col:$got in
    sparsify:ok|sparsify:warning)
      [ -f "$out" ] || fail "$col $label: succeeded without an output" ;;
    sparsify:*)
      [ ! -e "$out" ] || fail "$col $label: failed but left $out" ;;
    resize*:ok|resize*:warning)
      has_table "$out" || fail "$col $label: succeeded but the output has no partition table" ;;
    resize*:*)
      ! has_table "$out" || fail "$col $label: failed but the output has a partition table" ;;
  esac
  # What a success wrote is still a sound filesystem.
  case $col:$got in
    *:ok|*:warning)
      local result=$in
      case $col in sparsify|resize*) result=$out ;; esac
      if [ "${fsck_before[$f]}" = pass ] && [ -z "$fmt" ]; then
        want_fs=$(fs_check "$result")
        [ "$want_fs" = pass ] ||
          fail "$col $label: succeeded but e2fsck -fn of the result: $want_fs"
      fi ;;
  esac
  # No filesystem at all (random bytes, a header given as raw): there
  # is nothing to zero or trim, so nothing is written, and the copy
  # holds the same bytes.
  if [ "${fsck_before[$f]}" = none ] && [ "$got" = ok ]; then
    case $col in
      zerofree|sparsify-in-place)
        [ "$(sha "$in")" = "$before" ] ||
          fail "$col $label: no filesystem, yet the image changed" ;;
      sparsify)
        cmp -s -n "$(stat -c %s "$in")" "$in" "$out" ||
          fail "$col $label: no filesystem, yet the copy differs" ;;
    esac
  fi
  case $col:$got in
    edit-nochange:ok)
      # Nothing changed, so nothing may be written.
      [ "$(sha "$in")" = "$before" ] ||
        fail "$col $label: the file did not change but the image did" ;;
    edit:ok)
      [ "$(guest_cat "$in" /etc/hostname)" = hostilEguest ] ||
        fail "$col $label: /etc/hostname was not edited" ;;
  esac

  table_row "$label" "$col" "$got: $(head -c 100 "$T/err" | head -n1)" "$SECS" "$RSS_MB"
  worst=$(awk -v a="$worst" -v b="$SECS" 'BEGIN { print (b > a) ? b : a }')
  cells=$((cells + 1))
  return 0
}

for f in $(cd "$I" && ls); do
  for col in edit-nochange edit zerofree sparsify sparsify-in-place resize; do
    run_cell "$col" "$f"
  done
  # --expand only where there is a partition table to expand.
  if has_table "$I/$f"; then run_cell resize-expand "$f"; fi
done
ok "every write command x image ($cells runs): bounded, one error line or a clean result, nothing written on failure (worst ${worst}s)"

# The header images given as raw: their bytes are only data, nothing
# else is opened.
for f in backing-shadow.img backing-fifo.img datafile-fifo.qcow2 \
         vmdk-descriptor.img vmdk-embedded.img; do
  for col in edit zerofree sparsify sparsify-in-place resize; do
    run_cell "$col" "$f" raw
  done
done
ok "header images with --format=raw are data to every write command"

# virt-resize's output disk is probed as safely as its input: a header
# naming a host file is refused, nothing is written to it.
cp --sparse=always "$I/mbr-symlink-loops.img" "$W/in.img"
for f in backing-shadow.img backing-fifo.img datafile-fifo.qcow2 \
         vmdk-descriptor.img vmdk-embedded.img; do
  cp --sparse=always "$I/$f" "$W/$f"
  run_bounded "resize output $f" "$RESIZE" "$W/in.img" "$W/$f"
  got=$(classify virt-resize)
  [ "$got" = error ] && grep -q "refers to another file.*(--output-format=" "$T/err" ||
    { cat "$T/err" >&2; fail "virt-resize to $f: $got, expected a refusal"; }
  check_no_qemu
  cmp -s "$I/$f" "$W/$f" || fail "virt-resize to $f: the output was written"
  table_row "$f (output)" resize "$got: $(head -c 100 "$T/err" | head -n1)" "$SECS" "$RSS_MB"
done
[ -z "$(fifo_traps_fired)" ] || fail "virt-resize opened a file named by its output's header"
ok "virt-resize refuses an output disk whose header names host files"

check_fifo_traps
expect_eq "the original images unchanged" "$sums" "$(cd "$I" && sha256sum *)"
