#!/bin/bash -
# guestbox - hostile disk images through virt-filesystems, virt-tar-out,
# virt-copy-out, virt-tar-in and virt-copy-in (the writing ones on a
# fresh copy of the image): each run ends within a bound with either a
# clean result or exactly one error line, leaves no qemu and no temp
# dir, never opens a host file the image names, never changes an image
# it only reads, and virt-copy-out writes nothing outside its
# directory.
# Copyright (C) 2026 the guestbox authors
# SPDX-License-Identifier: GPL-2.0-or-later

set -e
. "${top_srcdir:=$(dirname "$0")/../..}/tests/functions.sh"
. "$top_srcdir/tests/images.sh"
. "$top_srcdir/tests/hostile/hostile.sh"
requires_appliance
requires mkfs.ext4 qemu-img sfdisk debugfs python3 bsdtar /usr/bin/time
make_workdir
I=$T/img
W=$T/w
mkdir "$I" "$W"
VF=$top_builddir/filesystems/virt-filesystems
C=$top_builddir/copy

make_hostile_images "$I"
setup_fifo_traps
sums=$(cd "$I" && sha256sum *)
mkdir "$T/in"; echo seed > "$T/in/seed.txt"
bsdtar -cf "$T/in.tar" -C "$T/in" seed.txt

# A listing of everything under $T but the output directories, to prove
# that nothing is written elsewhere.
outside () {
  find "$T" -path "$T/co" -prune -o -path "$W" -prune -o -path "$T/tmp" -prune \
    -o -path "$T/out" -prune -o -path "$T/err" -prune -o -path "$T/rc" -prune \
    -o -path "$T/rss" -prune -o -print | sort
}
before=$(outside)

worst=0
cell () {                       # IMAGE NAME CMD...
  local f=$1 name=$2 got
  shift 2
  run_bounded "$name $f" "$@"
  got=$(classify "$name")
  case $got in
    error|ok|warning) ;;
    *) cat "$T/err" >&2
       fail "$name $f: $got (exit $RC, $ERRLINES stderr lines)" ;;
  esac
  check_no_qemu
  table_row "$f" "$name" "$got: $(head -c 100 "$T/err" | head -n1)" "$SECS" "$RSS_MB"
  worst=$(awk -v a="$worst" -v b="$SECS" 'BEGIN { print (b > a) ? b : a }')
}

for f in $(cd "$I" && ls); do
  cell "$f" virt-filesystems "$VF" -a "$I/$f" --all --long --uuid
  cell "$f" virt-tar-out "$C/virt-tar-out" -a "$I/$f" / -
  rm -rf "$T/co"; mkdir "$T/co"
  cell "$f" virt-copy-out "$C/virt-copy-out" -a "$I/$f" /etc "$T/co"
  # The filesystem images without inspection: the whole tree.
  cell "$f" "virt-tar-out" "$C/virt-tar-out" -a "$I/$f" -m /dev/sda / -
  rm -rf "$T/co"; mkdir "$T/co"
  cell "$f" virt-copy-out "$C/virt-copy-out" -a "$I/$f" -m /dev/sda / "$T/co"
  cp --sparse=always "$I/$f" "$W/$f"
  cell "$f" virt-tar-in "$C/virt-tar-in" -a "$W/$f" "$T/in.tar" /
  cell "$f" virt-copy-in "$C/virt-copy-in" -a "$W/$f" "$T/in/seed.txt" /etc
  rm -f "$W/$f"
done
ok "every new command x image: bounded, one error line or a clean result (worst ${worst}s)"

[ "$(cd "$I" && sha256sum *)" = "$sums" ] || fail "a read-only command changed an image"
ok "the read-only commands changed no image"
[ "$(outside)" = "$before" ] || fail "written outside the output directory: $(diff <(echo "$before") <(outside))"
ok "nothing written outside the output directories"
check_fifo_traps

# The guest whose /etc is a symlink to /etc: virt-copy-out copies the
# link, and the host's /etc is left alone.
hostetc=$(ls -la --time-style=full-iso /etc; sha256sum /etc/passwd)
rm -rf "$T/co"; mkdir "$T/co"
rc=0
"$C/virt-copy-out" -a "$I/etc-symlink-loop.img" -m /dev/sda / "$T/co" \
  2>"$T/err" || rc=$?
[ "$rc" = 0 ] && [ ! -s "$T/err" ] ||
  { cat "$T/err" >&2; fail "etc-symlink-loop: virt-copy-out exit $rc"; }
[ -L "$T/co/etc" ] && [ "$(readlink "$T/co/etc")" = /etc ] ||
  fail "etc-symlink-loop: /etc is not copied as the link it is"
[ "$(ls -la --time-style=full-iso /etc; sha256sum /etc/passwd)" = "$hostetc" ] ||
  fail "etc-symlink-loop: the host's /etc changed"
ok "a guest's /etc -> /etc is copied as a link; the host's /etc is unchanged"
check_no_qemu
