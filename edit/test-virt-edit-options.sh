#!/bin/bash -
# guestbox - virt-edit's command line and man page (no appliance).
# Copyright (C) 2026 the guestbox authors
# SPDX-License-Identifier: GPL-2.0-or-later

set -e
top_srcdir=${top_srcdir:-..}
top_builddir=${top_builddir:-..}
. "$top_srcdir/man/command-checks.sh"

check_command ./virt-edit "$top_srcdir/man/virt-edit.pod"

expect_error "no file name" "no file name given" ./virt-edit -a disk.img
expect_error "-e twice" "-e given more than once" \
  ./virt-edit -a disk.img -e 's/a/b/' -e 's/c/d/' /etc/motd
expect_error "-b twice" "-b given more than once" \
  ./virt-edit -b .a -b .b -a disk.img /etc/hosts
expect_error "-b with a slash" "backup extension" \
  ./virt-edit -a disk.img -b /x /etc/motd

exit $failed
