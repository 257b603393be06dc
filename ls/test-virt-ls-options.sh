#!/bin/bash -
# guestbox - virt-ls's command line and man page (no appliance).
# Copyright (C) 2026 the guestbox authors
# SPDX-License-Identifier: GPL-2.0-or-later

set -e
top_srcdir=${top_srcdir:-..}
top_builddir=${top_builddir:-..}
. "$top_srcdir/man/command-checks.sh"

check_command ./virt-ls "$top_srcdir/man/virt-ls.pod"

expect_error "no directory name" "no directory name given" \
    ./virt-ls -a disk.img
# The -lR-only flags, as the libguestfs virt-ls refuses them.
for flag in --csv -h --human-readable --uids --uid --times --time \
            --time-t --time-days --time-relative --extra-stats --extra-stat; do
    for mode in "" -l -R; do
        expect_error "$flag without -lR ($mode)" "can only be used with -lR" \
            ./virt-ls $mode $flag -a disk.img /
    done
done
expect_error "-h with --csv" "cannot use -h and --csv" \
    ./virt-ls -lR -h --csv -a disk.img /

exit $failed
