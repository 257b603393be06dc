#!/bin/bash -
# guestbox - virt-cat's command line and man page (no appliance).
# Copyright (C) 2026 the guestbox authors
# SPDX-License-Identifier: GPL-2.0-or-later

set -e
top_srcdir=${top_srcdir:-..}
top_builddir=${top_builddir:-..}
. "$top_srcdir/man/command-checks.sh"

check_command ./virt-cat "$top_srcdir/man/virt-cat.pod"

expect_error "no file name" "no file name given" ./virt-cat -a disk.img

exit $failed
