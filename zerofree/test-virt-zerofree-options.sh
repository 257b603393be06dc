#!/bin/bash -
# guestbox - virt-zerofree's command line and man page (no appliance).
# Copyright (C) 2026 the guestbox authors
# SPDX-License-Identifier: GPL-2.0-or-later

set -e
top_srcdir=${top_srcdir:-..}
top_builddir=${top_builddir:-..}
. "$top_srcdir/man/command-checks.sh"

prog=./virt-zerofree
pod=$top_srcdir/man/virt-zerofree.pod
prog_name=virt-zerofree

# The checks of command-checks.sh that apply to a command without -i
# and -m (virt-zerofree works on filesystems, not on mounted trees).
r=0; out=$($prog --help 2>&1) || r=$?
if [ $r -eq 0 ] && echo "$out" | grep -q "^Usage:" &&
   echo "$out" | grep -q "virt-zerofree(1)"; then
    echo "ok: --help"
else
    fail "--help: exit $r, output: $out"
fi
version=$(sed -n 's/^#define PACKAGE_VERSION "\(.*\)"/\1/p' "$top_builddir/config.h")
for v in --version -V; do
    out=$($prog $v 2>&1)
    [ "$out" = "virt-zerofree $version" ] && echo "ok: $v" ||
        fail "$v: '$out'"
done

expect_error "unknown option" "unrecognized option" $prog --no-such-option
expect_error "unknown short option" "invalid option" $prog -Z
expect_error "-m is not an option here" "invalid option" $prog -a d.img -m /dev/sda1
expect_error "missing argument of -a" "requires an argument" $prog -a
expect_error "no -a" "at least one -a" $prog
expect_error "--format after the last -a" "--format must appear before" \
    $prog -a disk.img --format=raw
expect_error "extra argument" "extra argument 'foo'" $prog -a disk.img foo
expect_error "--filesystem not a device" "expected a device name" \
    $prog -a disk.img --filesystem sda1

long=$($prog --long-options)
short=$($prog --short-options)
documented=$(documented_options "$pod")
for opt in $long $short; do
    if echo "$documented" | grep -qx -- "$opt"; then
        echo "ok: $opt is documented"
    else
        fail "$opt is not documented in virt-zerofree.pod"
    fi
done
for opt in $documented; do
    if printf '%s\n' $long $short | grep -qx -- "$opt"; then
        echo "ok: documented $opt exists"
    else
        fail "virt-zerofree.pod documents $opt, which does not exist"
    fi
done
for opt in $($prog --help | sed 's/\[--options\]//' |
             grep -o -- '--\?-[a-zA-Z][a-zA-Z-]*' |
             sed 's/^-\([^-]\).*/-\1/' | sort -u); do
    printf '%s\n' $long $short | grep -qx -- "$opt" ||
        fail "--help mentions $opt, which does not exist"
done

exit $failed
