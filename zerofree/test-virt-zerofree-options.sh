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
check_help_version "$prog"

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

check_options_documented "$prog" "$pod"

exit $failed
