#!/bin/bash -
# guestbox - virt-sparsify's command line and man page (no appliance).
# Copyright (C) 2026 the guestbox authors
# SPDX-License-Identifier: GPL-2.0-or-later

set -e
top_srcdir=${top_srcdir:-..}
top_builddir=${top_builddir:-..}
. "$top_srcdir/man/command-checks.sh"

prog=./virt-sparsify
pod=$top_srcdir/man/virt-sparsify.pod
prog_name=virt-sparsify

# The checks of command-checks.sh that apply to a command without -i
# and -m (virt-sparsify takes disks as arguments, not -a).
r=0; out=$($prog --help 2>&1) || r=$?
if [ $r -eq 0 ] && echo "$out" | grep -q "^Usage:" &&
   echo "$out" | grep -q "virt-sparsify(1)"; then
    echo "ok: --help"
else
    fail "--help: exit $r, output: $out"
fi
version=$(sed -n 's/^#define PACKAGE_VERSION "\(.*\)"/\1/p' "$top_builddir/config.h")
for v in --version -V; do
    out=$($prog $v 2>&1)
    [ "$out" = "virt-sparsify $version" ] && echo "ok: $v" ||
        fail "$v: '$out'"
done

expect_error "unknown option" "unrecognized option" $prog --no-such-option
expect_error "unknown short option" "invalid option" $prog -Z
expect_error "-a is not an option here" "invalid option" $prog -a d.img out.img
expect_error "no disks" "expected an input and an output" $prog
expect_error "one disk" "expected an input and an output" $prog in.img
expect_error "three disks" "expected an input and an output" $prog a b c
expect_error "--in-place with two disks" "takes one disk image" $prog --in-place a b
expect_error "--in-place with --convert" "cannot be used with" $prog --in-place --convert qcow2 a
expect_error "--check-tmpdir value" "unknown value 'sometimes'" $prog --check-tmpdir sometimes a b
expect_error "--convert value" "invalid format" $prog --convert 'qcow2,x' a b

long=$($prog --long-options)
short=$($prog --short-options)
documented=$(documented_options "$pod")
for opt in $long $short; do
    if echo "$documented" | grep -qx -- "$opt"; then
        echo "ok: $opt is documented"
    else
        fail "$opt is not documented in virt-sparsify.pod"
    fi
done
for opt in $documented; do
    if printf '%s\n' $long $short | grep -qx -- "$opt"; then
        echo "ok: documented $opt exists"
    else
        fail "virt-sparsify.pod documents $opt, which does not exist"
    fi
done
for opt in $($prog --help | sed 's/\[--options\]//' |
             grep -o -- '--\?-[a-zA-Z][a-zA-Z-]*' |
             sed 's/^-\([^-]\).*/-\1/' | sort -u); do
    printf '%s\n' $long $short | grep -qx -- "$opt" ||
        fail "--help mentions $opt, which does not exist"
done

exit $failed
