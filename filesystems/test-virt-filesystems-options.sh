#!/bin/bash -
# guestbox - virt-filesystems' command line and man page (no appliance).
# Copyright (C) 2026 the guestbox authors
# SPDX-License-Identifier: GPL-2.0-or-later

set -e
top_srcdir=${top_srcdir:-..}
top_builddir=${top_builddir:-..}
. "$top_srcdir/man/command-checks.sh"

prog=./virt-filesystems
pod=$top_srcdir/man/virt-filesystems.pod
prog_name=virt-filesystems

# virt-filesystems takes no -i or -m (and -h is --human-readable), so
# only the checks of check_command that apply are run here.
out=$($prog --help) && echo "$out" | grep -q "^Usage:" &&
  echo "$out" | grep -q "virt-filesystems(1)" && echo "ok: --help" || fail "--help"
version=$(sed -n 's/^#define PACKAGE_VERSION "\(.*\)"/\1/p' "$top_builddir/config.h")
[ "$($prog -V)" = "virt-filesystems $version" ] && echo "ok: -V" || fail "-V"
[ "$($prog --version)" = "virt-filesystems $version" ] && echo "ok: --version" ||
  fail "--version"

expect_error "unknown option" "unrecognized option" $prog --no-such-option
expect_error "unknown short option" "invalid option" $prog -Z
expect_error "-m is not an option" "invalid option" $prog -a disk.img -m /dev/sda1
expect_error "no disk" "at least one -a" $prog --all
expect_error "an extra argument" "extra argument 'foo'" $prog -a disk.img foo
expect_error "-h with --csv" "-h and --csv" $prog -a disk.img -l -h --csv
expect_error "--format after the last -a" "--format must appear before" \
  $prog -a disk.img --format=raw

documented=$(documented_options "$pod")
for opt in $($prog --long-options) $($prog --short-options); do
  echo "$documented" | grep -qx -- "$opt" &&
    echo "ok: $opt is documented" || fail "$opt is not documented in virt-filesystems.pod"
done
for opt in $documented; do
  { $prog --long-options; $prog --short-options; } | grep -qx -- "$opt" &&
    echo "ok: $opt exists" || fail "virt-filesystems.pod documents $opt, which does not exist"
done
for opt in $($prog --help | sed 's/\[--options\]//' |
             grep -o -- '--\?-[a-zA-Z][a-zA-Z0-9-]*' |
             sed 's/^-\([^-]\).*/-\1/' | sort -u); do
  { $prog --long-options; $prog --short-options; } | grep -qx -- "$opt" &&
    echo "ok: --help mentions $opt" || fail "--help mentions $opt, which does not exist"
done
exit $failed
