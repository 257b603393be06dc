#!/bin/bash -
# guestbox - virt-df's command line and man page (no appliance).
# Copyright (C) 2026 the guestbox authors
# SPDX-License-Identifier: GPL-2.0-or-later

set -e
top_srcdir=${top_srcdir:-..}
top_builddir=${top_builddir:-..}
. "$top_srcdir/man/command-checks.sh"

prog=./virt-df
pod=$top_srcdir/man/virt-df.pod
prog_name=virt-df

# virt-df takes no -m (-i is --inodes, and images may be given without
# -a), so only the checks of check_command that apply are run here.
out=$($prog --help) && echo "$out" | grep -q "^Usage:" &&
  echo "$out" | grep -q "virt-df(1)" && echo "ok: --help" || fail "--help"
version=$(sed -n 's/^#define PACKAGE_VERSION "\(.*\)"/\1/p' "$top_builddir/config.h")
[ "$($prog -V)" = "virt-df $version" ] && echo "ok: -V" || fail "-V"

expect_error "unknown option" "unrecognized option" $prog --no-such-option
expect_error "unknown short option" "invalid option" $prog -Z
# No disk: every guest of the libvirt connection (one error line, no
# usage hint: the command line is fine).
r=0; err=$($prog -c test:///no/such/node.xml 2>&1 >/dev/null) || r=$?
[ "$r" = 1 ] && [ "$(echo "$err" | wc -l)" = 1 ] &&
  echo "$err" | grep -q "^virt-df: error: could not connect to libvirt" &&
  echo "ok: no disk: every libvirt guest: $err" || fail "no disk: $r: $err"
expect_error "-h with --csv" "-h and --csv" $prog -h --csv -a disk.img
expect_error "bad -P" "-P: 'x'" $prog -P x -a disk.img
expect_error "-P too large" "-P: '65'" $prog -P 65 -a disk.img
expect_error "--shard without a batch" "--shard only applies" $prog --shard 1/2 -a disk.img
expect_error "bad --shard" "--shard: '3/2'" $prog --shard 3/2 --each disk.img
expect_error "--shard 0/2" "--shard: '0/2'" $prog --shard 0/2 --each disk.img
expect_error "--json with --csv" "--json prints every figure" $prog --json --csv -a disk.img
expect_error "--each without images" "--each: no image" $prog --each
expect_error "-P without --each" "--one-per-guest and -P only apply with --each" $prog -P 2 -a disk.img
expect_error "--one-per-guest without --each" "only apply with --each" $prog --one-per-guest -a disk.img
# The metrics file is renamed into place: a device or FIFO is refused
# before anything runs (a FIFO made here stands for /dev/null).
fifo=$(mktemp -u); mkfifo "$fifo"
r=0; err=$($prog --prometheus "$fifo" -a disk.img 2>&1 >/dev/null) || r=$?
[ "$r" = 1 ] && [ "$(echo "$err" | wc -l)" = 1 ] &&
  echo "$err" | grep -q "^virt-df: error: --prometheus: .*: not a regular file" &&
  echo "ok: --prometheus on a FIFO: $err" || fail "--prometheus on a FIFO: $r: $err"
[ -p "$fifo" ] && echo "ok: the FIFO is still there" || fail "--prometheus replaced the FIFO"
rm -f "$fifo"
expect_error "--format after the last -a" "--format must appear before" \
  $prog -a disk.img --format=raw

documented=$(documented_options "$pod")
for opt in $($prog --long-options) $($prog --short-options); do
  echo "$documented" | grep -qx -- "$opt" &&
    echo "ok: $opt is documented" || fail "$opt is not documented in virt-df.pod"
done
for opt in $documented; do
  { $prog --long-options; $prog --short-options; } | grep -qx -- "$opt" &&
    echo "ok: $opt exists" || fail "virt-df.pod documents $opt, which does not exist"
done
exit $failed
