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
expect_error "no disk" "at least one -a" $prog
expect_error "-h with --csv" "-h and --csv" $prog -h --csv -a disk.img
expect_error "bad -P" "-P: 'x'" $prog -P x -a disk.img
expect_error "-P too large" "-P: '65'" $prog -P 65 -a disk.img
expect_error "--uuid" "--uuid names libvirt guests" $prog --uuid -a disk.img
expect_error "-P without --each" "--one-per-guest and -P only apply with --each" $prog -P 2 -a disk.img
expect_error "--one-per-guest without --each" "only apply with --each" $prog --one-per-guest -a disk.img
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
